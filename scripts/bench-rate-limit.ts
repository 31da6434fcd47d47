/**
 * Measures the rate-limited door statement (`roster_door`, one autocommit round trip: authentication +
 * failed-authentication check + token bucket upsert) under concurrency, for one tenant (every client
 * updates the same bucket row: the hot-row case) and for one tenant per client (no shared row), next to
 * a bare `select 1` round trip. Usage: npm run -s bench:rate-limit [-- --seconds 5 --clients 1,4,16,32]
 * (DATABASE_URL to use another server; otherwise a throwaway embedded PostgreSQL).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/infra/db/embedded-postgres.js';
import { createOrm, migrate } from '../src/infra/orm/orm.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '4'));
const CLIENTS = arg('clients', '1,4,16,32').split(',').map(Number);
const sha = (s: string) => createHash('sha256').update(s).digest();

async function main() {
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const db = await startEmbeddedPostgres({ dataDir: await mkdtemp(path.join(tmpdir(), 'roster-bench-rl-')), ephemeral: true });
    url = db.url;
    stop = db.stop;
  }
  const orm = await createOrm({ url });
  await migrate(orm);
  await orm.close();

  const maxClients = Math.max(...CLIENTS);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  const tenants: Array<{ id: string; token: string }> = [];
  for (let i = 0; i < maxClients; i++) {
    const id = randomUUID();
    const token = `rst_scim_${randomBytes(32).toString('base64url')}`;
    await setup.query('begin');
    await setup.query(`select set_config('roster.operator', 'on', true), set_config('roster.tenant_id', $1, true)`, [id]);
    await setup.query(`insert into tenants (id, slug, display_name) values ($1, $2, $2)`, [
      id,
      `bench-${i}-${randomBytes(3).toString('hex')}`,
    ]);
    await setup.query(
      `insert into scim_credentials (id, tenant_id, kind, secret_hash, prefix) values ($1, $2, 'bearer', $3, 'rst_scim_x')`,
      [randomUUID(), id, sha(token)],
    );
    await setup.query('commit');
    tenants.push({ id, token });
  }
  await setup.end();

  const pool = new pg.Pool({ connectionString: url, max: maxClients });
  pool.on('error', () => {});
  // Buckets large enough never to refuse: what is measured is the cost of the statement, not refusals.
  const door = (token: string) =>
    pool.query(
      `select outcome from roster_door('scim', 'bearer', $1, null, null, 1000000, 1000000000, 0, 30, 30, '10.0.0.1', 'rst_scim_x', null, null)`,
      [sha(token)],
    );
  const doorWithFailureLimit = (token: string) =>
    pool.query(
      `select outcome from roster_door('scim', 'bearer', $1, null, null, 1000000, 1000000000, 0.5, 30, 30, '10.0.0.1', 'rst_scim_x', null, null)`,
      [sha(token)],
    );
  const select1 = () => pool.query('select 1');
  // A request's authentication before (inside its transaction, no rate limit) and now (door + entering the tenant).
  const before = async (token: string) => {
    const c = await pool.connect();
    try {
      await c.query('begin');
      await c.query('select * from roster_authenticate_scim($1)', [sha(token)]);
      await c.query('commit');
    } finally {
      c.release();
    }
  };
  const now = async (token: string) => {
    const c = await pool.connect();
    try {
      const [row] = (
        await c.query(
          `select tenant_id from roster_door('scim', 'bearer', $1, null, null, 1000000, 1000000000, 0.5, 30, 30, '10.0.0.1', 'rst_scim_x', null, null)`,
          [sha(token)],
        )
      ).rows;
      await c.query('begin');
      await c.query(
        `select pg_backend_pid(), now()::text, set_config('roster.tenant_id', $1, true), set_config('roster.operator', 'off', true), set_config('roster.credential_lookup', 'off', true), set_config('statement_timeout', '30000', true)`,
        [row.tenant_id],
      );
      await c.query('commit');
    } finally {
      c.release();
    }
  };

  async function run(label: string, clients: number, call: (client: number) => Promise<unknown>) {
    const latencies: number[] = [];
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        while (performance.now() < until) {
          const t0 = performance.now();
          await call(c);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 100) / 100;
    process.stdout.write(
      `${JSON.stringify({ scenario: label, clients, perSecond: Math.round(latencies.length / SECONDS), p50ms: q(0.5), p99ms: q(0.99) })}\n`,
    );
  }

  for (const clients of CLIENTS) {
    await run('select 1', clients, () => select1());
    await run('door, one tenant (hot row)', clients, () => door(tenants[0].token));
    await run('door, one tenant per client', clients, (c) => door(tenants[c].token));
    await run('door + failed-auth check, one tenant', clients, () => doorWithFailureLimit(tenants[0].token));
    await run('request auth before: begin, authenticate, commit', clients, () => before(tenants[0].token));
    await run('request auth now: door, begin, enter tenant, commit', clients, () => now(tenants[0].token));
  }
  await pool.end();
  await stop();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
