import { Migration } from '@mikro-orm/migrations';

/**
 * The door and the request's transaction in one round trip (issue 4; docs/performance.md).
 *
 * A request passes the door (`roster_door`: authentication, rate limits, last-used; committed on its own,
 * so the bucket's row lock lasts microseconds, not the request) and then enters its tenant in the request's
 * transaction (`roster_enter`). The tenant is the door's answer, so the two were two round trips. Now they
 * travel as one simple-protocol message:
 *
 *   begin; select roster_door_keep(…); commit; begin [read only]; select * from roster_enter_door(…)
 *
 * PostgreSQL runs them in order: the door in a transaction of its own, committed at once as before; the
 * door's row kept in the session (`roster.door`); then the request's transaction, which enters the tenant
 * the door admitted and answers the door's row with what roster_enter answers. A door that refused, or a
 * door without a tenant where none is allowed, enters nothing: the caller answers 401 or 429.
 */
export class Migration20261122100000_door_enter extends Migration {
  override name = 'Migration20261122100000_door_enter';

  override up(): void {
    this.addSql(`
create function roster_door_keep(
  p_door text, p_kind text, p_hash bytea, p_username_hash bytea, p_host_slug text,
  p_rate double precision, p_burst double precision,
  p_fail_rate double precision, p_fail_burst double precision, p_retention_days integer,
  p_client_ip text, p_prefix text, p_request_id text, p_user_agent text)
returns void language plpgsql volatile as $$
begin
  perform set_config('roster.door', (
    select to_jsonb(d)::text from roster_door(p_door, p_kind, p_hash, p_username_hash, p_host_slug, p_rate, p_burst,
      p_fail_rate, p_fail_burst, p_retention_days, p_client_ip, p_prefix, p_request_id, p_user_agent) d), false);
end
$$;

create function roster_enter_door(p_operator_allowed boolean, p_statement_timeout text)
returns table (door jsonb, entered boolean, pid integer, xact_start text, custom_attributes jsonb)
language plpgsql volatile security invoker as $$
declare
  d jsonb := nullif(current_setting('roster.door', true), '')::jsonb;
  v_tenant text;
begin
  perform set_config('roster.door', '', false);
  if d is null then
    raise exception 'roster_enter_door: no door was passed in this session';
  end if;
  if d->>'outcome' <> 'ok' or (d->>'tenant_id' is null and not p_operator_allowed) then
    return query select d, false, pg_backend_pid(), now()::text, null::jsonb;
    return;
  end if;
  v_tenant := coalesce(d->>'tenant_id', '');
  return query select d, true, e.pid, e.xact_start, e.custom_attributes
    from roster_enter(v_tenant, case when v_tenant = '' then 'on' else 'off' end, p_statement_timeout) e;
end
$$;
`);
  }
}
