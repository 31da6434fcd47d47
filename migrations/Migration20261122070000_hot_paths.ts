import { Migration } from '@mikro-orm/migrations';

/**
 * Hot paths (issue 4; evidence in docs/performance.md).
 *
 * 1. The users connection's default order (by name) from an index. The name key was an expression
 *    (`lower(coalesce(display_name, given + family, user_name))`); under forced row-level security an
 *    expression index on it cannot be used (lower() is not LEAKPROOF, see the perf migration), so every
 *    page sorted all of the tenant's users: O(tenant) per request. A stored generated column holds the
 *    key and a partial index serves `order by sort_name, id` and the keyset `(sort_name, id) > (…)`
 *    (text and uuid comparisons are leakproof). concat_ws() is only STABLE, so the generation spells the
 *    same thing with || (a NULL part is skipped exactly as concat_ws skips it).
 * 2. `roster_enter`: the request's transaction enters the tenant (row-level security), sets its statement
 *    timeout, and returns the backend pid (to cancel on deadline) and the tenant's custom-attribute
 *    declarations, which nearly every SCIM request needs for the tenant's schema: one round trip where
 *    there were two (three in a create). A plpgsql body runs its statements in order, so the read sees
 *    the tenant the set_config just entered; SECURITY INVOKER, so the read is under the caller's RLS.
 */
export class Migration20261122070000_hot_paths extends Migration {
  override name = 'Migration20261122070000_hot_paths';

  override up(): void {
    this.addSql(`
alter table users add column sort_name text not null generated always as (
  lower(coalesce(
    display_name,
    nullif(case when given_name is null then family_name when family_name is null then given_name else given_name || ' ' || family_name end, ''),
    user_name))
) stored;
create index users_sort_name_idx on users (tenant_id, sort_name, id) where deleted_at is null;

create function roster_enter(p_tenant text, p_operator text, p_statement_timeout text)
returns table (pid integer, xact_start text, custom_attributes jsonb)
language plpgsql volatile security invoker as $$
begin
  perform set_config('roster.tenant_id', p_tenant, true),
          set_config('roster.operator', p_operator, true),
          set_config('roster.credential_lookup', 'off', true),
          set_config('statement_timeout', p_statement_timeout, true);
  return query
    select pg_backend_pid(), now()::text,
           case when p_tenant = '' then null else
             (select coalesce(jsonb_agg(to_jsonb(c) order by c.name), '[]'::jsonb) from custom_attributes c where c.tenant_id = p_tenant::uuid)
           end;
end
$$;
`);
  }
}
