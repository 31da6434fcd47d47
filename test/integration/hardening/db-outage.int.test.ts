/**
 * Faults: PostgreSQL restarted in the middle of load (issue 6). A dedicated embedded PostgreSQL (its own
 * data directory, a fixed port so it comes back where the pool expects it) is really stopped and started
 * again while SCIM and GraphQL clients keep creating users. During the outage requests fail fast with
 * 503 + Retry-After (SCIM error body / GraphQL SERVICE_UNAVAILABLE); the service recovers by itself; and
 * every user whose creation was acknowledged (201, or a GraphQL payload with the user) exists afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../../src/infra/db/embedded-postgres.js';
import { createOrm, migrate } from '../../../src/infra/orm/orm.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { bearer, expectScimError, request, SCIM_JSON, sleep, tenantSql, waitFor, type HttpResponse } from './support.js';

/** Connect/acquire bound for this app: requests during the outage must answer within it (plus slack). */
const CONNECT_TIMEOUT_MS = 2000;
const FAIL_FAST_MS = CONNECT_TIMEOUT_MS + 3000;

let dir: string;
let port: number;
let db: EmbeddedDatabase;
let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roster-outage-'));
  port = await freePort();
  db = await startEmbeddedPostgres({ dataDir: dir, port });
  const orm = await createOrm({ url: db.url });
  try {
    await migrate(orm);
  } finally {
    await orm.close();
  }
  app = await startTestApp({ DATABASE_URL: db.url, ROSTER_DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) });
  t = await app.createTenant();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

interface Outcome {
  door: 'scim' | 'graphql';
  userName: string;
  res?: HttpResponse;
  /** Network-level failure (no HTTP answer at all). */
  error?: string;
  at: number;
}

const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id userName } userErrors { code message } } }';

async function createOne(door: 'scim' | 'graphql', userName: string): Promise<Outcome> {
  const at = Date.now();
  try {
    const res =
      door === 'scim'
        ? await request('POST', `${app.baseUrl}/scim/v2/Users`, {
            headers: { ...bearer(t.scimToken), ...SCIM_JSON },
            body: {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              userName,
              active: true,
              name: { givenName: 'Load', familyName: userName },
            },
            timeoutMs: 20_000,
          })
        : await request('POST', `${app.baseUrl}/graphql`, {
            headers: bearer(t.apiKey),
            body: { query: CREATE_USER, variables: { input: { userName } } },
            timeoutMs: 20_000,
          });
    return { door, userName, res, at };
  } catch (err) {
    return { door, userName, error: (err as Error).message, at };
  }
}

const acknowledged = (o: Outcome) =>
  o.res !== undefined &&
  (o.door === 'scim' ? o.res.status === 201 : o.res.status === 200 && Boolean(o.res.json?.data?.createUser?.user?.id));

describe('PostgreSQL restarted under load', () => {
  it('fails fast with 503 during the outage, recovers by itself, and loses no acknowledged write', async () => {
    const outcomes: Outcome[] = [];
    let running = true;
    let seq = 0;
    const WORKERS = 4;
    const MAX_REQUESTS = 3000;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      while (running && seq < MAX_REQUESTS) {
        const n = seq++;
        outcomes.push(await createOne(w % 2 === 0 ? 'scim' : 'graphql', `load-${n}@outage.test`));
      }
    });

    // Steady load, then the real server goes away.
    await waitFor('some acknowledged writes before the outage', async () => outcomes.filter(acknowledged).length >= 20, 20_000, 50);
    const stopAt = Date.now();
    await db.stop();
    const stoppedAt = Date.now();

    // During the outage: liveness stays up, readiness says no, requests fail fast with 503.
    await sleep(1500);
    const live = await request('GET', `${app.baseUrl}/healthz`);
    expect(live.status).toBe(200);
    const ready = await request('GET', `${app.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toMatch(/^\d+$/);
    const duringOutage = outcomes.filter((o) => o.at >= stoppedAt);
    expect(duringOutage.length).toBeGreaterThan(0);

    // The same server comes back on the same port, with the same data directory.
    const restartAt = Date.now();
    db = await startEmbeddedPostgres({ dataDir: dir, port });
    const restartedAt = Date.now();
    // No reconnect call, no restart of Roster: the pool finds the server again by itself.
    await waitFor(
      'a write acknowledged after the restart',
      async () => outcomes.some((o) => o.at >= restartedAt && acknowledged(o)),
      30_000,
      50,
    );
    await waitFor('readiness after the restart', async () => (await request('GET', `${app.baseUrl}/readyz`)).status === 200, 15_000);
    running = false;
    await Promise.all(workers);

    // Nothing hung and nothing was a 500: every answer is an acknowledgment or a clean 503.
    const failures = outcomes.filter((o) => !acknowledged(o));
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    const unavailable = failures.filter((o) => o.res?.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(failures.filter((o) => o.res?.status !== 503).map((o) => `${o.door} ${o.res?.status} ${o.res?.text.slice(0, 200)}`)).toEqual([]);
    for (const o of unavailable) {
      expect(o.res!.ms).toBeLessThan(FAIL_FAST_MS);
      expect(o.res!.headers['retry-after']).toMatch(/^\d+$/);
      if (o.door === 'scim') expectScimError(o.res!, 503);
      else {
        expect(o.res!.json.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
        expect(o.res!.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/i);
      }
    }
    // Both doors saw the outage.
    expect(new Set(unavailable.map((o) => o.door))).toEqual(new Set(['scim', 'graphql']));
    // Outage failures happened while the server was down (or being stopped), not before or long after.
    for (const o of unavailable) {
      expect(o.at).toBeGreaterThanOrEqual(stopAt - FAIL_FAST_MS);
      expect(o.at).toBeLessThanOrEqual(restartAt + FAIL_FAST_MS + 5000);
    }

    // Every acknowledged write survived the restart; a write answered 503 was not half-applied twice.
    const acked = outcomes.filter(acknowledged).map((o) => o.userName);
    const rows = await tenantSql<{ user_name: string }>(db.url, t.id, 'select user_name from users where deleted_at is null');
    const stored = new Set(rows.map((r) => r.user_name));
    expect(acked.filter((u) => !stored.has(u))).toEqual([]);
    expect(new Set(acked).size).toBe(acked.length);

    // No connection was lost to the outage: every pooled connection is back and usable (before the pool
    // guard, each restart leaked the connections of the transactions it broke until the pool ran dry).
    const pool = await (
      app.orm.driver.getConnection() as unknown as { getNativeClient(): Promise<{ totalCount: number; idleCount: number }> }
    ).getNativeClient();
    await waitFor('every pooled connection back in the pool', async () => pool.totalCount === pool.idleCount, 5000, 50);

    // And the service works normally again, on both doors.
    const after = await createOne('scim', 'after-outage@outage.test');
    expect(after.res?.status).toBe(201);
    const afterGql = await createOne('graphql', 'after-outage-gql@outage.test');
    expect(acknowledged(afterGql)).toBe(true);
  }, 120_000);
});
