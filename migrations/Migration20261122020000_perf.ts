import { Migration } from '@mikro-orm/migrations';

/**
 * Performance (issue 4; evidence in docs/performance.md).
 *
 * 1. userName lookups that the index can serve under row-level security. Every tenant table FORCEs RLS,
 *    and PostgreSQL uses a query's condition ahead of a policy (as an index condition) only when every
 *    function applied to a column in it is LEAKPROOF. `lower()` is not, so `lower(user_name) = lower(?)`
 *    (what `filter=userName eq "…"` compiled to) never used users_user_name_key: each lookup scanned all
 *    of the tenant's users (150 ms at 100,000 users, O(tenant) per request). A stored generated column
 *    holds lower(user_name); `user_name_lower = lower(?)` compares it with texteq (leakproof), and the
 *    lower() of the parameter holds no column, so the index below serves it.
 * 2. The tenant's live users by id: `count(*)` of a list (every SCIM list page reports totalResults) and
 *    the ids of an index-paginated page become index-only scans of this narrow partial index instead of
 *    scans of the wide rows.
 */
export class Migration20261122020000_perf extends Migration {
  override name = 'Migration20261122020000_perf';

  override up(): void {
    this.addSql(`alter table users add column user_name_lower text generated always as (lower(user_name)) stored;`);
    this.addSql(`create index users_user_name_lower_idx on users (tenant_id, user_name_lower) where deleted_at is null;`);
    this.addSql(`create index users_live_idx on users (tenant_id, id) where deleted_at is null;`);
  }
}
