/**
 * Events out: changes made over GraphQL and over SCIM reach a subscribed endpoint, signed, with the
 * documented payload, in order per resource; several workers share the work; a failed change sends
 * nothing; a tenant's endpoint only ever hears about its own tenant.
 */
import {
  CreateRoleDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DeleteUserDocument,
  DeleteWebhookSubscriptionDocument,
  EnableWebhookSubscriptionDocument,
  ReactivateUserDocument,
  RotateWebhookSecretDocument,
  UpdateUserDocument,
  UpdateWebhookSubscriptionDocument,
  WebhookDeliveriesDocument,
  WebhookSubscriptionByIdDocument,
  WebhookSubscriptionsDocument,
} from '../../__generated__/graphql.js';
import { GROUP_SCHEMA, USER_SCHEMA, patchOp, scimClient } from '../../setup/scim-client.js';
import type { TestApp, TestTenant } from '../../setup/test-app.js';
import type { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import {
  firstAcceptances,
  signatureValid,
  startProcessLikeWorker,
  startReceiver,
  startWebhookApp,
  startWorker,
  subscribe,
  tenantRows,
  typesByResource,
  uuidOf,
  waitFor,
  type Receiver,
} from './support.js';

// Jest's ESM mode has no global `jest`; its per-file API hangs off import.meta.
(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(60_000);

let app: TestApp;
let receiver: Receiver;
let worker: WebhookDeliveryWorker;

beforeAll(async () => {
  app = await startWebhookApp();
  receiver = await startReceiver();
  worker = startWorker(app);
});
afterAll(async () => {
  await worker?.stop();
  await receiver?.close();
  await app?.close();
});

async function createUser(t: TestTenant, input: Record<string, unknown>) {
  const res = await t.gql(CreateUserDocument, { input: input as never });
  expect(res.data!.createUser.userErrors).toEqual([]);
  return res.data!.createUser.user!;
}

describe('events from both doors', () => {
  it('GraphQL and SCIM changes arrive signed, with the documented payload, in order per resource', async () => {
    const t = await app.createTenant();
    const { subscription, secret } = await subscribe(t, receiver.url('/both'));
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(subscription.secretPrefix).toBe(secret.slice(0, 10));
    const scim = scimClient(app.baseUrl, t.scimToken);

    // GraphQL: create (the department creates a team), update, deactivate, reactivate
    const ada = await createUser(t, { userName: 'ada@both.test', department: 'Engineering', title: 'Engineer' });
    expect((await t.gql(UpdateUserDocument, { id: ada.id, input: { title: 'Lead' } })).data!.updateUser.userErrors).toEqual([]);
    expect((await t.gql(DeactivateUserDocument, { id: ada.id })).data!.deactivateUser.userErrors).toEqual([]);
    expect((await t.gql(ReactivateUserDocument, { id: ada.id })).data!.reactivateUser.userErrors).toEqual([]);
    // SCIM: the same user, then another one through its whole life, and a group with a member
    expect([200, 204]).toContain(
      (await scim.patch(`/Users/${ada.scimId}`, patchOp({ op: 'replace', path: 'title', value: 'Principal' }))).status,
    );
    const bob = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: 'bob@both.test', active: true });
    expect(bob.status).toBe(201);
    expect([200, 204]).toContain(
      (await scim.patch(`/Users/${bob.body.id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status,
    );
    const group = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: [{ value: ada.scimId }] });
    expect(group.status).toBe(201);
    expect((await scim.delete(`/Users/${bob.body.id}`)).status).toBe(204);
    // GraphQL again: delete the first user
    expect((await t.gql(DeleteUserDocument, { id: ada.id })).data!.deleteUser.userErrors).toEqual([]);

    const expected = new Map([
      [ada.scimId, ['user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.updated', 'user.deleted']],
      [bob.body.id, ['user.created', 'user.deactivated', 'user.deleted']],
      [group.body.id, ['role.created', 'role.members_changed']],
      [ada.team!.id ? uuidOf(ada.team!.id) : 'team', ['team.created']],
    ]);
    const total = [...expected.values()].flat().length;
    await waitFor('every event', () => firstAcceptances(receiver.accepted('/both')).length >= total);
    const got = receiver.accepted('/both');
    expect(firstAcceptances(got)).toHaveLength(total);
    expect(typesByResource(got)).toEqual(expected);

    for (const d of got) {
      expect(signatureValid(d, secret)).toBe(true);
      expect(
        signatureValid(
          d,
          secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        ),
      ).toBe(false);
      expect(d.headers['roster-event-id']).toBe(d.body.id);
      expect(d.headers['roster-event-type']).toBe(d.body.type);
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.body.tenant).toBe(t.slug);
      expect(new Date(d.body.occurredAt).toISOString()).toBe(d.body.occurredAt);
    }
    const [created, updated] = firstAcceptances(got).filter((d) => d.body.data.id === ada.scimId);
    expect(created.body).toEqual({
      id: expect.any(String),
      type: 'user.created',
      occurredAt: expect.any(String),
      tenant: t.slug,
      data: {
        object: 'user',
        id: ada.scimId,
        nodeId: ada.id,
        changes: expect.objectContaining({
          userName: { before: null, after: 'ada@both.test' },
          title: { before: null, after: 'Engineer' },
        }),
      },
    });
    expect(updated.body.data.changes).toEqual({ title: { before: 'Engineer', after: 'Lead' } });
    const membership = got.find((d) => d.body.type === 'role.members_changed')!;
    expect(membership.body.data).toEqual({
      object: 'role',
      id: group.body.id,
      nodeId: expect.any(String),
      changes: { members: { before: { removed: 0, userIds: [] }, after: { added: 1, userIds: [ada.scimId] } } },
    });

    // The event id is the audit event's: the audit trail and the webhook log tell the same story.
    const audit = await tenantRows<{ id: string; action: string }>(
      app,
      t,
      `select id, action from audit_events where tenant_id = ? and target_id = ? order by occurred_at, id`,
      [uuidOf(t.id), ada.scimId],
    );
    expect(
      firstAcceptances(got)
        .filter((d) => d.body.data.id === ada.scimId)
        .map((d) => d.body.id),
    ).toEqual(audit.map((a) => a.id));

    // The delivery log
    // (the receiver has the last request a moment before the worker has recorded its answer)
    const deliveries = await waitFor('the recorded outcomes', async () => {
      const log = await t.gql(WebhookDeliveriesDocument, { subscriptionId: subscription.id, first: 100 });
      expect(log.errors).toBeUndefined();
      return log.data!.webhookDeliveries.nodes.every((n) => n.status === 'SUCCEEDED') && log.data!.webhookDeliveries;
    });
    expect(deliveries.totalCount).toBe(total);
    expect(
      deliveries.nodes.every((n) => n.status === 'SUCCEEDED' && n.attemptCount === 1 && n.lastStatusCode === 204 && n.deliveredAt),
    ).toBe(true);
    expect(deliveries.nodes[0].eventType).toBe('USER_DELETED');
    expect(deliveries.nodes[0].attempts).toEqual([
      {
        attemptNumber: 1,
        startedAt: expect.any(String),
        durationMs: expect.any(Number),
        statusCode: 204,
        error: null,
        succeeded: true,
        nextRetryAt: null,
      },
    ]);
    const header = got.find((d) => d.body.id === deliveries.nodes[0].eventId)!.headers;
    expect(header['roster-delivery-id']).toBe(deliveries.nodes[0].id);
    expect(header['roster-delivery-attempt']).toBe('1');
  });

  it('only the subscribed event types are sent; changing them applies to events fanned out afterwards', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/types'), ['USER_CREATED']);
    const u = await createUser(t, { userName: 'one@types.test' });
    await t.gql(UpdateUserDocument, { id: u.id, input: { title: 'ignored' } });
    // the subscription's types are read when the worker fans an event out (within a poll interval)
    await waitFor(
      'the fan-out',
      async () =>
        Number((await tenantRows<{ n: string }>(app, t, 'select count(*) as n from webhook_events where dispatched_at is null'))[0].n) ===
        0,
    );
    const res = await t.gql(UpdateWebhookSubscriptionDocument, {
      id: subscription.id,
      input: { eventTypes: ['USER_UPDATED', 'USER_CREATED'] },
    });
    expect(res.data!.updateWebhookSubscription.subscription!.eventTypes).toEqual(['USER_CREATED', 'USER_UPDATED']);
    await t.gql(UpdateUserDocument, { id: u.id, input: { title: 'sent' } });
    await waitFor('the second update', () => receiver.accepted('/types').find((d) => d.body.type === 'user.updated'));
    expect(receiver.accepted('/types').map((d) => [d.body.type, d.body.data.changes.title?.after ?? null])).toEqual([
      ['user.created', null],
      ['user.updated', 'sent'],
    ]);
  });

  it('a subscription created after an event does not receive it', async () => {
    const t = await app.createTenant();
    await createUser(t, { userName: 'early@late.test' });
    await subscribe(t, receiver.url('/late'));
    await createUser(t, { userName: 'later@late.test' });
    await waitFor('the later event', () => receiver.accepted('/late').length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.accepted('/late').map((d) => d.body.data.changes.userName.after)).toEqual(['later@late.test']);
  });
});

describe('several processes', () => {
  it('workers share the deliveries: each event once, and in order per resource', async () => {
    const t = await app.createTenant();
    const { secret } = await subscribe(t, receiver.url('/many'), ['USER_CREATED', 'USER_UPDATED']);
    const others = await Promise.all([startProcessLikeWorker(app), startProcessLikeWorker(app), startProcessLikeWorker(app)]);
    try {
      const t0 = Date.now();
      const users = await Promise.all(Array.from({ length: 12 }, (_, i) => createUser(t, { userName: `p${i}@many.test` })));
      // every user changes 6 times, the users concurrently, each user's changes one after the other
      await Promise.all(
        users.map(async (u) => {
          for (let step = 1; step <= 6; step++) {
            const r = await t.gql(UpdateUserDocument, { id: u.id, input: { title: `step ${step}` } });
            expect(r.data!.updateUser.userErrors).toEqual([]);
          }
        }),
      );
      const total = users.length * 7;
      const t1 = Date.now();
      await waitFor('every event', () => firstAcceptances(receiver.accepted('/many')).length >= total, 30_000);
      if (process.env.WEBHOOK_TEST_TIMING) console.log({ changesMs: t1 - t0, deliveryMs: Date.now() - t1 });
      const got = receiver.accepted('/many');
      expect(got).toHaveLength(total); // no duplicates while every worker is healthy
      expect(got.every((d) => signatureValid(d, secret))).toBe(true);
      for (const u of users) {
        const mine = got.filter((d) => d.body.data.id === u.scimId);
        expect(mine.map((d) => (d.body.type === 'user.created' ? 'created' : d.body.data.changes.title.after))).toEqual([
          'created',
          'step 1',
          'step 2',
          'step 3',
          'step 4',
          'step 5',
          'step 6',
        ]);
      }
      // more than one worker did deliver
      const deliverers = await tenantRows<{ n: string }>(
        app,
        t,
        `select count(distinct worker) as n from webhook_delivery_attempts where tenant_id = ?`,
        [uuidOf(t.id)],
      );
      expect(Number(deliverers[0].n)).toBeGreaterThan(1);
    } finally {
      await Promise.all(others.map((w) => w.stop()));
    }
  });
});

describe('rollback', () => {
  it('a change that fails sends nothing, even when its event row had been written', async () => {
    const t = await app.createTenant();
    await subscribe(t, receiver.url('/rollback'));
    const scim = scimClient(app.baseUrl, t.scimToken);
    await createUser(t, { userName: 'taken@rb.test' });
    await waitFor('the first event', () => receiver.accepted('/rollback').length === 1);

    const [{ last_value: before }] = await app.sql<{ last_value: string }>('select last_value from webhook_events_seq');
    // GraphQL: a user error rolls the mutation back
    const dup = await t.gql(CreateUserDocument, { input: { userName: 'TAKEN@rb.test' } });
    expect(dup.data!.createUser.userErrors[0].reason).toBe('USER_NAME_TAKEN');
    // SCIM: the group and its role.created event are written, then a member is unknown: the request rolls back
    const ghost = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Ghosts',
      members: [{ value: '01900000-0000-7000-8000-000000000000' }],
    });
    expect(ghost.status).toBeGreaterThanOrEqual(400);
    // GraphQL: the role's event is flushed before the assignment fails
    const role = await t.gql(CreateRoleDocument, { input: { displayName: 'Taken' } });
    expect(role.data!.createRole.userErrors).toEqual([]);
    const again = await t.gql(CreateRoleDocument, { input: { displayName: 'taken' } });
    expect(again.data!.createRole.userErrors[0].code).toBe('CONFLICT');
    const [{ last_value: after }] = await app.sql<{ last_value: string }>('select last_value from webhook_events_seq');
    // the role's event and the rolled-back group's took sequence values: the fan-out had a gap to get past
    expect(Number(after) - Number(before)).toBeGreaterThanOrEqual(2);

    await createUser(t, { userName: 'sentinel@rb.test' });
    await waitFor('the sentinel', () =>
      receiver.accepted('/rollback').find((d) => d.body.data.changes.userName?.after === 'sentinel@rb.test'),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(
      receiver
        .accepted('/rollback')
        .map((d) => [d.body.type, d.body.data.changes.userName?.after ?? d.body.data.changes.displayName?.after]),
    ).toEqual([
      ['user.created', 'taken@rb.test'],
      ['role.created', 'Taken'],
      ['user.created', 'sentinel@rb.test'],
    ]);
    const rows = await tenantRows<{ action: string }>(app, t, `select action from audit_events where tenant_id = ? order by occurred_at`, [
      uuidOf(t.id),
    ]);
    expect(rows.filter((r) => r.action === 'role.created')).toHaveLength(1);
  });
});

describe('tenant isolation', () => {
  it("an endpoint only hears about its own tenant, and a tenant cannot see or touch another tenant's subscriptions", async () => {
    const a = await app.createTenant();
    const b = await app.createTenant();
    const subA = await subscribe(a, receiver.url('/iso-a'));
    const subB = await subscribe(b, receiver.url('/iso-b'));
    await createUser(a, { userName: 'same@iso.test' });
    await createUser(b, { userName: 'same@iso.test' });
    await createUser(b, { userName: 'only-b@iso.test' });
    await waitFor('both tenants', () => receiver.accepted('/iso-a').length >= 1 && receiver.accepted('/iso-b').length >= 2);
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.accepted('/iso-a').map((d) => d.body.tenant)).toEqual([a.slug]);
    expect(receiver.accepted('/iso-b').map((d) => d.body.tenant)).toEqual([b.slug, b.slug]);
    expect(receiver.accepted('/iso-a').every((d) => signatureValid(d, subA.secret) && !signatureValid(d, subB.secret))).toBe(true);

    // B's admin key, A's subscription
    const seen = await b.gql(WebhookSubscriptionByIdDocument, { id: subA.subscription.id });
    expect(seen.data).toEqual({ webhookSubscription: null, node: null });
    expect((await b.gql(WebhookSubscriptionsDocument, {})).data!.webhookSubscriptions.map((s) => s.id)).toEqual([subB.subscription.id]);
    const log = await b.gql(WebhookDeliveriesDocument, { subscriptionId: subA.subscription.id });
    expect(log.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    for (const res of [
      (await b.gql(UpdateWebhookSubscriptionDocument, { id: subA.subscription.id, input: { url: receiver.url('/stolen') } })).data!
        .updateWebhookSubscription,
      (await b.gql(RotateWebhookSecretDocument, { id: subA.subscription.id })).data!.rotateWebhookSecret,
      (await b.gql(EnableWebhookSubscriptionDocument, { id: subA.subscription.id })).data!.enableWebhookSubscription,
      (await b.gql(DeleteWebhookSubscriptionDocument, { id: subA.subscription.id })).data!.deleteWebhookSubscription,
    ]) {
      expect(res.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    }
    const still = await a.gql(WebhookSubscriptionByIdDocument, { id: subA.subscription.id });
    expect(still.data!.webhookSubscription!.url).toBe(receiver.url('/iso-a'));

    // Row-level security: outside a tenant transaction, no webhook row of anyone is visible
    expect(await app.sql('select id from webhook_subscriptions')).toEqual([]);
    expect(await app.sql('select id from webhook_deliveries')).toEqual([]);
    expect(await app.sql('select id from webhook_events')).toEqual([]);
    expect(await app.sql('select id from webhook_delivery_attempts')).toEqual([]);
    // and inside tenant B, only B's
    const inB = await tenantRows<{ tenant_id: string }>(app, b, 'select tenant_id from webhook_subscriptions');
    expect(inB.map((r) => r.tenant_id)).toEqual([uuidOf(b.id)]);
  });
});
