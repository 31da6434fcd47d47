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
 */
export async function findOrCreateByName(
  em: EntityManager,
  table: keyof typeof NAMED,
  tenantId: string,
  name: string,
): Promise<{ id: string; created: boolean; name: string }> {
  const column = NAMED[table];
  const rows = await prepared<{ id: string; created: boolean; name: string }>(
    em,
    `with ins as (
       insert into ${table} (id, tenant_id, ${column}) values (?, ?, ?)
       on conflict (tenant_id, lower(${column})) do nothing
       returning id, true as created, ${column} as name)
     select id, created, name from ins
     union all
     select id, false, ${column} from ${table} where tenant_id = ? and lower(${column}) = lower(?)
     limit 1`,
    [uuidv7(), tenantId, name, tenantId, name],
  );
  if (rows[0]) return rows[0];
  const again = await prepared<{ id: string; name: string }>(
    em,
    `select id, ${column} as name from ${table} where tenant_id = ? and lower(${column}) = lower(?)`,
    [tenantId, name],
  );
  return { id: again[0].id, created: false, name: again[0].name };
}
