import { Migration } from '@mikro-orm/migrations';

/**
 * Per-tenant rate limits and the audit of failed authentications, shared by every Roster process through
 * PostgreSQL (no other service).
 *
 * `rate_limits` holds one token bucket per key: `t:<tenant>:scim`, `t:<tenant>:graphql` (the tenant's
 * budget at each door) and `fail:<door>:<client ip>:<tenant slug or *>` (failed authentications). A
 * bucket holds at most `burst` tokens and refills at `rate` per second; a missing row is a full bucket,
 * so stale rows can be deleted at any time. The clock is the database's, the same for every process.
 *
 * Contention. A tenant's requests all update one row. The update is an autocommit statement of its own
 * (run before the request's transaction, see `roster_door`), so the row lock is held for the few
 * microseconds of that statement, never for the length of a request. The table is UNLOGGED (no WAL, no
 * fsync at commit; emptied after a crash or on a failover, which only refills every bucket) with
 * fillfactor 50 so the updates stay HOT (in-page, no index churn).
 *
 * `auth_failures` aggregates failed authentications per minute, door, client address, presented
 * credential prefix and reason (with the tenant when the credential names one, e.g. a revoked token):
 * bounded growth under attack, pruned after the retention period. Operators see every row, a tenant
 * the rows attributed to it.
 *
 * `roster_door` authenticates a presented credential, enforces the failed-authentication limit, takes a
 * token from the tenant's bucket, records a failure and refreshes last-used, in one round trip. It runs
 * before the request's transaction; the request then enters the tenant itself.
 */
export class Migration20261122050000_rate_limits extends Migration {
  override name = 'Migration20261122050000_rate_limits';

  override up(): void {
    this.addSql(`
create unlogged table rate_limits (
  key text primary key,
  tokens double precision not null,
  allowed boolean not null,
  updated_at timestamptz not null
) with (fillfactor = 50);
alter table rate_limits enable row level security;
alter table rate_limits force row level security;
create policy rate_limiter on rate_limits using (roster_setting_on('roster.rate_limit'));

create table auth_failures (
  id uuid primary key default gen_random_uuid(),
  window_start timestamptz not null,
  door text not null check (door in ('scim', 'graphql', 'oauth')),
  client_ip text not null,
  credential_prefix text not null,
  reason text not null,
  tenant_id uuid references tenants (id) on delete cascade,
  attempts integer not null default 1,
  first_at timestamptz not null,
  last_at timestamptz not null,
  last_request_id text,
  user_agent text
);
create unique index auth_failures_window_key on auth_failures
  (window_start, door, client_ip, credential_prefix, reason, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid));
create index auth_failures_tenant_idx on auth_failures (tenant_id, last_at desc) where tenant_id is not null;
create index auth_failures_last_idx on auth_failures (last_at desc);
alter table auth_failures enable row level security;
alter table auth_failures force row level security;
create policy auth_failures_visibility on auth_failures using (
  tenant_id = roster_current_tenant() or roster_setting_on('roster.operator') or roster_setting_on('roster.auth_audit'));

-- Takes p_cost tokens from bucket p_key (capacity p_burst, refill p_rate per second) if it holds them;
-- p_force takes them regardless (the balance may go negative: a debt later requests wait out). One
-- INSERT … ON CONFLICT DO UPDATE: atomic, the row lock held only while it runs.
create function roster_rate_take(p_key text, p_cost double precision, p_rate double precision, p_burst double precision, p_force boolean)
returns table (allowed boolean, tokens double precision, retry_after integer)
language plpgsql volatile as $$
declare
  r record;
begin
  perform set_config('roster.rate_limit', 'on', true);
  insert into rate_limits as b (key, tokens, allowed, updated_at)
  values (p_key, case when p_force or p_burst >= p_cost then p_burst - p_cost else p_burst end, p_force or p_burst >= p_cost, clock_timestamp())
  on conflict (key) do update set (tokens, allowed, updated_at) = (
    select case when p_force or v.avail >= p_cost then v.avail - p_cost else v.avail end, p_force or v.avail >= p_cost, v.at
      from (select least(p_burst, b.tokens + greatest(0, extract(epoch from c.at - b.updated_at)) * p_rate) as avail, c.at
              from (select greatest(b.updated_at, clock_timestamp()) as at) c) v)
  returning b.tokens, b.allowed into r;
  perform set_config('roster.rate_limit', 'off', true);
  allowed := r.allowed;
  tokens := r.tokens;
  retry_after := case when r.allowed then 0 when p_rate <= 0 then 3600 else least(86400, greatest(1, ceil((p_cost - r.tokens) / p_rate)))::integer end;
  return next;
end $$;

-- Seconds until bucket p_key holds one token again (0: it does now). Read-only: takes no lock.
create function roster_rate_wait(p_key text, p_rate double precision, p_burst double precision)
returns integer
language plpgsql volatile as $$
declare
  v_avail double precision;
begin
  perform set_config('roster.rate_limit', 'on', true);
  select least(p_burst, b.tokens + greatest(0, extract(epoch from clock_timestamp() - b.updated_at)) * p_rate) into v_avail
    from rate_limits b where b.key = p_key;
  perform set_config('roster.rate_limit', 'off', true);
  if v_avail is null or v_avail >= 1 then
    return 0;
  end if;
  if p_rate <= 0 then
    return 3600;
  end if;
  return least(86400, greatest(1, ceil((1 - v_avail) / p_rate)))::integer;
end $$;

-- Records one failed authentication (aggregated per minute) and now and then prunes old rows.
create function roster_auth_failure(p_door text, p_reason text, p_tenant uuid, p_client_ip text, p_prefix text,
                                    p_request_id text, p_user_agent text, p_retention_days integer)
returns void
language plpgsql volatile as $$
begin
  perform set_config('roster.auth_audit', 'on', true);
  insert into auth_failures as f (window_start, door, client_ip, credential_prefix, reason, tenant_id, attempts, first_at, last_at, last_request_id, user_agent)
  values (date_trunc('minute', now()), p_door, left(coalesce(p_client_ip, ''), 64), left(coalesce(p_prefix, ''), 64), p_reason, p_tenant, 1, now(), now(),
          left(p_request_id, 128), left(p_user_agent, 200))
  on conflict (window_start, door, client_ip, credential_prefix, reason, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))
  do update set attempts = f.attempts + 1, last_at = excluded.last_at, last_request_id = excluded.last_request_id, user_agent = excluded.user_agent;
  if random() < 0.02 then
    delete from auth_failures a where a.last_at < now() - make_interval(days => p_retention_days);
    perform set_config('roster.rate_limit', 'on', true);
    -- a missing bucket is a full one: rows untouched for a day are full (or nearly) anyway
    delete from rate_limits b where b.updated_at < now() - interval '1 day';
    perform set_config('roster.rate_limit', 'off', true);
  end if;
  perform set_config('roster.auth_audit', 'off', true);
end $$;

-- The failed-authentication bucket of a request: per door and client address, and per tenant when the
-- URL names an existing tenant (so a misconfigured tenant behind a shared IdP address blocks only itself).
create function roster_fail_key(p_door text, p_client_ip text, p_host_slug text, p_known_slug text)
returns text
language plpgsql volatile as $$
declare
  v_slug text := null;
begin
  if p_host_slug is not null then
    if p_host_slug = p_known_slug then
      v_slug := p_host_slug;
    else
      perform set_config('roster.operator', 'on', true);
      select t.slug into v_slug from tenants t where t.slug = p_host_slug;
      perform set_config('roster.operator', 'off', true);
    end if;
  end if;
  return 'fail:' || p_door || ':' || coalesce(p_client_ip, '') || ':' || coalesce(v_slug, '*');
end $$;

-- Authentication at a door in one round trip, run as its own (autocommit) statement before the request's
-- transaction. p_kind: 'bearer' | 'basic' (SCIM credentials), 'oauth' (SCIM OAuth access token),
-- 'api_key' (GraphQL). Outcomes: 'ok', 'invalid' (401; reason says why), 'auth_blocked' (too many failed
-- authentications from this address: 429), 'rate_limited' (the tenant's bucket is empty: 429).
-- A zero rate disables the corresponding limit. The 'oauth' branch reads the tables of the next migration
-- (PL/pgSQL resolves tables when a statement first runs, not at creation).
create function roster_door(
  p_door text, p_kind text, p_hash bytea, p_username_hash bytea, p_host_slug text,
  p_rate double precision, p_burst double precision,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns table (outcome text, reason text, tenant_id uuid, tenant_slug text, actor_kind text, actor_id uuid, actor_label text,
               permissions text[], retry_after integer, remaining double precision)
language plpgsql volatile as $$
declare
  v_ok boolean := false;
  v_reason text := 'unknown_credential';
  v_tenant uuid;
  v_slug text;
  v_kind text;
  v_actor uuid;
  v_label text;
  v_perms text[];
  v_last_used timestamptz;
  v_wait integer;
  v_fail_key text;
  v_take record;
  c record;
begin
  -- Bucket and last-used writes need no durability: never wait for a WAL flush at this commit.
  perform set_config('synchronous_commit', 'off', true);
  perform set_config('roster.credential_lookup', 'on', true);
  if p_kind in ('bearer', 'basic') then
    select sc.id, sc.tenant_id, sc.kind, sc.prefix, sc.last_used_at, sc.revoked_at, sc.expires_at,
           coalesce(sha256(convert_to(sc.basic_username, 'UTF8')) = p_username_hash, false) as user_ok
      into c from scim_credentials sc where sc.secret_hash = p_hash;
    if c.id is not null then
      v_tenant := c.tenant_id;
      if c.kind <> p_kind or (p_kind = 'basic' and not c.user_ok) then v_reason := 'unknown_credential';
      elsif c.revoked_at is not null then v_reason := 'revoked';
      elsif c.expires_at is not null and c.expires_at <= now() then v_reason := 'expired';
      else
        v_ok := true; v_kind := 'scim_credential'; v_actor := c.id; v_label := 'SCIM ' || c.kind || ' ' || c.prefix || '…';
        v_perms := array['directory:read', 'directory:write']; v_last_used := c.last_used_at;
      end if;
    end if;
  elsif p_kind = 'oauth' then
    select t.id, t.tenant_id, t.expires_at, oc.id as client, oc.client_id, oc.revoked_at as client_revoked, s.revoked_at as secret_revoked, oc.last_used_at
      into c
      from oauth_access_tokens t
      join oauth_clients oc on oc.id = t.client_id
      join oauth_client_secrets s on s.id = t.secret_id
     where t.token_hash = p_hash;
    if c.id is not null then
      v_tenant := c.tenant_id;
      if c.client_revoked is not null or c.secret_revoked is not null then v_reason := 'revoked';
      elsif c.expires_at <= now() then v_reason := 'expired';
      else
        v_ok := true; v_kind := 'oauth_client'; v_actor := c.client; v_label := 'SCIM OAuth client ' || c.client_id;
        v_perms := array['directory:read', 'directory:write']; v_last_used := c.last_used_at;
      end if;
    end if;
  elsif p_kind = 'api_key' then
    select ak.id, ak.tenant_id, ak.name, ak.permissions, ak.last_used_at, ak.revoked_at into c from api_keys ak where ak.secret_hash = p_hash;
    if c.id is not null then
      v_tenant := c.tenant_id;
      if c.revoked_at is not null then v_reason := 'revoked';
      else
        v_ok := true; v_kind := case when c.tenant_id is null then 'operator' else 'api_key' end; v_actor := c.id; v_label := c.name;
        v_perms := c.permissions; v_last_used := c.last_used_at;
      end if;
    end if;
  end if;
  perform set_config('roster.credential_lookup', 'off', true);

  if v_tenant is not null then
    perform set_config('roster.tenant_id', v_tenant::text, true);
    select t.slug into v_slug from tenants t where t.id = v_tenant;
  end if;
  if v_ok and p_host_slug is not null and v_tenant is not null and v_slug is distinct from p_host_slug then
    v_ok := false;
    v_reason := 'wrong_tenant';
  end if;

  -- Too many failed authentications from this address (for this tenant's URL): refused, whatever is presented.
  if p_fail_rate > 0 then
    v_fail_key := roster_fail_key(p_door, p_client_ip, p_host_slug, v_slug);
    v_wait := roster_rate_wait(v_fail_key, p_fail_rate, p_fail_burst);
    if v_wait > 0 then
      return query select 'auth_blocked'::text, null::text, v_tenant, null::text, null::text, null::uuid, null::text, null::text[], v_wait, null::double precision;
      return;
    end if;
  end if;

  if not v_ok then
    if p_fail_rate > 0 then
      perform roster_rate_take(v_fail_key, 1, p_fail_rate, p_fail_burst, true);
    end if;
    perform roster_auth_failure(p_door, v_reason, v_tenant, p_client_ip, p_prefix, p_request_id, p_user_agent, p_retention_days);
    return query select 'invalid'::text, v_reason, v_tenant, null::text, null::text, null::uuid, null::text, null::text[], 0, null::double precision;
    return;
  end if;

  -- last-used is informational: written at most once a minute per credential.
  if v_last_used is null or v_last_used < now() - interval '1 minute' then
    if v_kind = 'scim_credential' then
      update scim_credentials sc set last_used_at = now() where sc.id = v_actor;
    elsif v_kind = 'oauth_client' then
      update oauth_clients oc set last_used_at = now() where oc.id = v_actor;
    elsif v_kind = 'api_key' then
      update api_keys ak set last_used_at = now() where ak.id = v_actor;
    else
      perform set_config('roster.operator', 'on', true);
      update api_keys ak set last_used_at = now() where ak.id = v_actor;
      perform set_config('roster.operator', 'off', true);
    end if;
  end if;

  if v_tenant is not null and p_rate > 0 then
    select * into v_take from roster_rate_take('t:' || v_tenant::text || ':' || p_door, 1, p_rate, p_burst, false);
    if not v_take.allowed then
      return query select 'rate_limited'::text, null::text, v_tenant, v_slug, v_kind, v_actor, v_label, v_perms, v_take.retry_after, v_take.tokens;
      return;
    end if;
    return query select 'ok'::text, null::text, v_tenant, v_slug, v_kind, v_actor, v_label, v_perms, 0, v_take.tokens;
    return;
  end if;
  return query select 'ok'::text, null::text, v_tenant, v_slug, v_kind, v_actor, v_label, v_perms, 0, null::double precision;
end $$;
`);
  }
}
