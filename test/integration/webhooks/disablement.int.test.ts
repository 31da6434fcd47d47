/**
 * A failing endpoint is disabled after the threshold (here 5 consecutive failures, over at least 0
 * minutes); its events keep queueing; re-enabling delivers all of them, in order. Admins can pause and
 * resume a subscription too.
 */
import {
  AuditEventsDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DisableWebhookSubscriptionDocument,
  EnableWebhookSubscriptionDocument,
  UpdateUserDocument,
  WebhookDeliveriesDocument,
  WebhookSubscriptionByIdDocument,
} from '../../__generated__/graphql.js';
import type { TestApp } from '../../setup/test-app.js';
import type { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import {
  firstAcceptances,
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
  app = await startWebhookApp({ ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES: '5', ROSTER_WEBHOOK_DISABLE_AFTER_MINUTES: '0' });
  receiver = await startReceiver();
  worker = startWorker(app);
});
afterAll(async () => {
  await worker?.stop();
  await receiver?.close();
  await app?.close();
});

describe('disablement', () => {
  it('disables a failing endpoint after the threshold, queues what happens meanwhile, and delivers all of it once re-enabled', async () => {
    const t = await app.createTenant();
    const { subscription, secret } = await subscribe(t, receiver.url('/dead'));
    receiver.respond('/dead', 500);
    const user = (await t.gql(CreateUserDocument, { input: { userName: 'dead@end.test' } })).data!.createUser.user!;
    await t.gql(UpdateUserDocument, { id: user.id, input: { title: 'before' } });

    const disabled = await waitFor('the disablement', async () => {
      const s = (await t.gql(WebhookSubscriptionByIdDocument, { id: subscription.id })).data!.webhookSubscription!;
      return s.status === 'DISABLED' && s;
    });
    expect(disabled.consecutiveFailures).toBe(5);
    expect(disabled.disabledAt).not.toBeNull();
    expect(disabled.disabledReason).toMatch(/^5 consecutive failed attempts over 0 minute\(s\); last: HTTP 500: receiver says no$/);
    const attemptsWhenDisabled = receiver.all.filter((d) => d.path === '/dead').length;
    expect(attemptsWhenDisabled).toBe(5);

    // the log: five failed attempts of the first event, the last without a next retry; both deliveries held
    const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id });
    const [second, first] = log.data!.webhookDeliveries.nodes;
    expect([first.status, second.status]).toEqual(['HELD', 'HELD']);
    expect(second.attempts).toEqual([]);
    expect(first.attempts.map((a) => [a.attemptNumber, a.statusCode, a.succeeded])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 500, false]));
    expect(first.attempts.slice(0, 4).every((a) => a.nextRetryAt !== null)).toBe(true);
    expect(first.attempts[4].nextRetryAt).toBeNull();
    expect(first.nextAttemptAt).toBeNull();

    // the worker's decision is in the audit trail, as a system change
    const audit = await t.gql(AuditEventsDocument, { first: 5, filter: { action: 'webhook_subscription.disabled' } });
    expect(audit.data!.auditEvents.nodes).toEqual([
      expect.objectContaining({
        door: 'SYSTEM',
        action: 'webhook_subscription.disabled',
        targetId: subscription.id,
        actor: expect.objectContaining({ kind: 'system' }),
      }),
    ]);

    // while disabled: events queue, nothing is sent
    await t.gql(DeactivateUserDocument, { id: user.id });
    await waitFor('the queued event', async () => {
      const l = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id, statuses: ['HELD'] });
      return l.data!.webhookDeliveries.totalCount === 3;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.all.filter((d) => d.path === '/dead')).toHaveLength(attemptsWhenDisabled);

    // fixed and re-enabled: everything arrives, in order
    receiver.respond('/dead', 204);
    const enabled = await t.gql(EnableWebhookSubscriptionDocument, { id: subscription.id });
    expect(enabled.data!.enableWebhookSubscription.subscription).toEqual(
      expect.objectContaining({ status: 'ACTIVE', consecutiveFailures: 0, disabledAt: null, disabledReason: null, failingSince: null }),
    );
    await waitFor('the backlog', () => firstAcceptances(receiver.accepted('/dead')).length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    const accepted = receiver.accepted('/dead');
    expect(accepted).toHaveLength(3);
    expect(typesByResource(accepted)).toEqual(new Map([[user.scimId, ['user.created', 'user.updated', 'user.deactivated']]]));
    expect(receiver.all.filter((d) => d.path === '/dead').every((d) => signatureValid(d, secret))).toBe(true);
    const after = await waitFor('the recorded outcomes', async () => {
      const s = (await t.gql(WebhookSubscriptionByIdDocument, { id: subscription.id })).data!.webhookSubscription!;
      return s.backlog === 0 && s;
    });
    expect(after).toEqual(expect.objectContaining({ status: 'ACTIVE', backlog: 0, consecutiveFailures: 0 }));
  });

  it('a success resets the failure count: an endpoint failing now and then is never disabled', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/wobbly'));
    let n = 0;
    // every other request fails: never 5 in a row
    receiver.respond('/wobbly', () => (n++ % 2 === 0 ? 503 : 204));
    const user = (await t.gql(CreateUserDocument, { input: { userName: 'wobbly@end.test' } })).data!.createUser.user!;
    for (let i = 1; i <= 6; i++) await t.gql(UpdateUserDocument, { id: user.id, input: { title: `t${i}` } });
    await waitFor('every event', () => firstAcceptances(receiver.accepted('/wobbly')).length >= 7);
    const s = (await t.gql(WebhookSubscriptionByIdDocument, { id: subscription.id })).data!.webhookSubscription!;
    expect(s.status).toBe('ACTIVE');
    expect(typesByResource(receiver.accepted('/wobbly')).get(user.scimId)).toEqual(['user.created', ...Array(6).fill('user.updated')]);
  });

  it('an admin can pause a subscription and resume it without losing events', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/paused'));
    const paused = await t.gql(DisableWebhookSubscriptionDocument, { id: subscription.id });
    expect(paused.data!.disableWebhookSubscription.subscription).toEqual(
      expect.objectContaining({ status: 'DISABLED', disabledReason: 'disabled by admin' }),
    );
    await t.gql(CreateUserDocument, { input: { userName: 'paused@end.test' } });
    await waitFor('the held delivery', async () => {
      const l = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id, statuses: ['HELD'] });
      return l.data!.webhookDeliveries.totalCount === 1;
    });
    expect(receiver.all.filter((d) => d.path === '/paused')).toEqual([]);
    await t.gql(EnableWebhookSubscriptionDocument, { id: subscription.id });
    await waitFor('the delivery', () => receiver.accepted('/paused').length === 1);
    expect(receiver.accepted('/paused')[0].body.type).toBe('user.created');
  });
});
