import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidv7 } from '../../kernel/ids.js';
import { prepared } from './sql.js';

/** The tables whose rows are named case-insensitively per tenant, and their name column. */
const NAMED = { teams: 'name', roles: 'display_name' } as const;

/**
 * The id and stored name of the tenant's row with this name (case-insensitive), inserted when there is
 * none (the stored name of an existing row may differ in case from the one asked for). Race-free:
 * the insert relies on the unique index on (tenant_id, lower(<name>)); a concurrent creator makes it do
 * nothing, and since the select in the same statement still sees the snapshot from before that commit,
 * the row is read again.
 *
 * Its times are milliseconds, as every time a client sees (TOUCHED_AT in sql.ts).
 *
 * `alongside`: a scalar sub-select the caller needs anyway (e.g. the manager a create names), answered in the
 * same statement (one round trip instead of two) as `alongside`.
 */
export async function findOrCreateByName(
  em: EntityManager,
  table: keyof typeof NAMED,
  tenantId: string,
  name: string,
  opts: { alongside?: { sql: string; params: readonly unknown[] } } = {},
): Promise<{ id: string; created: boolean; name: string; alongside?: unknown }> {
  const column = NAMED[table];
  const ins = `ins as (
       insert into ${table} (id, tenant_id, ${column}, created_at, updated_at)
       values (?, ?, ?, date_trunc('milliseconds', now()), date_trunc('milliseconds', now()))
       on conflict (tenant_id, lower(${column})) do nothing
       returning id, true as created, ${column} as name)`;
  const found = `select id, created, name from ins
     union all
     select id, false, ${column} from ${table} where tenant_id = ? and lower(${column}) = lower(?)
     limit 1`;
  const params = [uuidv7(), tenantId, name, tenantId, name];
  type Row = { id: string | null; created: boolean; name: string; alongside?: unknown };
  const { alongside } = opts;
  // With a sub-select alongside, the statement always answers one row (the name's row may be missing: below).
  // (A data-modifying WITH must stay at the statement's top level.)
  const rows = alongside
    ? await prepared<Row>(
        em,
        `with ${ins}, f as (${found}) select f.id, f.created, f.name, (${alongside.sql}) as alongside from (select 1) one left join f on true`,
        [...params, ...alongside.params],
      )
    : await prepared<Row>(em, `with ${ins} ${found}`, params);
  const row = rows[0];
  if (row?.id) return row as Row & { id: string };
  const again = await prepared<{ id: string; name: string }>(
    em,
    `select id, ${column} as name from ${table} where tenant_id = ? and lower(${column}) = lower(?)`,
    [tenantId, name],
  );
  return { id: again[0].id, created: false, name: again[0].name, alongside: row?.alongside };
}
