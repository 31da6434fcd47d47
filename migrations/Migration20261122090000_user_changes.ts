import { Migration } from '@mikro-orm/migrations';

/**
 * A version of each tenant's set of live users, next to its count (issue 4; docs/performance.md). Okta
 * imports with `GET /Users?startIndex=k&count=100`, page after page; an `offset` costs PostgreSQL the
 * k index entries before the page, so the last pages of a 100,000-user tenant cost several times the
 * first. A server that remembers where the previous page ended (its last id) can continue from there
 * (`id > last`, an index range scan) instead, but only while the pages would still be the same: as long
 * as no user has joined or left the live set. `changes` counts exactly those events: it grows by one with
 * every change `live` records, in the same shard and the same transaction, so the sum over a tenant's
 * shards never repeats a value and two snapshots with the same sum see the same live users.
 */
export class Migration20261122090000_user_changes extends Migration {
  override name = 'Migration20261122090000_user_changes';

  override up(): void {
    this.addSql(`
alter table user_counts add column changes bigint not null default 0;

create or replace function roster_count_user() returns trigger language plpgsql security invoker as $$
declare
  delta integer := case
    when tg_op = 'INSERT' then case when new.deleted_at is null then 1 else 0 end
    when old.deleted_at is null and new.deleted_at is not null then -1
    when old.deleted_at is not null and new.deleted_at is null then 1
    else 0 end;
begin
  if delta <> 0 then
    insert into user_counts as c (tenant_id, shard, live, changes) values (new.tenant_id, pg_backend_pid() % 8, delta, 1)
      on conflict (tenant_id, shard) do update set live = c.live + excluded.live, changes = c.changes + 1;
  end if;
  return null;
end
$$;
`);
  }
}
