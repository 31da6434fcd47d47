/**
 * Shared pieces of the webhook suites: a real HTTP receiver on 127.0.0.1 that verifies every signature
 * itself (node:crypto, independently of the service's code), a webhook-enabled app, and a delivery worker
 * the test drives.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateWebhookSubscriptionDocument, type WebhookEventType } from '../../__generated__/graphql.js';
import { closeServer, startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { createLogger } from '../../../src/infra/logger.js';
import { createOrm } from '../../../src/infra/orm/orm.js';
import { inTenantTransaction } from '../../../src/infra/orm/session.js';
import { WebhookDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';

/** Small numbers so that retries and disablement happen within a test. */
export const WEBHOOK_TEST_ENV = {
  ROSTER_SECRET_KEY: 'test-only-secret-key-0123456789abcdef0123456789',
  ROSTER_WEBHOOK_ALLOW_HTTP_LOCALHOST: 'true',
  ROSTER_WEBHOOK_POLL_INTERVAL_MS: '20',
  ROSTER_WEBHOOK_RETRY_BASE_MS: '40',
  ROSTER_WEBHOOK_RETRY_MAX_MS: '160',
  ROSTER_WEBHOOK_TIMEOUT_MS: '2000',
  ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES: '5',
  ROSTER_WEBHOOK_DISABLE_AFTER_MINUTES: '0',
};

export async function startWebhookApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ ...WEBHOOK_TEST_ENV, ...env });
}

export function startWorker(app: TestApp): WebhookDeliveryWorker {
  return new WebhookDeliveryWorker({
    orm: app.orm,
    config: app.config,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  }).start();
}

/** A worker with its own connection pool, as another Roster process would have. */
export async function startProcessLikeWorker(app: TestApp): Promise<{ stop(): Promise<void> }> {
  const orm = await createOrm({ url: process.env.ROSTER_TEST_DATABASE_URL!, poolMax: 4 });
  const worker = new WebhookDeliveryWorker({
    orm,
    config: app.config,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  }).start();
  return {
    stop: async () => {
      await worker.stop();
      await orm.close();
    },
  };
}

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: {
    id: string;
    type: string;
    occurredAt: string;
    tenant: string;
    data: { object: string; id: string | null; nodeId: string | null; changes: Record<string, { before: unknown; after: unknown }> };
  };
  /** What the receiver answered. */
  status: number;
}

export interface Receiver {
  port: number;
  url(path: string): string;
  /** Every request received, in arrival order. */
  all: Delivery[];
  /** Requests answered 2xx, in arrival order. */
  accepted(path?: string): Delivery[];
  /** The status to answer on a path (default 204); a function decides per request. */
  respond(path: string, status: number | ((d: Delivery) => number), opts?: { delayMs?: number; headers?: Record<string, string> }): void;
  /** The most requests on a path that were open (received, not yet answered or aborted) at the same time. */
  maxConcurrent(path: string): number;
  /** Stops listening (connections refused) until start() again, on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const all: Delivery[] = [];
  const answers = new Map<string, { status: number | ((d: Delivery) => number); delayMs?: number; headers?: Record<string, string> }>();
  const open = new Map<string, number>();
  const peak = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = req.url ?? '/';
    open.set(p, (open.get(p) ?? 0) + 1);
    peak.set(p, Math.max(peak.get(p) ?? 0, open.get(p)!));
    res.on('close', () => open.set(p, open.get(p)! - 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const d: Delivery = { path, headers: req.headers, raw, body: JSON.parse(raw), status: 0 };
      const answer = answers.get(path) ?? { status: 204 };
      d.status = typeof answer.status === 'function' ? answer.status(d) : answer.status;
      all.push(d);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(d.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(d.status >= 400 ? 'receiver says no' : '');
      }, answer.delayMs ?? 0).unref();
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    all,
    accepted: (path) => all.filter((d) => d.status >= 200 && d.status < 300 && (path === undefined || d.path === path)),
    respond: (path, status, opts = {}) => void answers.set(path, { status, ...opts }),
    maxConcurrent: (path) => peak.get(path) ?? 0,
    stop: () => closeServer(server),
    start: () => listen(port),
    close: () => closeServer(server),
  };
}

/** Verifies Roster-Signature the way the README tells receivers to: HMAC-SHA256 over "<t>.<raw body>". */
export function signatureValid(d: Delivery, secret: string, toleranceSeconds = 300): boolean {
  const header = String(d.headers['roster-signature'] ?? '');
  const fields = header.split(',').map((p) => p.split('='));
  const t = Number(fields.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${d.raw}`).digest();
  return fields.some(([k, v]) => k === 'v1' && v?.length === 64 && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The first accepted delivery of each event, in arrival order (retries of a delivered event are duplicates). */
export function firstAcceptances(deliveries: Delivery[]): Delivery[] {
  const seen = new Set<string>();
  return deliveries.filter((d) => !seen.has(d.body.id) && seen.add(d.body.id));
}

/** Event types per resource id, in the order they were accepted. */
export function typesByResource(deliveries: Delivery[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of firstAcceptances(deliveries)) {
    const key = String(d.body.data.id);
    out.set(key, [...(out.get(key) ?? []), d.body.type]);
  }
  return out;
}

export const ALL_EVENT_TYPES: WebhookEventType[] = [
  'USER_CREATED',
  'USER_UPDATED',
  'USER_DEACTIVATED',
  'USER_REACTIVATED',
  'USER_DELETED',
  'TEAM_CREATED',
  'TEAM_UPDATED',
  'TEAM_DELETED',
  'ROLE_CREATED',
  'ROLE_UPDATED',
  'ROLE_DELETED',
  'ROLE_MEMBERS_CHANGED',
  'BULK_JOB_FINISHED',
];

export async function subscribe(t: TestTenant, url: string, eventTypes: WebhookEventType[] = ALL_EVENT_TYPES) {
  const res = await t.gql(CreateWebhookSubscriptionDocument, { input: { url, eventTypes } });
  expect(res.errors).toBeUndefined();
  const p = res.data!.createWebhookSubscription;
  expect(p.userErrors).toEqual([]);
  return { subscription: p.subscription!, secret: p.secret! };
}

/** The uuid behind a global id (the suites know the encoding, src/graphql/ids.ts). */
export const uuidOf = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];

/** Raw SQL inside one tenant (row-level security needs roster.tenant_id). */
export function tenantRows<R>(app: TestApp, t: TestTenant, sql: string, params: unknown[] = []): Promise<R[]> {
  return inTenantTransaction(app.orm, uuidOf(t.id), (em) => em.execute<R[]>(sql, params));
}
