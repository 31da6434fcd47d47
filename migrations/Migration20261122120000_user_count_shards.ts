import { Migration } from '@mikro-orm/migrations';

/**
 * 64 counter shards per tenant instead of 8 (issue 4; docs/performance.md, round 4).
 *
 * A create adds one to the `user_counts` row of (tenant, backend pid mod N) and holds that row until its
 * transaction commits. With N = 8 and a pool of 10 connections, eight concurrent creates of one tenant put
 * two of them on one row more often than not (pids are consecutive numbers), and the second waited for the
 * first's whole transaction: under the bench's creates the users insert took 1.0–1.4 ms of PostgreSQL time
 * on average, against 0.46 ms with N = 64. The total stays one index range scan (at most 64 small rows per
 * tenant); existing rows keep their meaning (a sum over all of a tenant's rows), so nothing is rewritten.
 */
export class Migration20261122120000_user_count_shards extends Migration {
  override name = 'Migration20261122120000_user_count_shards';

  override up(): void {
    this.addSql(`
create or replace function roster_count_user() returns trigger language plpgsql security invoker as $$
declare
  delta integer := case
    when tg_op = 'INSERT' then case when new.deleted_at is null then 1 else 0 end
    when old.deleted_at is null and new.deleted_at is not null then -1
    when old.deleted_at is not null and new.deleted_at is null then 1
    else 0 end;
begin
  if delta <> 0 then
    insert into user_counts as c (tenant_id, shard, live, changes) values (new.tenant_id, pg_backend_pid() % 64, delta, 1)
      on conflict (tenant_id, shard) do update set live = c.live + excluded.live, changes = c.changes + 1;
  end if;
  return null;
end
$$;
`);
  }
}
