import { Migration } from '@mikro-orm/migrations';

/**
 * Events out: webhook subscriptions, a transactional outbox, and per-subscription deliveries.
 *
 * - `webhook_events` is the outbox. `recordAudit` adds one row per webhook-worthy audit event, in the same
 *   unit of work (so in the same transaction) as the change; the row points at its audit event (same id),
 *   whose `changes` become the payload, so erasing a user also scrubs undelivered payloads.
 * - The delivery worker fans each event out to the tenant's matching subscriptions (`webhook_deliveries`,
 *   one row per subscription and event) and deletes events nobody subscribed to: the write path stays one
 *   small insert whatever the number of subscriptions.
 * - `webhook_delivery_attempts` records every HTTP attempt (status, error, duration, next retry).
 *
 * Ordering. `seq` orders events. PostgreSQL hands out sequence values in call order but transactions
 * commit in any order, so a worker that read "seq 11" could later see "seq 10" commit. The fan-out
 * therefore walks `seq` without gaps: at a gap it waits until every transaction that might still hold
 * the missing value has ended (snapshot xmin passed the xmax seen with the gap), which takes one poll when
 * the gap is a rollback, or until the gap is older than a bound (a stuck transaction must not stall every
 * tenant; its events are then fanned out when they commit, never lost). For this to be sound a
 * transaction must own an xid before it draws a value, hence the `case` in the `seq` default.
 * Deliveries of one subscription and one resource then go out strictly in `seq` order: a delivery is only
 * claimable when no earlier one of the same (subscription, resource) is unfinished.
 *
 * Tenant isolation as everywhere: tenant_id on every row, composite foreign keys keep a delivery and its
 * attempts inside the tenant of its subscription and event, forced row-level security. The worker's
 * questions across tenants (which events to fan out, which deliveries are due, what to prune) are asked
 * only inside the roster_webhook_* functions below, which admit rows across tenants through
 * `roster.webhook_dispatch` for the duration of their statements (the pattern of the credential lookup
 * functions). Everything else, including recording an attempt, runs in the tenant's own transaction.
 *
 * Indexes are led by tenant_id except four partial ones that exist only for those cross-tenant worker
 * queries (undispatched and prunable events, due deliveries, expired leases).
 */
export class Migration20261122040000_webhooks extends Migration {
  override name = 'Migration20261122040000_webhooks';

  override up(): void {
    this.addSql(`
create table webhook_subscriptions (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  url text not null,
  description text,
  event_types text[] not null,
  -- AES-256-GCM under ROSTER_SECRET_KEY (see src/infra/secret-box.ts); the raw secret is needed to sign
  secret_ciphertext text not null,
  secret_prefix text not null,
  -- after a rotation with an overlap, the previous secret also signs until it expires
  previous_secret_ciphertext text,
  previous_secret_expires_at timestamptz,
  secret_rotated_at timestamptz,
  status text not null default 'active' check (status in ('active', 'disabled')),
  disabled_at timestamptz,
  disabled_reason text,
  consecutive_failures integer not null default 0,
  failing_since timestamptz,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint webhook_subscriptions_tenant_id_key unique (tenant_id, id),
  constraint webhook_subscriptions_event_types_present check (cardinality(event_types) > 0)
);
create index webhook_subscriptions_tenant_idx on webhook_subscriptions (tenant_id, created_at);

create sequence webhook_events_seq as bigint;
create table webhook_events (
  -- the id of the audit event this webhook event announces (sent as Roster-Event-Id)
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- the xid first, then the value: see "Ordering" above
  seq bigint not null default (case when pg_current_xact_id() is not null then nextval('webhook_events_seq') end),
  type text not null,
  resource_type text not null,
  resource_id uuid,
  occurred_at timestamptz not null,
  dispatched_at timestamptz,
  constraint webhook_events_tenant_id_key unique (tenant_id, id)
);
alter sequence webhook_events_seq owned by webhook_events.seq;
create index webhook_events_tenant_idx on webhook_events (tenant_id, seq);
-- worker only: the outbox queue, across tenants
create index webhook_events_undispatched_idx on webhook_events (seq) where dispatched_at is null;
create index webhook_events_dispatched_idx on webhook_events (dispatched_at) where dispatched_at is not null;

create table webhook_deliveries (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  subscription_id uuid not null,
  event_id uuid not null,
  event_seq bigint not null,
  -- '<resource type>:<resource id>': deliveries with the same key go out in event_seq order
  resource_key text not null,
  -- pending: due at next_attempt_at; delivering: leased by a worker until lease_until;
  -- held: its subscription is disabled (re-enabling makes it pending); succeeded: done
  status text not null check (status in ('pending', 'delivering', 'held', 'succeeded')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_until timestamptz,
  leased_by text,
  last_status_code integer,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint webhook_deliveries_tenant_id_key unique (tenant_id, id),
  constraint webhook_deliveries_subscription_fk foreign key (tenant_id, subscription_id)
    references webhook_subscriptions (tenant_id, id) on delete cascade,
  constraint webhook_deliveries_event_fk foreign key (tenant_id, event_id)
    references webhook_events (tenant_id, id) on delete cascade
);
-- one delivery per subscription and event (the fan-out is idempotent); also the subscription's listing
create unique index webhook_deliveries_subscription_event_key on webhook_deliveries (tenant_id, subscription_id, event_id);
create index webhook_deliveries_subscription_idx on webhook_deliveries (tenant_id, subscription_id, event_seq desc);
create index webhook_deliveries_event_idx on webhook_deliveries (tenant_id, event_id);
-- "is an earlier delivery of this resource unfinished?"
create index webhook_deliveries_chain_idx on webhook_deliveries (tenant_id, subscription_id, resource_key, event_seq)
  where status <> 'succeeded';
-- worker only: due deliveries and expired leases, across tenants
create index webhook_deliveries_due_idx on webhook_deliveries (event_seq) where status = 'pending';
create index webhook_deliveries_lease_idx on webhook_deliveries (lease_until) where status = 'delivering';

create table webhook_delivery_attempts (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  delivery_id uuid not null,
  attempt_number integer not null,
  started_at timestamptz not null,
  duration_ms integer not null,
  status_code integer,
  error text,
  -- when the next attempt is due; null after a success (or when the subscription got disabled)
  next_retry_at timestamptz,
  -- the worker that made the attempt (host:pid/n)
  worker text,
  constraint webhook_delivery_attempts_delivery_fk foreign key (tenant_id, delivery_id)
    references webhook_deliveries (tenant_id, id) on delete cascade
);
create index webhook_delivery_attempts_delivery_idx on webhook_delivery_attempts (tenant_id, delivery_id, attempt_number);

-- The fan-out's position in the outbox (no tenant data): every seq up to high_water is fanned out or
-- known to be a rollback; gap_* remember the first gap seen after it.
create table webhook_dispatch_state (
  id smallint primary key check (id = 1),
  high_water bigint not null default 0,
  gap_after bigint,
  gap_xmax xid8,
  gap_seen_at timestamptz
);
insert into webhook_dispatch_state (id) values (1);
`);
    for (const table of ['webhook_subscriptions', 'webhook_events', 'webhook_deliveries']) {
      this.addSql(`alter table ${table} enable row level security;`);
      this.addSql(`alter table ${table} force row level security;`);
      this.addSql(
        `create policy tenant_isolation on ${table} using (tenant_id = roster_current_tenant() or roster_setting_on('roster.webhook_dispatch'));`,
      );
    }
    this.addSql(`alter table webhook_delivery_attempts enable row level security;`);
    this.addSql(`alter table webhook_delivery_attempts force row level security;`);
    this.addSql(`create policy tenant_isolation on webhook_delivery_attempts using (tenant_id = roster_current_tenant());`);
    this.addSql(`alter table webhook_dispatch_state enable row level security;`);
    this.addSql(`alter table webhook_dispatch_state force row level security;`);
    this.addSql(`create policy dispatcher_only on webhook_dispatch_state using (roster_setting_on('roster.webhook_dispatch'));`);

    this.addSql(`
-- Fans undispatched outbox events out to the matching subscriptions of their tenants, in seq order
-- without skipping an unexplained gap (see the migration comment). One caller at a time (others return
-- at once). Events nobody subscribed to are deleted. Returns how many events were handled and how many
-- deliveries were created.
create function roster_webhook_fan_out(p_limit integer, p_gap_timeout_ms integer)
returns table (events integer, deliveries integer)
language plpgsql volatile as $$
declare
  st webhook_dispatch_state%rowtype;
  v_xmin xid8;
  v_xmax xid8;
  v_ids uuid[];
  v_seqs bigint[];
  v_take uuid[] := '{}';
  v_hw bigint;
  v_deliveries integer := 0;
  i integer;
begin
  if not pg_try_advisory_xact_lock(hashtextextended('roster.webhook_fan_out', 0)) then
    return query select 0, 0;
    return;
  end if;
  perform set_config('roster.webhook_dispatch', 'on', true);
  select * into st from webhook_dispatch_state where id = 1;
  v_hw := st.high_water;
  -- before the batch: every transaction older than this xmin has ended, so its rows are in the batch
  select pg_snapshot_xmin(pg_current_snapshot()) into v_xmin;
  select coalesce(array_agg(b.id order by b.seq), '{}'), coalesce(array_agg(b.seq order by b.seq), '{}') into v_ids, v_seqs
    from (select e.id, e.seq from webhook_events e where e.dispatched_at is null order by e.seq limit p_limit) b;
  -- after the batch: a transaction holding a missing value below a visible one has an xid below this
  select pg_snapshot_xmax(pg_current_snapshot()) into v_xmax;

  for i in 1 .. coalesce(array_length(v_ids, 1), 0) loop
    if v_seqs[i] <= v_hw + 1 then
      -- the next value, or one that committed after its gap was given up on
      v_take := v_take || v_ids[i];
      v_hw := greatest(v_hw, v_seqs[i]);
    elsif v_xmin >= v_xmax
       or (st.gap_after = v_hw and (v_xmin >= st.gap_xmax or st.gap_seen_at < clock_timestamp() - make_interval(secs => p_gap_timeout_ms / 1000.0))) then
      -- the gap's transactions have all ended (rollbacks: nothing was running around the batch, or
      -- everything running when the gap was first seen has ended), or it is too old to wait for
      v_take := v_take || v_ids[i];
      v_hw := v_seqs[i];
      st.gap_after := null;
    else
      if st.gap_after is distinct from v_hw then
        st.gap_after := v_hw;
        st.gap_xmax := v_xmax;
        st.gap_seen_at := clock_timestamp();
      end if;
      exit;
    end if;
  end loop;

  if array_length(v_take, 1) > 0 then
    -- FOR SHARE: a subscription being disabled or re-enabled right now is read as it ends up, and its
    -- enabling or disabling sees the deliveries created here (no delivery stays held, or pending, by a race)
    with subs as (
      select s.id, s.tenant_id, s.event_types, s.created_at, s.status from webhook_subscriptions s
       where s.tenant_id in (select e.tenant_id from webhook_events e where e.id = any (v_take))
       for share
    ), ins as (
      insert into webhook_deliveries (id, tenant_id, subscription_id, event_id, event_seq, resource_key, status, next_attempt_at)
      select gen_random_uuid(), e.tenant_id, s.id, e.id, e.seq, e.resource_type || ':' || coalesce(e.resource_id::text, e.id::text),
             case when s.status = 'active' then 'pending' else 'held' end, now()
        from webhook_events e
        join subs s on s.tenant_id = e.tenant_id and e.type = any (s.event_types) and s.created_at <= e.occurred_at
       where e.id = any (v_take)
      on conflict do nothing
      returning event_id
    ), marked as (
      update webhook_events e set dispatched_at = now() where e.id in (select event_id from ins)
    ), dropped as (
      delete from webhook_events e where e.id = any (v_take) and e.id not in (select event_id from ins)
    )
    select count(*) into v_deliveries from ins;
  end if;

  update webhook_dispatch_state set high_water = v_hw, gap_after = st.gap_after, gap_xmax = st.gap_xmax, gap_seen_at = st.gap_seen_at where id = 1;
  perform set_config('roster.webhook_dispatch', 'off', true);
  return query select coalesce(array_length(v_take, 1), 0), v_deliveries;
end $$;

-- Leases due deliveries to a worker: the oldest events first, never a delivery while an earlier one of
-- the same subscription and resource is unfinished, and no more than p_per_subscription in flight per
-- subscription across all workers (so that one slow endpoint cannot take every worker's slots; a soft
-- cap, two workers claiming at the same instant may exceed it). Deliveries whose lease expired (a worker
-- died) are due again first. Returns what the worker needs to send them.
create function roster_webhook_claim(p_limit integer, p_worker text, p_lease_ms integer, p_per_subscription integer)
returns table (
  delivery_id uuid, tenant_id uuid, subscription_id uuid, event_id uuid, attempt integer,
  url text, secret_ciphertext text, previous_secret_ciphertext text, previous_secret_expires_at timestamptz,
  event_type text, occurred_at timestamptz, resource_type text, resource_id uuid
)
language plpgsql volatile as $$
begin
  perform set_config('roster.webhook_dispatch', 'on', true);
  update webhook_deliveries d
     set status = 'pending', next_attempt_at = now(), lease_until = null, leased_by = null,
         last_error = 'the delivering worker stopped or lost its lease; retrying', updated_at = now()
   where d.status = 'delivering' and d.lease_until < now();
  return query
    with due as (
      select d.id, d.tenant_id, d.subscription_id, d.event_seq from webhook_deliveries d
       where d.status = 'pending' and d.next_attempt_at <= now()
         and not exists (
           select 1 from webhook_deliveries p
            where p.tenant_id = d.tenant_id and p.subscription_id = d.subscription_id and p.resource_key = d.resource_key
              and p.event_seq < d.event_seq and p.status <> 'succeeded')
         and exists (
           select 1 from webhook_subscriptions s where s.tenant_id = d.tenant_id and s.id = d.subscription_id and s.status = 'active')
       order by d.event_seq
       limit p_limit * 10
    ), ranked as (
      select due.id, due.event_seq,
             row_number() over (partition by due.tenant_id, due.subscription_id order by due.event_seq)
             + (select count(*) from webhook_deliveries f
                 where f.tenant_id = due.tenant_id and f.subscription_id = due.subscription_id and f.status = 'delivering') as slot
        from due
    ), picked as (
      -- locked here, not above (FOR UPDATE allows no window functions); rows another worker claimed
      -- meanwhile fail the status re-check or are skipped
      select d.id from webhook_deliveries d
       where d.id in (select r.id from ranked r where r.slot <= p_per_subscription order by r.event_seq limit p_limit)
         and d.status = 'pending'
       for update of d skip locked
    ), claimed as (
      update webhook_deliveries d
         set status = 'delivering', attempts = d.attempts + 1, leased_by = p_worker,
             lease_until = now() + make_interval(secs => p_lease_ms / 1000.0), updated_at = now()
        from picked where d.id = picked.id
      returning d.id, d.tenant_id, d.subscription_id, d.event_id, d.attempts, d.event_seq
    )
    select c.id, c.tenant_id, c.subscription_id, c.event_id, c.attempts,
           s.url, s.secret_ciphertext, s.previous_secret_ciphertext, s.previous_secret_expires_at,
           e.type, e.occurred_at, e.resource_type, e.resource_id
      from claimed c
      join webhook_subscriptions s on s.tenant_id = c.tenant_id and s.id = c.subscription_id
      join webhook_events e on e.tenant_id = c.tenant_id and e.id = c.event_id
     order by c.event_seq;
  perform set_config('roster.webhook_dispatch', 'off', true);
end $$;

-- Deletes fanned-out events older than the retention whose deliveries all succeeded (their deliveries
-- and attempts go with them). Pending and held deliveries are kept whatever their age.
create function roster_webhook_prune(p_retention_ms bigint, p_limit integer)
returns integer
language plpgsql volatile as $$
declare
  n integer;
begin
  perform set_config('roster.webhook_dispatch', 'on', true);
  with old as (
    select e.tenant_id, e.id from webhook_events e
     where e.dispatched_at is not null and e.dispatched_at < now() - make_interval(secs => p_retention_ms / 1000.0)
       and not exists (select 1 from webhook_deliveries d where d.tenant_id = e.tenant_id and d.event_id = e.id and d.status <> 'succeeded')
     limit p_limit
  )
  delete from webhook_events e using old where e.tenant_id = old.tenant_id and e.id = old.id;
  get diagnostics n = row_count;
  perform set_config('roster.webhook_dispatch', 'off', true);
  return n;
end $$;
`);
  }
}
