import { Migration } from '@mikro-orm/migrations';

/**
 * OAuth 2.0 token revocation (RFC 7009) for the SCIM door's access tokens: `POST /oauth/revoke`.
 *
 * The client authenticates as at the token endpoint, so that authentication moves into a function of its
 * own (`roster_oauth_client`): the client and its secret, the tenant URL, the failed-authentication limit and
 * the audit of a failure. `roster_oauth_token` keeps its signature and answers, and now calls it;
 * `roster_oauth_revoke` calls it too, then deletes the presented access token if, and only if, it was issued
 * to that client. Whatever the token (unknown, expired, already revoked, another client's), an authenticated
 * request gets the same answer (RFC 7009 §2.2), so the endpoint tells nobody which tokens exist. A
 * revocation does not take a token from the tenant's SCIM rate limit: ending a credential is never refused
 * because the tenant is busy.
 */
export class Migration20261123000000_oauth_revoke extends Migration {
  override name = 'Migration20261123000000_oauth_revoke';

  override up(): void {
    this.addSql(`
-- A client's authentication at the OAuth endpoints. Outcomes: 'ok' (the client, its secret and the
-- tenant, entered for the rest of the transaction: roster.tenant_id), 'invalid' (reason says why; recorded
-- in auth_failures), 'auth_blocked' (too many failed authentications from this address).
create function roster_oauth_client(
  p_client_id text, p_secret_hash bytea, p_host_slug text,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns table (outcome text, reason text, tenant_id uuid, client uuid, client_last_used_at timestamptz,
               secret uuid, secret_expires_at timestamptz, secret_last_used_at timestamptz, retry_after integer)
language plpgsql volatile as $$
declare
  v_ok boolean := false;
  v_reason text := 'unknown_client';
  v_tenant uuid;
  v_slug text;
  v_fail_key text;
  v_wait integer;
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
      return query select 'auth_blocked'::text, null::text, v_tenant, null::uuid, null::timestamptz, null::uuid, null::timestamptz, null::timestamptz, v_wait;
      return;
    end if;
  end if;

  if not v_ok then
    if p_fail_rate > 0 then
      perform roster_rate_take(v_fail_key, 1, p_fail_rate, p_fail_burst, true);
    end if;
    perform roster_auth_failure('oauth', v_reason, v_tenant, p_client_ip, p_prefix, p_request_id, p_user_agent, p_retention_days);
    return query select 'invalid'::text, v_reason, v_tenant, null::uuid, null::timestamptz, null::uuid, null::timestamptz, null::timestamptz, 0;
    return;
  end if;
  return query select 'ok'::text, null::text, v_tenant, c.id, c.last_used_at, s.id, s.expires_at, s.last_used_at, 0;
end $$;

-- last-used of a client and of its secret is informational: written at most once a minute.
create function roster_oauth_used(p_client uuid, p_client_last timestamptz, p_secret uuid, p_secret_last timestamptz)
returns void language plpgsql volatile as $$
begin
  if p_client_last is null or p_client_last < now() - interval '1 minute' then
    update oauth_clients oc set last_used_at = now() where oc.id = p_client;
  end if;
  if p_secret_last is null or p_secret_last < now() - interval '1 minute' then
    update oauth_client_secrets cs set last_used_at = now() where cs.id = p_secret;
  end if;
end $$;

-- The token endpoint, as before (same arguments, same answers), over roster_oauth_client.
create or replace function roster_oauth_token(
  p_client_id text, p_secret_hash bytea, p_token_hash bytea, p_token_prefix text, p_ttl_seconds integer, p_host_slug text,
  p_rate double precision, p_burst double precision,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns table (outcome text, reason text, tenant_id uuid, client uuid, expires_in integer, retry_after integer)
language plpgsql volatile as $$
declare
  a record;
  v_take record;
  v_expires timestamptz;
begin
  select * into a from roster_oauth_client(p_client_id, p_secret_hash, p_host_slug, p_fail_rate, p_fail_burst, p_retention_days,
                                           p_client_ip, p_prefix, p_request_id, p_user_agent);
  if a.outcome <> 'ok' then
    return query select a.outcome, a.reason, a.tenant_id, null::uuid, null::integer, a.retry_after;
    return;
  end if;

  if p_rate > 0 then
    select * into v_take from roster_rate_take('t:' || a.tenant_id::text || ':scim', 1, p_rate, p_burst, false);
    if not v_take.allowed then
      return query select 'rate_limited'::text, null::text, a.tenant_id, a.client, null::integer, v_take.retry_after;
      return;
    end if;
  end if;

  v_expires := least(now() + make_interval(secs => p_ttl_seconds), coalesce(a.secret_expires_at, 'infinity'::timestamptz));
  insert into oauth_access_tokens (id, tenant_id, client_id, secret_id, token_hash, prefix, issued_at, expires_at)
  values (gen_random_uuid(), a.tenant_id, a.client, a.secret, p_token_hash, p_token_prefix, now(), v_expires);
  -- Expired tokens are kept a day (a late request is then refused as expired, not unknown), then pruned.
  delete from oauth_access_tokens t where t.tenant_id = a.tenant_id and t.client_id = a.client and t.expires_at < now() - interval '1 day';
  perform roster_oauth_used(a.client, a.client_last_used_at, a.secret, a.secret_last_used_at);
  return query select 'ok'::text, null::text, a.tenant_id, a.client, greatest(1, floor(extract(epoch from v_expires - now())))::integer, 0;
end $$;

-- RFC 7009: the authenticated client's access token p_token_hash ends now. Outcomes as roster_oauth_client's;
-- 'ok' whether or not there was such a token of this client (revoked: how many rows went, for the log).
create function roster_oauth_revoke(
  p_client_id text, p_secret_hash bytea, p_token_hash bytea, p_host_slug text,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns table (outcome text, reason text, tenant_id uuid, revoked integer, retry_after integer)
language plpgsql volatile as $$
declare
  a record;
  v_revoked integer;
begin
  select * into a from roster_oauth_client(p_client_id, p_secret_hash, p_host_slug, p_fail_rate, p_fail_burst, p_retention_days,
                                           p_client_ip, p_prefix, p_request_id, p_user_agent);
  if a.outcome <> 'ok' then
    return query select a.outcome, a.reason, a.tenant_id, 0, a.retry_after;
    return;
  end if;
  delete from oauth_access_tokens t where t.token_hash = p_token_hash and t.tenant_id = a.tenant_id and t.client_id = a.client;
  get diagnostics v_revoked = row_count;
  perform roster_oauth_used(a.client, a.client_last_used_at, a.secret, a.secret_last_used_at);
  return query select 'ok'::text, null::text, a.tenant_id, v_revoked, 0;
end $$;
`);
  }
}
