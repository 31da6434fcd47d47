/**
 * Baselines B1 and B2 of issue 4: bare Koa endpoints over the same PostgreSQL, the same role and the
 * same users table shape as Roster, run as their own process (like Roster) and driven by the same load
 * driver. Started by bench/run.ts; not part of the product.
 *
 *   POST /b1/users   one prepared INSERT of an equivalent user row (into roster_bench.users)
 *   GET  /b2/users?userName=…   one prepared, indexed lookup by lower(user_name) in public.users
 */
import Koa from 'koa';
import pg from 'pg';
import { uuidv7 } from '../src/kernel/ids.js';
import { tenantPool, B1_SCHEMA } from './lib/db.js';

const url = process.env.BENCH_DB_URL;
const tenantId = process.env.BENCH_TENANT_ID;
const port = Number(process.env.PORT);
if (!url || !tenantId || !port) throw new Error('BENCH_DB_URL, BENCH_TENANT_ID and PORT are required');

// The same pool size Roster uses by default (ROSTER_DB_POOL_MAX = 10).
const pool: pg.Pool = tenantPool(url, tenantId, 10);

const INSERT = `insert into ${B1_SCHEMA}.users (id, tenant_id, user_name, external_id, given_name, family_name, formatted_name, display_name, title, locale,
    active, emails, phone_numbers, employee_number, cost_center, team_id, manager_id, custom, created_at, updated_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) returning *`;
/**
 * The indexed lookup by lower(user_name). Under the forced row-level security every tenant table has,
 * `lower(user_name) = …` cannot be an index condition (lower() is not leakproof) and scans the tenant's
 * users; the stored user_name_lower column (Migration20261122020000_perf) is what an index can serve.
 */
const hasLowerColumn =
  (
    await pool.query(
      `select 1 from information_schema.columns where table_schema = 'public' and table_name = 'users' and column_name = 'user_name_lower'`,
    )
  ).rowCount === 1;
const LOOKUP = hasLowerColumn
  ? `select * from public.users where tenant_id = $1 and user_name_lower = lower($2) and deleted_at is null`
  : `select * from public.users where tenant_id = $1 and lower(user_name) = lower($2) and deleted_at is null`;
if (!hasLowerColumn)
  process.stderr.write(
    'baseline: users.user_name_lower is missing; B2 uses lower(user_name), which row-level security keeps off the index\n',
  );

interface B1Body {
  userName: string;
  externalId?: string;
  name?: { givenName?: string; familyName?: string; formatted?: string };
  displayName?: string;
  title?: string;
  locale?: string;
  active?: boolean;
  emails?: Array<{ value: string; type?: string; primary?: boolean }>;
  phoneNumbers?: unknown[];
  employeeNumber?: string;
  costCenter?: string;
  teamId?: string | null;
  managerId?: string | null;
  custom?: Record<string, unknown>;
}

async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/b1/users') {
    const b = JSON.parse(await readBody(ctx.req)) as B1Body;
    const now = new Date();
    const emails = (b.emails ?? []).map((e) => ({ ...e, value: e.value.toLowerCase() }));
    const res = await pool.query({
      name: 'b1_insert',
      text: INSERT,
      values: [
        uuidv7(),
        tenantId,
        b.userName,
        b.externalId ?? null,
        b.name?.givenName ?? null,
        b.name?.familyName ?? null,
        b.name?.formatted ?? null,
        b.displayName ?? null,
        b.title ?? null,
        b.locale ?? null,
        b.active ?? true,
        JSON.stringify(emails),
        JSON.stringify(b.phoneNumbers ?? []),
        b.employeeNumber ?? null,
        b.costCenter ?? null,
        b.teamId ?? null,
        b.managerId ?? null,
        JSON.stringify(b.custom ?? {}),
        now,
      ],
    });
    ctx.status = 201;
    ctx.body = res.rows[0];
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/b2/users') {
    const res = await pool.query({ name: 'b2_lookup', text: LOOKUP, values: [tenantId, String(ctx.query.userName ?? '')] });
    ctx.body = { totalResults: res.rowCount, Resources: res.rows };
    return;
  }
  ctx.status = 404;
});

const server = app.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  server.closeIdleConnections();
  void pool.end().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
