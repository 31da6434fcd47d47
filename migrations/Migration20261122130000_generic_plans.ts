import { Migration } from '@mikro-orm/migrations';

/**
 * A request's prepared statements run their generic plan from the first execution (issue 4;
 * docs/performance.md, round 4).
 *
 * The service's hot statements are named prepared statements of their connection (src/infra/db/prepared.ts),
 * so PostgreSQL can keep their plans. In its default mode it plans the first five runs for their values and
 * then keeps the generic plan only if its estimated cost is no higher. For a page statement (`… limit $n`) the
 * generic estimate assumes a tenth of the rows instead of a page, so PostgreSQL kept planning every run of an
 * Okta import page: 1.0 ms of planning against 2.2 ms of execution (pg_stat_statements, N = 100,000), for the
 * same plan either way (index range scans on the tenant's keys; EXPLAIN of both in the doc). Every statement
 * the service prepares is of that kind: tenant-scoped index access whose plan does not depend on the values.
 *
 * `roster_enter`, which every request's transaction runs first, now also sets `plan_cache_mode` to
 * `force_generic_plan` for the transaction (`set_config(…, true)`: transaction-local, so nothing else on the
 * connection, and no other client of the database, is affected). The rest of the function is unchanged.
 */
export class Migration20261122130000_generic_plans extends Migration {
  override name = 'Migration20261122130000_generic_plans';

  override up(): void {
    this.addSql(`
create or replace function roster_enter(p_tenant text, p_operator text, p_statement_timeout text)
returns table (pid integer, xact_start text, custom_attributes jsonb)
language plpgsql volatile security invoker as $$
begin
  perform set_config('roster.tenant_id', p_tenant, true),
          set_config('roster.operator', p_operator, true),
          set_config('roster.credential_lookup', 'off', true),
          set_config('statement_timeout', p_statement_timeout, true),
          set_config('plan_cache_mode', 'force_generic_plan', true);
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
