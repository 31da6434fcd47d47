import pg from 'pg';
import { uuidv7 } from '../../src/kernel/ids.js';
import { DEPARTMENTS, managerIndex, person } from './data.js';

/**
 * Direct PostgreSQL access for data loading and the raw baselines, as the application role (the one
 * Roster connects as), so row-level security applies exactly as it does to Roster: every connection
 * enters the tenant at session level once, and each baseline statement is then one round trip.
 */
export function tenantPool(url: string, tenantId: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // An idle connection the server closes (e.g. while it shuts down) must not take the bench down.
  pool.on('error', (err) => process.stderr.write(`[bench] idle database connection closed: ${err.message}\n`));
  pool.on('connect', (client) => {
    // Queued before any other query on this client, so it always runs first.
    void client.query(`select set_config('roster.tenant_id', $1, false)`, [tenantId]).catch(() => {});
  });
  return pool;
}

/** The ~50 department teams, created up front the way the first provisioning would (by name). */
export async function createTeams(pool: pg.Pool, tenantId: string): Promise<Map<string, string>> {
  const ids = DEPARTMENTS.map(() => uuidv7());
  await pool.query(
    `insert into teams (id, tenant_id, name) select id, $1, name from unnest($2::uuid[], $3::text[]) as t(id, name)
     on conflict (tenant_id, lower(name)) do nothing`,
    [tenantId, ids, DEPARTMENTS],
  );
  const rows = await pool.query<{ id: string; name: string }>(`select id, name from teams where tenant_id = $1`, [tenantId]);
  return new Map(rows.rows.map((r) => [r.name.toLowerCase(), r.id]));
}

/**
 * DATA LOADING, NOT MEASURED: inserts people [from, to) with one multi-row INSERT per batch, in the
 * shape Roster writes them (lower-case e-mails, team by department, manager id resolved, custom values
 * under their declared names). `ids[i]` receives each person's id; managers always come first.
 */
export async function bulkLoadUsers(
  pool: pg.Pool,
  tenantId: string,
  from: number,
  to: number,
  teams: Map<string, string>,
  ids: string[],
  progress: (done: number) => void,
): Promise<void> {
  const BATCH = 5000;
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH);
    const cols: Record<string, unknown[]> = {
      id: [],
      user_name: [],
      external_id: [],
      given_name: [],
      family_name: [],
      formatted_name: [],
      display_name: [],
      title: [],
      emails: [],
      phone_numbers: [],
      employee_number: [],
      cost_center: [],
      team_id: [],
      manager_id: [],
      custom: [],
      created_at: [],
    };
    const base = Date.now() - (to - start) * 10;
    for (let i = start; i < end; i++) {
      const p = person(i);
      const id = uuidv7(base + (i - start) * 10);
      ids[i] = id;
      const m = managerIndex(i);
      cols.id.push(id);
      cols.user_name.push(p.userName);
      cols.external_id.push(p.externalId);
      cols.given_name.push(p.givenName);
      cols.family_name.push(p.familyName);
      cols.formatted_name.push(p.displayName);
      cols.display_name.push(p.displayName);
      cols.title.push(p.title);
      cols.emails.push(JSON.stringify([{ value: p.userName, type: 'work', primary: true }]));
      cols.phone_numbers.push(JSON.stringify([{ value: p.phone, type: 'work' }]));
      cols.employee_number.push(p.employeeNumber);
      cols.cost_center.push(p.costCenter);
      cols.team_id.push(teams.get(p.department.toLowerCase()) ?? null);
      cols.manager_id.push(m >= 0 ? ids[m] : null);
      cols.custom.push(JSON.stringify(p.custom));
      cols.created_at.push(new Date(base + (i - start) * 10).toISOString());
    }
    await pool.query(
      `insert into users (id, tenant_id, user_name, external_id, given_name, family_name, formatted_name, display_name, title, locale,
                          active, emails, phone_numbers, employee_number, cost_center, team_id, manager_id, custom, created_at, updated_at)
       select t.id, $1, t.user_name, t.external_id, t.given_name, t.family_name, t.formatted_name, t.display_name, t.title, 'en-US',
              true, t.emails, t.phone_numbers, t.employee_number, t.cost_center, t.team_id, t.manager_id, t.custom, t.created_at, t.created_at
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[],
                     $11::jsonb[], $12::text[], $13::text[], $14::uuid[], $15::uuid[], $16::jsonb[], $17::timestamptz[])
           as t(id, user_name, external_id, given_name, family_name, formatted_name, display_name, title, emails, phone_numbers,
                employee_number, cost_center, team_id, manager_id, custom, created_at)`,
      [tenantId, ...Object.values(cols)],
    );
    progress(end - from);
  }
}

/** What autovacuum would do shortly after a bulk load: statistics and the visibility map. */
export async function vacuumAnalyze(pool: pg.Pool, tables: string[]): Promise<void> {
  for (const t of tables) await pool.query(`vacuum (analyze) ${t}`);
}

export const B1_SCHEMA = 'roster_bench';

/**
 * B1's table: the same shape as `users` (columns, defaults, checks, indexes), the same foreign keys and
 * the same row-level security, pre-filled with a copy of the tenant's users so its indexes are as big as
 * Roster's. A separate schema, so the baseline's inserts never disturb Roster's data.
 */
export async function prepareB1Table(pool: pg.Pool, tenantId: string): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query(`drop schema if exists ${B1_SCHEMA} cascade`);
    await c.query(`create schema ${B1_SCHEMA}`);
    await c.query(
      `create table ${B1_SCHEMA}.users (like public.users including defaults including constraints including generated including indexes)`,
    );
    await c.query(`alter table ${B1_SCHEMA}.users add foreign key (tenant_id) references public.tenants (id) on delete cascade,
                     add foreign key (team_id) references public.teams (id) on delete set null,
                     add foreign key (manager_id) references public.users (id) on delete set null`);
    await c.query(`alter table ${B1_SCHEMA}.users enable row level security`);
    await c.query(`alter table ${B1_SCHEMA}.users force row level security`);
    await c.query(`create policy tenant_isolation on ${B1_SCHEMA}.users using (tenant_id = roster_current_tenant())`);
    const cols = await c.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = 'public' and table_name = 'users' and is_generated = 'NEVER' order by ordinal_position`,
    );
    const list = cols.rows.map((r) => `"${r.column_name}"`).join(', ');
    await c.query(`insert into ${B1_SCHEMA}.users (${list}) select ${list} from public.users where tenant_id = $1`, [tenantId]);
    await c.query(`vacuum (analyze) ${B1_SCHEMA}.users`);
  } finally {
    c.release();
  }
}

export async function dropB1Schema(pool: pg.Pool): Promise<void> {
  await pool.query(`drop schema if exists ${B1_SCHEMA} cascade`);
}
