import { Migration } from '@mikro-orm/migrations';

/**
 * OAuth 2.0 client credentials for the SCIM door (RFC 6749 §4.4), as Microsoft Entra requires of gallery
 * apps. A tenant has OAuth clients (public `client_id`), each with one or more secrets (several only
 * during a rotation's overlap), and the access tokens issued to them. Secrets and access tokens are
 * stored as SHA-256 digests only, like every other credential: both are 256-bit random values.
 *
 * An access token is valid while it has not expired, and while its client and the secret it was issued
 * with are not revoked; its expiry is capped at its secret's, so a rotation's overlap also ends the
 * tokens issued with the previous secret, and `expires_in` tells the client when to ask again.
 *
 * `roster_oauth_token` is the token endpoint's one round trip: client authentication, the
 * failed-authentication limit, the tenant's SCIM rate limit, the insert, pruning of the client's long
 * expired tokens, last-used. Tenant isolation as everywhere: tenant_id on every row, composite foreign
 * keys, forced row-level security with the credential-lookup window for lookups by hash.
 */
export class Migration20261122060000_oauth extends Migration {
  override name = 'Migration20261122060000_oauth';

  override up(): void {
    this.addSql(`
create table oauth_clients (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  client_id text not null,
  name text not null,
  created_by text,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
create unique index oauth_clients_client_id_key on oauth_clients (client_id);
create unique index oauth_clients_tenant_id_key on oauth_clients (tenant_id, id);
create index oauth_clients_tenant_idx on oauth_clients (tenant_id, created_at);

create table oauth_client_secrets (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  client_id uuid not null,
  secret_hash bytea not null,
  prefix text not null,
  created_by text,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  constraint oauth_client_secrets_client_fk foreign key (tenant_id, client_id) references oauth_clients (tenant_id, id) on delete cascade
);
create unique index oauth_client_secrets_secret_key on oauth_client_secrets (secret_hash);
create unique index oauth_client_secrets_tenant_id_key on oauth_client_secrets (tenant_id, id);
create index oauth_client_secrets_client_idx on oauth_client_secrets (tenant_id, client_id, created_at);

create table oauth_access_tokens (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  client_id uuid not null,
  secret_id uuid not null,
  token_hash bytea not null,
  prefix text not null,
  issued_at timestamptz not null default now(),
  expires_at timestamptz not null,
  constraint oauth_access_tokens_client_fk foreign key (tenant_id, client_id) references oauth_clients (tenant_id, id) on delete cascade,
  constraint oauth_access_tokens_secret_fk foreign key (tenant_id, secret_id) references oauth_client_secrets (tenant_id, id) on delete cascade
);
create unique index oauth_access_tokens_token_key on oauth_access_tokens (token_hash);
create index oauth_access_tokens_client_idx on oauth_access_tokens (tenant_id, client_id, expires_at);
create index oauth_access_tokens_secret_idx on oauth_access_tokens (tenant_id, secret_id);
`);
    for (const table of ['oauth_clients', 'oauth_client_secrets', 'oauth_access_tokens']) {
      this.addSql(`alter table ${table} enable row level security;`);
      this.addSql(`alter table ${table} force row level security;`);
      this.addSql(
        `create policy tenant_isolation on ${table} using (tenant_id = roster_current_tenant() or roster_setting_on('roster.credential_lookup'));`,
      );
    }
    this.addSql(`
-- The token endpoint in one round trip. Outcomes: 'ok' (token stored; expires_in), 'invalid' (401
-- invalid_client; reason says why), 'auth_blocked' (too many failed authentications from this address),
-- 'rate_limited' (the tenant's SCIM bucket is empty). A token request counts as a SCIM request.
create function roster_oauth_token(
  p_client_id text, p_secret_hash bytea, p_token_hash bytea, p_token_prefix text, p_ttl_seconds integer, p_host_slug text,
  p_rate double precision, p_burst double precision,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns table (outcome text, reason text, tenant_id uuid, client uuid, expires_in integer, retry_after integer)
language plpgsql volatile as $$
declare
  v_ok boolean := false;
  v_reason text := 'unknown_client';
  v_tenant uuid;
  v_slug text;
  v_fail_key text;
  v_wait integer;
  v_take record;
  v_expires timestamptz;
  c record;
  s record;
begin
  perform set_config('roster.credential_lookup', 'on', true);
  select oc.id, oc.tenant_id, oc.revoked_at, oc.last_used_at into c from oauth_clients oc where oc.client_id = p_client_id;
  if c.id is not null then
    v_tenant := c.tenant_id;
    select cs.id, cs.revoked_at, cs.expires_at, cs.last_used_at into s
      from oauth_client_secrets cs where cs.secret_hash = p_secret_hash and cs.client_id = c.id;
    if c.revoked_at is not null then v_reason := 'revoked';
    elsif s.id is null then v_reason := 'invalid_secret';
    elsif s.revoked_at is not null then v_reason := 'revoked';
    elsif s.expires_at is not null and s.expires_at <= now() then v_reason := 'expired';
    else v_ok := true;
    end if;
  end if;
  perform set_config('roster.credential_lookup', 'off', true);

  if v_tenant is not null then
    perform set_config('roster.tenant_id', v_tenant::text, true);
    select t.slug into v_slug from tenants t where t.id = v_tenant;
  end if;
  if v_ok and p_host_slug is not null and v_slug is distinct from p_host_slug then
    v_ok := false;
    v_reason := 'wrong_tenant';
  end if;

  if p_fail_rate > 0 then
    v_fail_key := roster_fail_key('oauth', p_client_ip, p_host_slug, v_slug);
    v_wait := roster_rate_wait(v_fail_key, p_fail_rate, p_fail_burst);
    if v_wait > 0 then
      return query select 'auth_blocked'::text, null::text, v_tenant, null::uuid, null::integer, v_wait;
      return;
    end if;
  end if;

  if not v_ok then
    if p_fail_rate > 0 then
      perform roster_rate_take(v_fail_key, 1, p_fail_rate, p_fail_burst, true);
    end if;
    perform roster_auth_failure('oauth', v_reason, v_tenant, p_client_ip, p_prefix, p_request_id, p_user_agent, p_retention_days);
    return query select 'invalid'::text, v_reason, v_tenant, null::uuid, null::integer, 0;
    return;
  end if;

  if p_rate > 0 then
    select * into v_take from roster_rate_take('t:' || v_tenant::text || ':scim', 1, p_rate, p_burst, false);
    if not v_take.allowed then
      return query select 'rate_limited'::text, null::text, v_tenant, c.id, null::integer, v_take.retry_after;
      return;
    end if;
  end if;

  v_expires := least(now() + make_interval(secs => p_ttl_seconds), coalesce(s.expires_at, 'infinity'::timestamptz));
  insert into oauth_access_tokens (id, tenant_id, client_id, secret_id, token_hash, prefix, issued_at, expires_at)
  values (gen_random_uuid(), v_tenant, c.id, s.id, p_token_hash, p_token_prefix, now(), v_expires);
  -- Expired tokens are kept a day (a late request is then refused as expired, not unknown), then pruned.
  delete from oauth_access_tokens t where t.tenant_id = v_tenant and t.client_id = c.id and t.expires_at < now() - interval '1 day';
  if c.last_used_at is null or c.last_used_at < now() - interval '1 minute' then
    update oauth_clients oc set last_used_at = now() where oc.id = c.id;
  end if;
  if s.last_used_at is null or s.last_used_at < now() - interval '1 minute' then
    update oauth_client_secrets cs set last_used_at = now() where cs.id = s.id;
  end if;
  return query select 'ok'::text, null::text, v_tenant, c.id, greatest(1, floor(extract(epoch from v_expires - now())))::integer, 0;
end $$;
`);
  }
}
