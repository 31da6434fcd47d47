import { Migration } from '@mikro-orm/migrations';

/**
 * Asynchronous bulk jobs: a job and its JSON Lines, one row per line, applied by worker loops in every
 * Roster process (src/modules/bulk/bulk.worker.ts).
 *
 * Exactly-once: a worker claims pending lines with FOR UPDATE SKIP LOCKED and, in the same transaction,
 * applies each line (in its own savepoint) and marks it processed. A worker that dies mid-batch rolls
 * the whole batch back, changes and marks alike, and the lines are pending again for the next claim.
 *
 * Tenant isolation as everywhere (tenant_id on every row, forced row-level security). The one exception
 * is the scheduler's question "which jobs, of any tenant, have work?": bulk_jobs also admits rows while
 * `roster.bulk_scheduler = 'on'`, which only roster_runnable_bulk_jobs() sets, around its one select of
 * ids (the same pattern as the credential lookup function roster_door). Lines are never visible
 * outside their tenant.
 */
export class Migration20261122030000_bulk_jobs extends Migration {
  override name = 'Migration20261122030000_bulk_jobs';

  override up(): void {
    this.addSql(`
create table bulk_jobs (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- a caller-chosen idempotency key: starting a job with a key already used returns that job
  client_key text,
  status text not null check (status in ('uploading', 'queued', 'running', 'completed', 'cancelled')),
  -- lines stored (blank lines are numbered but not stored) and the highest line number received
  total_lines integer not null default 0,
  received_through integer not null default 0,
  processed integer not null default 0,
  succeeded integer not null default 0,
  failed integer not null default 0,
  -- who started it: the worker applies its lines as this actor, through this door
  door text not null check (door in ('graphql', 'scim', 'cli', 'system')),
  actor_kind text not null,
  actor_id uuid,
  actor_label text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint bulk_jobs_counts check (processed = succeeded + failed and processed <= total_lines)
);
create unique index bulk_jobs_client_key_key on bulk_jobs (tenant_id, client_key) where client_key is not null;
create index bulk_jobs_tenant_idx on bulk_jobs (tenant_id, created_at desc, id desc);
-- The scheduler's scan across tenants (the only query not led by tenant_id): jobs with work, least
-- recently progressed first. Partial, so it stays as small as the number of unfinished jobs.
create index bulk_jobs_runnable_idx on bulk_jobs (updated_at) where status in ('queued', 'running');

create table bulk_job_lines (
  tenant_id uuid not null references tenants (id) on delete cascade,
  job_id uuid not null references bulk_jobs (id) on delete cascade,
  line_no integer not null,
  -- the operation name when the line is a JSON object with a string "op" (for display and filters)
  op text,
  body text not null,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  -- on success: {"userId", "outcome", ...}; on failure: {"code", "field", "reason", "message"}
  result jsonb,
  processed_at timestamptz,
  -- which worker applied the line (host:pid/n), for operations and the concurrency tests
  processed_by text,
  primary key (tenant_id, job_id, line_no)
);
create index bulk_job_lines_pending_idx on bulk_job_lines (tenant_id, job_id, line_no) where status = 'pending';
create index bulk_job_lines_status_idx on bulk_job_lines (tenant_id, job_id, status, line_no);

alter table bulk_jobs enable row level security;
alter table bulk_jobs force row level security;
create policy tenant_isolation on bulk_jobs
  using (tenant_id = roster_current_tenant() or roster_setting_on('roster.bulk_scheduler'));
alter table bulk_job_lines enable row level security;
alter table bulk_job_lines force row level security;
create policy tenant_isolation on bulk_job_lines using (tenant_id = roster_current_tenant());

-- Jobs with work, of every tenant: ids only, the least recently progressed first. PL/pgSQL runs its
-- statements in order, so the window in which bulk_jobs is visible across tenants is this one select.
create function roster_runnable_bulk_jobs(p_limit integer)
returns table (id uuid, tenant_id uuid)
language plpgsql volatile as $$
begin
  perform set_config('roster.bulk_scheduler', 'on', true);
  return query
    select j.id, j.tenant_id from bulk_jobs j
     where j.status in ('queued', 'running')
     order by j.updated_at, j.id
     limit p_limit;
  perform set_config('roster.bulk_scheduler', 'off', true);
end $$;
`);
  }
}
