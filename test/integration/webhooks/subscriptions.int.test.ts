/**
 * Managing subscriptions over GraphQL: who may, which endpoints are accepted, the secret shown once and
 * stored encrypted, rotation (with an overlap both secrets sign), deletion, limits.
 */
import {
  CreateApiKeyDocument,
  CreateUserDocument,
  CreateWebhookSubscriptionDocument,
  DeleteWebhookSubscriptionDocument,
  RotateWebhookSecretDocument,
  UpdateUserDocument,
  UpdateWebhookSubscriptionDocument,
  WebhookSubscriptionsDocument,
} from '../../__generated__/graphql.js';
import type { TestApp, TestTenant } from '../../setup/test-app.js';
import type { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import {
  signatureValid,
  startReceiver,
  startWebhookApp,
  startWorker,
  subscribe,
  tenantRows,
  uuidOf,
  waitFor,
  type Receiver,
} from './support.js';

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

const create = (t: TestTenant, url: string, key?: string) =>
  t.gql(CreateWebhookSubscriptionDocument, { input: { url, eventTypes: ['USER_CREATED'] } }, key);

describe('who may manage subscriptions', () => {
  it('needs integrations:manage', async () => {
    const t = await app.createTenant();
    const key = (
      await t.gql(CreateApiKeyDocument, { input: { name: 'directory only', permissions: ['directory:read', 'directory:write'] } })
    ).data!.createApiKey.secret!;
    const res = await create(t, receiver.url('/nope'), key);
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(WebhookSubscriptionsDocument, {}, key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(WebhookSubscriptionsDocument, {})).data!.webhookSubscriptions).toEqual([]);
  });
});

describe('endpoints', () => {
  it.each([
    ['http://example.com/hook', 'URL_NOT_ALLOWED', 'url: must use https (http is accepted for localhost only)'],
    ['ftp://example.com/hook', 'URL_NOT_ALLOWED', 'url: must use https'],
    ['not a url', 'URL_INVALID', 'url: not an absolute URL'],
    [
      'https://user:pw@example.com/hook',
      'URL_NOT_ALLOWED',
      'url: must not contain credentials; authenticate the request with its signature',
    ],
    ['https://example.com/hook#frag', 'URL_NOT_ALLOWED', 'url: must not contain a fragment'],
    ['https://10.1.2.3/hook', 'URL_NOT_ALLOWED', 'url: points to a private, loopback or reserved address'],
    ['https://169.254.169.254/latest/meta-data', 'URL_NOT_ALLOWED', 'url: points to a private, loopback or reserved address'],
    ['https://[::ffff:192.168.0.1]/hook', 'URL_NOT_ALLOWED', 'url: points to a private, loopback or reserved address'],
    ['https://[fd00::1]/hook', 'URL_NOT_ALLOWED', 'url: points to a private, loopback or reserved address'],
  ])('refuses %s', async (url, reason, message) => {
    const t = await app.createTenant();
    const res = await create(t, url);
    expect(res.data!.createWebhookSubscription).toEqual({
      subscription: null,
      secret: null,
      userErrors: [{ code: 'INVALID_INPUT', field: 'url', reason, message }],
    });
    expect((await t.gql(WebhookSubscriptionsDocument, {})).data!.webhookSubscriptions).toEqual([]);
  });

  it('refuses an empty list of event types', async () => {
    const t = await app.createTenant();
    const res = await t.gql(CreateWebhookSubscriptionDocument, { input: { url: 'https://example.com/hook', eventTypes: [] } });
    expect(res.data!.createWebhookSubscription.userErrors).toEqual([
      expect.objectContaining({ code: 'INVALID_INPUT', field: 'eventTypes' }),
    ]);
  });

  it('accepts public https endpoints, and http://localhost only where the service allows it', async () => {
    const t = await app.createTenant();
    const ok = await create(t, 'https://hooks.example.com/roster?x=1');
    expect(ok.data!.createWebhookSubscription.subscription!.url).toBe('https://hooks.example.com/roster?x=1');
    expect((await create(t, 'http://localhost:9/hook')).data!.createWebhookSubscription.userErrors).toEqual([]);

    const strict = await startWebhookApp({ ROSTER_WEBHOOK_ALLOW_HTTP_LOCALHOST: 'false' });
    try {
      const s = await strict.createTenant();
      for (const url of ['http://127.0.0.1:9/hook', 'https://127.0.0.1:9/hook', 'https://localhost/hook']) {
        expect((await create(s, url)).data!.createWebhookSubscription.userErrors.map((e) => e.reason)).toEqual(['URL_NOT_ALLOWED']);
      }
    } finally {
      await strict.close();
    }
  });

  it('without ROSTER_SECRET_KEY (and an external database) webhooks cannot be created, and say why', async () => {
    const keyless = await startWebhookApp({ ROSTER_SECRET_KEY: '' });
    try {
      const t = await keyless.createTenant();
      const res = await create(t, 'https://example.com/hook');
      expect(res.data!.createWebhookSubscription.userErrors).toEqual([
        expect.objectContaining({ code: 'PRECONDITION_FAILED', reason: 'SECRET_KEY_NOT_CONFIGURED' }),
      ]);
    } finally {
      await keyless.close();
    }
  });

  it('holds at most 25 subscriptions per tenant', async () => {
    const t = await app.createTenant();
    for (let i = 0; i < 25; i++)
      expect((await create(t, `https://example.com/hook/${i}`)).data!.createWebhookSubscription.userErrors).toEqual([]);
    const res = await create(t, 'https://example.com/hook/26');
    expect(res.data!.createWebhookSubscription.userErrors).toEqual([
      expect.objectContaining({ code: 'LIMIT_EXCEEDED', reason: 'TOO_MANY_SUBSCRIPTIONS' }),
    ]);
  });
});

describe('the signing secret', () => {
  it('is shown once, stored encrypted, and never readable again', async () => {
    const t = await app.createTenant();
    const { subscription, secret } = await subscribe(t, receiver.url('/secret'));
    const listed = (await t.gql(WebhookSubscriptionsDocument, {})).data!.webhookSubscriptions;
    expect(listed).toEqual([
      expect.objectContaining({ id: subscription.id, secretPrefix: secret.slice(0, 10), status: 'ACTIVE', backlog: 0 }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(10));
    const [row] = await tenantRows<{ secret_ciphertext: string }>(
      app,
      t,
      'select secret_ciphertext from webhook_subscriptions where id = ?',
      [uuidOf(subscription.id)],
    );
    expect(row.secret_ciphertext).toMatch(/^v1\./);
    expect(row.secret_ciphertext).not.toContain(secret.slice(6));
    // the audit trail records the subscription, never the secret
    const audit = await tenantRows<{ action: string; changes: unknown }>(
      app,
      t,
      `select action, changes from audit_events where target_type = 'webhook_subscription'`,
    );
    expect(audit.map((a) => a.action)).toEqual(['webhook_subscription.created']);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(6));
  });

  it('rotates: with an overlap both secrets sign until it ends; without, only the new one', async () => {
    const t = await app.createTenant();
    const { subscription, secret: first } = await subscribe(t, receiver.url('/rotate'), ['USER_CREATED', 'USER_UPDATED']);
    const user = (await t.gql(CreateUserDocument, { input: { userName: 'rot@rotate.test' } })).data!.createUser.user!;
    await waitFor('first', () => receiver.accepted('/rotate').length === 1);

    const overlap = (await t.gql(RotateWebhookSecretDocument, { id: subscription.id, overlapSeconds: 3600 })).data!.rotateWebhookSecret;
    expect(overlap.userErrors).toEqual([]);
    const second = overlap.secret!;
    expect(second).not.toBe(first);
    expect(overlap.subscription!.secretPrefix).toBe(second.slice(0, 10));
    expect(overlap.subscription!.secretRotatedAt).not.toBeNull();
    expect(Date.parse(overlap.subscription!.previousSecretExpiresAt!)).toBeGreaterThan(Date.now() + 3500_000);
    await t.gql(UpdateUserDocument, { id: user.id, input: { title: 'during overlap' } });
    await waitFor('second', () => receiver.accepted('/rotate').length === 2);
    const during = receiver.accepted('/rotate')[1];
    expect(String(during.headers['roster-signature']).match(/v1=/g)).toHaveLength(2);
    expect(signatureValid(during, first)).toBe(true);
    expect(signatureValid(during, second)).toBe(true);

    const now = (await t.gql(RotateWebhookSecretDocument, { id: subscription.id })).data!.rotateWebhookSecret;
    const third = now.secret!;
    expect(now.subscription!.previousSecretExpiresAt).toBeNull();
    await t.gql(UpdateUserDocument, { id: user.id, input: { title: 'after' } });
    await waitFor('third', () => receiver.accepted('/rotate').length === 3);
    const after = receiver.accepted('/rotate')[2];
    expect(String(after.headers['roster-signature']).match(/v1=/g)).toHaveLength(1);
    expect(signatureValid(after, third)).toBe(true);
    expect(signatureValid(after, second)).toBe(false);
    expect(signatureValid(after, first)).toBe(false);
  });

  it('a rotation overlap is at most 7 days', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/rotate-limit'));
    const res = await t.gql(RotateWebhookSecretDocument, { id: subscription.id, overlapSeconds: 7 * 24 * 3600 + 1 });
    expect(res.data!.rotateWebhookSecret.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);
  });
});

describe('update and delete', () => {
  it('updates the URL (checked again) and the description; deleting stops deliveries and drops the log', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/old'));
    const bad = await t.gql(UpdateWebhookSubscriptionDocument, { id: subscription.id, input: { url: 'http://example.com/x' } });
    expect(bad.data!.updateWebhookSubscription.userErrors.map((e) => e.reason)).toEqual(['URL_NOT_ALLOWED']);
    const moved = await t.gql(UpdateWebhookSubscriptionDocument, {
      id: subscription.id,
      input: { url: receiver.url('/new'), description: 'CRM sync' },
    });
    expect(moved.data!.updateWebhookSubscription.subscription).toEqual(
      expect.objectContaining({ url: receiver.url('/new'), description: 'CRM sync' }),
    );
    await t.gql(CreateUserDocument, { input: { userName: 'moved@upd.test' } });
    await waitFor('the delivery to the new URL', () => receiver.accepted('/new').length === 1);
    expect(receiver.all.filter((d) => d.path === '/old')).toEqual([]);

    const del = await t.gql(DeleteWebhookSubscriptionDocument, { id: subscription.id });
    expect(del.data!.deleteWebhookSubscription).toEqual({ deletedId: subscription.id, userErrors: [] });
    expect(await tenantRows(app, t, 'select id from webhook_deliveries')).toEqual([]);
    await t.gql(CreateUserDocument, { input: { userName: 'gone@upd.test' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.accepted('/new')).toHaveLength(1);
    const actions = await tenantRows<{ action: string }>(
      app,
      t,
      `select action from audit_events where target_type = 'webhook_subscription' order by occurred_at`,
    );
    expect(actions.map((a) => a.action)).toEqual([
      'webhook_subscription.created',
      'webhook_subscription.updated',
      'webhook_subscription.deleted',
    ]);
  });
});
