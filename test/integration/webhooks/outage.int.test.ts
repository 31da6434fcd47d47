/**
 * At-least-once delivery through failures: an endpoint that answers 500, then refuses connections, then
 * comes back gets every event, in order per resource, each request signed; a worker that dies with a
 * delivery leased does not lose it; slow endpoints time out; redirects to another origin are not followed.
 */
import {
  CreateUserDocument,
  UpdateUserDocument,
  WebhookDeliveriesDocument,
  WebhookSubscriptionByIdDocument,
} from '../../__generated__/graphql.js';
import http from 'node:http';
import type { TestApp, TestTenant } from '../../setup/test-app.js';
import { inTransaction } from '../../../src/infra/orm/session.js';
import { claimDeliveries, fanOutEvents } from '../../../src/modules/webhooks/webhook.delivery.js';
import type { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import {
  firstAcceptances,
  tenantRows,
  signatureValid,
  startReceiver,
  startWebhookApp,
  startWorker,
  subscribe,
  typesByResource,
  waitFor,
  type Receiver,
} from './support.js';

(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(60_000);

let app: TestApp;
let receiver: Receiver;
let worker: WebhookDeliveryWorker;

beforeAll(async () => {
  // never disabled here (see disablement.int.test.ts); a short timeout for the slow-endpoint case
  app = await startWebhookApp({ ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES: '10000', ROSTER_WEBHOOK_TIMEOUT_MS: '400' });
  receiver = await startReceiver();
  worker = startWorker(app);
});
afterAll(async () => {
  await worker?.stop();
  await receiver?.close();
  await app?.close();
});

async function createUser(t: TestTenant, userName: string) {
  const res = await t.gql(CreateUserDocument, { input: { userName } });
  expect(res.data!.createUser.userErrors).toEqual([]);
  return res.data!.createUser.user!;
}
async function retitle(t: TestTenant, id: string, title: string) {
  const res = await t.gql(UpdateUserDocument, { id, input: { title } });
  expect(res.data!.updateUser.userErrors).toEqual([]);
}

describe("the tests' receiver", () => {
  it('stops while a client keeps sending on a keep-alive connection (as the worker retrying every few ms does)', async () => {
    const r = await startReceiver();
    r.respond('/busy', 500, { delayMs: 20 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let sending = true;
    const send = () =>
      new Promise<void>((done) => {
        const q = http.request(r.url('/busy'), { method: 'POST', agent }, (res) => res.resume().on('end', done));
        q.on('error', () => done());
        q.end('{}');
      });
    const client = (async () => {
      while (sending) await send();
    })();
    try {
      await waitFor('a request in flight', () => r.all.length >= 3);
      // server.close() alone waits for that connection to go idle, which it never does while requests keep coming
      const stopped = await Promise.race([r.stop().then(() => true), new Promise<false>((done) => setTimeout(() => done(false), 3_000))]);
      expect(stopped).toBe(true);
    } finally {
      sending = false;
      agent.destroy();
      await client;
      await r.close();
    }
  });
});

describe('an endpoint that is down for a while', () => {
  it('gets every event once it is back, in order, with valid signatures', async () => {
    const t = await app.createTenant();
    const { subscription, secret } = await subscribe(t, receiver.url('/flaky'));
    receiver.respond('/flaky', 500);

    // Phase 1: the endpoint answers 500
    const users: Array<Awaited<ReturnType<typeof createUser>>> = [];
    for (let i = 0; i < 3; i++) {
      const u = await createUser(t, `u${i}@flaky.test`);
      users.push(u);
      for (const step of [1, 2, 3]) await retitle(t, u.id, `step ${step}`);
    }
    await waitFor('failed attempts', () => receiver.all.filter((d) => d.path === '/flaky' && d.status === 500).length >= 12);
    // Only the oldest event of each user is being tried: the later ones wait for it.
    expect(new Set(receiver.all.filter((d) => d.path === '/flaky').map((d) => d.body.type))).toEqual(new Set(['user.created']));

    // Phase 2: nobody listens at all; more changes meanwhile
    await receiver.stop();
    const late = await createUser(t, 'late@flaky.test');
    await retitle(t, users[0].id, 'step 4');
    await waitFor('refused attempts', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id, first: 100, statuses: ['PENDING'] });
      return log.data!.webhookDeliveries.nodes.some((n) => n.lastStatusCode === null && /ECONNREFUSED/.test(n.lastError ?? ''));
    });
    // every event is queued (backlog), none delivered, the subscription still active
    const failing = await waitFor('the backlog', async () => {
      const s = (await t.gql(WebhookSubscriptionByIdDocument, { id: subscription.id })).data!.webhookSubscription!;
      return s.backlog === 14 && s;
    });
    expect(failing.status).toBe('ACTIVE');
    expect(failing.consecutiveFailures).toBeGreaterThanOrEqual(12);
    expect(failing.failingSince).not.toBeNull();

    // Phase 3: back
    receiver.respond('/flaky', 204);
    await receiver.start();
    await waitFor('every event', () => firstAcceptances(receiver.accepted('/flaky')).length >= 14);
    await new Promise((r) => setTimeout(r, 100));

    const accepted = receiver.accepted('/flaky');
    expect(accepted).toHaveLength(14);
    expect(receiver.all.filter((d) => d.path === '/flaky').every((d) => signatureValid(d, secret))).toBe(true);
    const expected = new Map(users.map((u) => [u.scimId, ['user.created', 'user.updated', 'user.updated', 'user.updated']]));
    expected.get(users[0].scimId)!.push('user.updated');
    expected.set(late.scimId, ['user.created']);
    expect(typesByResource(accepted)).toEqual(expected);
    for (const u of users) {
      const titles = accepted
        .filter((d) => d.body.data.id === u.scimId && d.body.type === 'user.updated')
        .map((d) => d.body.data.changes.title.after);
      expect(titles).toEqual(u === users[0] ? ['step 1', 'step 2', 'step 3', 'step 4'] : ['step 1', 'step 2', 'step 3']);
    }

    // The delivery log tells the story of the first event
    const nodes = await waitFor('the recorded outcomes', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id, first: 100 });
      return log.data!.webhookDeliveries.nodes.every((n) => n.status === 'SUCCEEDED') && log.data!.webhookDeliveries.nodes;
    });
    expect(nodes).toHaveLength(14);
    expect(nodes.every((n) => n.status === 'SUCCEEDED' && n.lastStatusCode === 204 && n.lastError === null)).toBe(true);
    const first = nodes.find((n) => n.resourceId === users[0].scimId && n.eventType === 'USER_CREATED')!;
    expect(first.attemptCount).toBeGreaterThan(2);
    expect(first.attempts.map((a) => a.attemptNumber)).toEqual(Array.from({ length: first.attemptCount }, (_, i) => i + 1));
    const failed = first.attempts.slice(0, -1);
    expect(failed.some((a) => a.statusCode === 500 && a.error === 'HTTP 500: receiver says no')).toBe(true);
    expect(failed.every((a) => !a.succeeded && a.nextRetryAt !== null && a.durationMs >= 0)).toBe(true);
    for (const a of failed) {
      // backoff: at least half the base (40 ms) after the attempt ended; at most the cap (160 ms) after it
      // was recorded, which on a loaded machine can be a while after it ended (exact values: retry-policy.test.ts)
      const delay = Date.parse(a.nextRetryAt!) - Date.parse(a.startedAt) - a.durationMs;
      expect(delay).toBeGreaterThanOrEqual(19);
      expect(delay).toBeLessThanOrEqual(1000);
    }
    expect(first.attempts.at(-1)).toEqual(expect.objectContaining({ statusCode: 204, succeeded: true, error: null, nextRetryAt: null }));
    // each attempt announced its number
    const sent = receiver.all.filter((d) => d.body.id === first.eventId).map((d) => d.headers['roster-delivery-attempt']);
    expect(sent.slice(-1)).toEqual([String(first.attemptCount)]);

    const healthy = (await t.gql(WebhookSubscriptionByIdDocument, { id: subscription.id })).data!.webhookSubscription!;
    expect(healthy).toEqual(expect.objectContaining({ status: 'ACTIVE', consecutiveFailures: 0, failingSince: null, backlog: 0 }));
    expect(healthy.lastSuccessAt).not.toBeNull();
    expect(Date.parse(healthy.lastFailureAt!)).toBeLessThanOrEqual(Date.parse(healthy.lastSuccessAt!));
  });
});

describe('a worker that dies mid-delivery', () => {
  it('leaves a lease that expires; another worker delivers the event (at least once)', async () => {
    const t = await app.createTenant();
    const { subscription, secret } = await subscribe(t, receiver.url('/lease'));
    await worker.stop();
    try {
      await createUser(t, 'leased@lease.test');
      // a "process" fans out and leases the delivery for 200 ms, then never reports back
      await waitFor('the lease', async () => {
        await inTransaction(app.orm, (em) => fanOutEvents(em, 500, 10_000));
        const claims = await inTransaction(app.orm, (em) => claimDeliveries(em, 100, 'doomed-worker', 200));
        return claims.some((c) => c.eventType === 'user.created');
      });
    } finally {
      worker = startWorker(app);
    }
    await waitFor('the redelivery', () => receiver.accepted('/lease').length === 1);
    const [d] = receiver.accepted('/lease');
    expect(signatureValid(d, secret)).toBe(true);
    expect(d.headers['roster-delivery-attempt']).toBe('2');
    const node = await waitFor('the recorded success', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id });
      return log.data!.webhookDeliveries.nodes.find((n) => n.status === 'SUCCEEDED');
    });
    expect(node.attemptCount).toBe(2);
    // the lost attempt left no record; the one that worked did
    expect(node.attempts.map((a) => [a.attemptNumber, a.statusCode])).toEqual([[2, 204]]);
  });
});

describe('endpoint behaviour', () => {
  it('a slow endpoint times out and is retried', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/slow'));
    // the first request hangs past the 400 ms timeout, the next ones are answered at once
    receiver.respond('/slow', 204, { delayMs: 1000 });
    await createUser(t, 'slow@slow.test');
    await waitFor('a timed-out attempt', () => receiver.all.some((d) => d.path === '/slow'));
    receiver.respond('/slow', 204);
    await waitFor('the retry', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id });
      return log.data!.webhookDeliveries.nodes[0]?.status === 'SUCCEEDED' ? log.data!.webhookDeliveries.nodes[0] : null;
    });
    const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id });
    const attempts = log.data!.webhookDeliveries.nodes[0].attempts;
    expect(attempts[0]).toEqual(
      expect.objectContaining({ attemptNumber: 1, statusCode: null, error: 'timed out after 400 ms', succeeded: false }),
    );
    expect(attempts[0].durationMs).toBeGreaterThanOrEqual(390);
    expect(attempts.at(-1)).toEqual(expect.objectContaining({ statusCode: 204, succeeded: true }));
  });

  it('one slow endpoint does not take every slot: other endpoints are served meanwhile', async () => {
    const slow = await app.createTenant();
    const fast = await app.createTenant();
    await subscribe(slow, receiver.url('/hanging'));
    await subscribe(fast, receiver.url('/quick'));
    receiver.respond('/hanging', 204, { delayMs: 5000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => createUser(slow, `h${i}@hanging.test`)));
    await waitFor('the slow endpoint busy', () => receiver.all.filter((d) => d.path === '/hanging').length >= 4);
    const started = Date.now();
    await createUser(fast, 'q@quick.test');
    await waitFor('the fast endpoint', () => receiver.accepted('/quick').length === 1);
    // served while the slow one hangs, and never more than 4 requests at a time to one subscription
    expect(Date.now() - started).toBeLessThan(5000);
    expect(receiver.maxConcurrent('/hanging')).toBe(4);
    receiver.respond('/hanging', 204);
    await waitFor(
      'the slow endpoint drained',
      async () => (await tenantRows(app, slow, `select id from webhook_deliveries where status <> 'succeeded'`)).length === 0,
    );
    expect(receiver.maxConcurrent('/hanging')).toBe(4);
  });

  it('redirects are followed within the same origin only', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/moved'));
    receiver.respond('/moved', 308, { headers: { location: '/moved-here' } });
    receiver.respond('/moved-here', 204);
    await createUser(t, 'redirect@moved.test');
    await waitFor('the redirected delivery', () => receiver.accepted('/moved-here').length === 1);

    const other = await subscribe(t, receiver.url('/away'), ['USER_UPDATED']);
    receiver.respond('/away', 307, { headers: { location: `http://localhost:${receiver.port}/elsewhere` } });
    const u = (await t.gql(CreateUserDocument, { input: { userName: 'away@moved.test' } })).data!.createUser.user!;
    await retitle(t, u.id, 'x');
    const failed = await waitFor('the refused redirect', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: other.subscription.id });
      return log.data!.webhookDeliveries.nodes.find((n) => n.lastError);
    });
    expect(failed.lastStatusCode).toBe(307);
    expect(failed.lastError).toBe(`redirect to another origin not followed: http://localhost:${receiver.port}`);
    expect(receiver.all.filter((d) => d.path === '/elsewhere')).toEqual([]);
    expect(subscription.url).toBe(receiver.url('/moved'));
  });
});
