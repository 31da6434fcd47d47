import { Migration } from '@mikro-orm/migrations';

/**
 * The number of a tenant's live users in O(1) (issue 4; docs/performance.md). Every unfiltered SCIM
 * `GET /Users` page reports `totalResults`, and Okta's import asks for page after page: counting the
 * tenant's users each time made every page O(tenant), an index-only scan of 100,000 entries at best, a
 * sequential scan of the wide rows once writes had cleared the visibility map.
 *
 * `user_counts` keeps the count in shards, one per (tenant, backend pid mod 8): a create adds one to the
 * shard of the connection that runs it, so concurrent creates of one tenant, which run on different pooled
 * connections, do not queue on one counter row until they commit. The total is the sum of at most 8 rows.
 * Triggers keep it: a user inserted live (+1), soft-deleted (-1) or restored (+1). Users are never deleted
 * row by row; a tenant's deletion cascades to its users and its counts alike.
 */
export class Migration20261122080000_user_counts extends Migration {
  override name = 'Migration20261122080000_user_counts';

  override up(): void {
    this.addSql(`
create table user_counts (
  tenant_id uuid not null references tenants (id) on delete cascade,
  shard smallint not null,
  live bigint not null default 0,
  primary key (tenant_id, shard)
);
alter table user_counts enable row level security;
alter table user_counts force row level security;
create policy tenant_isolation on user_counts using (tenant_id = roster_current_tenant());

create function roster_count_user() returns trigger language plpgsql security invoker as $$
declare
  delta integer := case
    when tg_op = 'INSERT' then case when new.deleted_at is null then 1 else 0 end
    when old.deleted_at is null and new.deleted_at is not null then -1
    when old.deleted_at is not null and new.deleted_at is null then 1
    else 0 end;
begin
  if delta <> 0 then
    insert into user_counts as c (tenant_id, shard, live) values (new.tenant_id, pg_backend_pid() % 8, delta)
      on conflict (tenant_id, shard) do update set live = c.live + excluded.live;
  end if;
  return null;
end
$$;
create trigger users_count_insert after insert on users for each row execute function roster_count_user();
create trigger users_count_delete after update of deleted_at on users for each row execute function roster_count_user();

-- The counts of the users already there: as the table owner, with row-level security not forced for the moment.
alter table users no force row level security;
alter table user_counts no force row level security;
insert into user_counts (tenant_id, shard, live) select tenant_id, 0, count(*) from users where deleted_at is null group by tenant_id;
alter table users force row level security;
alter table user_counts force row level security;
`);
  }
}
