/**
 * Rotating ROSTER_SECRET_KEY, the key that encrypts stored webhook signing secrets: with the old key in
 * ROSTER_SECRET_KEY_PREVIOUS deliveries keep signing, `roster secrets reseal` seals every secret again under
 * the new key (the secrets themselves stay, so receivers change nothing), and after it the old key can go.
 */
import { CreateUserDocument, RotateWebhookSecretDocument, UpdateUserDocument } from '../../__generated__/graphql.js';
import { createLogger } from '../../../src/infra/logger.js';
import { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import { runRoster } from '../../setup/roster-cli.js';
import type { TestApp, TestTenant } from '../../setup/test-app.js';
import {
  WEBHOOK_TEST_ENV,
  signatureValid,
  startReceiver,
  startWebhookApp,
  subscribe,
  tenantRows,
  uuidOf,
  waitFor,
  type Receiver,
} from './support.js';

(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(120_000);

const OLD_KEY = WEBHOOK_TEST_ENV.ROSTER_SECRET_KEY;
const NEW_KEY = 'rotated-test-key-9876543210fedcba9876543210';

let app: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  app = await startWebhookApp();
  receiver = await startReceiver();
});
afterAll(async () => {
  // Every secret of the shared test database back under the key the other suites use.
  await reseal({ ROSTER_SECRET_KEY: OLD_KEY, ROSTER_SECRET_KEY_PREVIOUS: NEW_KEY });
  await receiver?.close();
  await app?.close();
});

/** `npm run -s roster -- secrets reseal --json` on the test database, as an operator would run it. */
const reseal = (env: Record<string, string>) =>
  runRoster(['secrets', 'reseal', '--json'], { DATABASE_URL: process.env.ROSTER_TEST_DATABASE_URL!, ...env });

/** Runs a delivery worker whose process has these keys, until `fn` is done. */
async function withWorker(keys: { secretKey: string; secretKeyPrevious: string[] }, fn: () => Promise<unknown>) {
  const worker = new WebhookDeliveryWorker({
    orm: app.orm,
    config: { ...app.config, ...keys },
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  }).start();
  try {
    await fn();
  } finally {
    await worker.stop();
  }
}

const ciphertexts = (t: TestTenant, id: string) =>
  tenantRows<{ secret_ciphertext: string; previous_secret_ciphertext: string | null }>(
    app,
    t,
    'select secret_ciphertext, previous_secret_ciphertext from webhook_subscriptions where id = ?',
    [uuidOf(id)],
  ).then(([row]) => row);

describe('rotating ROSTER_SECRET_KEY', () => {
  it('keeps deliveries signed through the previous key, reseals every secret, and then needs only the new key', async () => {
    const t = await app.createTenant();
    const { subscription, secret: first } = await subscribe(t, receiver.url('/keys'), ['USER_CREATED', 'USER_UPDATED']);
    // a secret rotation in its overlap: two sealed secrets on the row, both signing
    const rotated = (await t.gql(RotateWebhookSecretDocument, { id: subscription.id, overlapSeconds: 3600 })).data!.rotateWebhookSecret;
    const second = rotated.secret!;
    const before = await ciphertexts(t, subscription.id);
    expect(before.previous_secret_ciphertext).not.toBeNull();
    const signedByBoth = (n: number) => {
      const d = receiver.accepted('/keys')[n];
      return signatureValid(d, first) && signatureValid(d, second);
    };

    // 1. The new key is in place, the old one is previous: the secrets sealed under it still sign.
    const user = (await t.gql(CreateUserDocument, { input: { userName: 'keys@rotation.test' } })).data!.createUser.user!;
    await withWorker({ secretKey: NEW_KEY, secretKeyPrevious: [OLD_KEY] }, () =>
      waitFor('a delivery under the previous key', () => receiver.accepted('/keys').length === 1),
    );
    expect(signedByBoth(0)).toBe(true);

    // 2. Reseal: both secrets of the row, sealed again under the new key; the secrets are the same.
    const run = await reseal({ ROSTER_SECRET_KEY: NEW_KEY, ROSTER_SECRET_KEY_PREVIOUS: OLD_KEY });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(run.stdout);
    expect(report.resealed).toBeGreaterThanOrEqual(2);
    expect(report.unreadable).toEqual([]);
    const after = await ciphertexts(t, subscription.id);
    expect(after.secret_ciphertext).not.toBe(before.secret_ciphertext);
    expect(after.previous_secret_ciphertext).not.toBe(before.previous_secret_ciphertext);
    // again: nothing left to do
    const again = JSON.parse((await reseal({ ROSTER_SECRET_KEY: NEW_KEY, ROSTER_SECRET_KEY_PREVIOUS: OLD_KEY })).stdout);
    expect(again).toMatchObject({ resealed: 0, unreadable: [] });

    // 3. The old key gone: the new one alone opens both secrets, and receivers verify as before.
    await t.gql(UpdateUserDocument, { id: user.id, input: { title: 'after the reseal' } });
    await withWorker({ secretKey: NEW_KEY, secretKeyPrevious: [] }, () =>
      waitFor('a delivery under the new key alone', () => receiver.accepted('/keys').length === 2),
    );
    expect(signedByBoth(1)).toBe(true);
  });

  it('reports, and exits 1 for, a secret that opens under none of the keys; the others are still resealed', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/lost'), ['USER_CREATED']);
    const other = await app.createTenant();
    const { subscription: kept } = await subscribe(other, receiver.url('/kept'), ['USER_CREATED']);
    const keptBefore = await ciphertexts(other, kept.id);
    // the tenant's secret sealed under a key nobody has any more
    await tenantRows(app, t, 'update webhook_subscriptions set secret_ciphertext = ? where id = ?', [
      keptBefore.secret_ciphertext,
      uuidOf(subscription.id),
    ]);
    const run = await reseal({ ROSTER_SECRET_KEY: NEW_KEY, ROSTER_SECRET_KEY_PREVIOUS: OLD_KEY });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.unreadable).toEqual([{ tenant: t.slug, subscription: uuidOf(subscription.id) }]);
    expect((await ciphertexts(other, kept.id)).secret_ciphertext).not.toBe(keptBefore.secret_ciphertext);
  });

  it('drops an expired previous secret instead of calling its subscription unreadable', async () => {
    const t = await app.createTenant();
    const { subscription } = await subscribe(t, receiver.url('/expired'), ['USER_CREATED']);
    const other = await app.createTenant();
    const { subscription: elsewhere } = await subscribe(other, receiver.url('/elsewhere'), ['USER_CREATED']);
    const lost = (await ciphertexts(other, elsewhere.id)).secret_ciphertext;
    // an overlap that ended, its secret sealed under a key nobody has any more: nothing signs with it
    await tenantRows(
      app,
      t,
      `update webhook_subscriptions set previous_secret_ciphertext = ?, previous_secret_expires_at = now() - interval '1 hour' where id = ?`,
      [lost, uuidOf(subscription.id)],
    );
    const before = await ciphertexts(t, subscription.id);
    const run = await reseal({ ROSTER_SECRET_KEY: NEW_KEY, ROSTER_SECRET_KEY_PREVIOUS: OLD_KEY });
    expect(run.stderr).toBe('');
    // (the shared test database may hold other tests' unreadable secrets: only this tenant's matter here)
    const unreadable = (JSON.parse(run.stdout) as { unreadable: Array<{ tenant: string }> }).unreadable;
    expect(unreadable.filter((u) => u.tenant === t.slug)).toEqual([]);
    const after = await ciphertexts(t, subscription.id);
    expect(after.secret_ciphertext).not.toBe(before.secret_ciphertext);
    expect(after.previous_secret_ciphertext).toBeNull();
  });

  it('refuses a previous key shorter than 32 characters, and reseals nothing without a current key', async () => {
    const short = await reseal({ ROSTER_SECRET_KEY: NEW_KEY, ROSTER_SECRET_KEY_PREVIOUS: `${OLD_KEY},too-short` });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/ROSTER_SECRET_KEY_PREVIOUS/);
    const none = await reseal({ ROSTER_SECRET_KEY_PREVIOUS: OLD_KEY });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/ROSTER_SECRET_KEY is not set/);
  });
});
