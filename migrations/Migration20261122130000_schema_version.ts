import { Migration } from '@mikro-orm/migrations';

/**
 * A version of each tenant's custom-attribute declarations (issue 4; docs/performance.md, round 5).
 *
 * Entering a tenant read its declarations on every request (roster_enter: `jsonb_agg(to_jsonb(c))` over
 * them), about 0.2 ms of PostgreSQL per request for a tenant with three: a third of what PostgreSQL spent on
 * a whole userName lookup. They change when an administrator declares or removes one. `tenants.schema_version`
 * now moves with every such change (a trigger on custom_attributes), and entering takes the version the
 * process holds (`<tenant id>:<version>`, or '' when it holds none): when it is the tenant's current one,
 * the declarations are not read and `custom_attributes` is null; otherwise they come with the new version.
 * The version and the declarations are read in one statement, one snapshot, so a version never names older
 * declarations than the ones it came with.
 *
 * The three-argument roster_enter and two-argument roster_enter_door stay for a process of the previous
 * release still running against this schema (they read the declarations every time, as before).
 */
export class Migration20261122130000_schema_version extends Migration {
  override name = 'Migration20261122130000_schema_version';

  override up(): void {
    this.addSql(`
alter table tenants add column schema_version bigint not null default 0;

create function roster_schema_changed() returns trigger language plpgsql security invoker as $$
begin
  update tenants t set schema_version = t.schema_version + 1 where t.id = coalesce(new.tenant_id, old.tenant_id);
  return null;
end
$$;
create trigger custom_attributes_schema_version after insert or update or delete on custom_attributes
  for each row execute function roster_schema_changed();

create function roster_enter(p_tenant text, p_operator text, p_statement_timeout text, p_known_schema text)
returns table (pid integer, xact_start text, custom_attributes jsonb, schema text)
language plpgsql volatile security invoker as $$
begin
  perform set_config('roster.tenant_id', p_tenant, true),
          set_config('roster.operator', p_operator, true),
          set_config('roster.credential_lookup', 'off', true),
          set_config('statement_timeout', p_statement_timeout, true);
  if p_tenant = '' then
    return query select pg_backend_pid(), now()::text, null::jsonb, null::text;
    return;
  end if;
  return query
    select pg_backend_pid(), now()::text,
           case when k.schema = p_known_schema then null else
             (select coalesce(jsonb_agg(to_jsonb(c) order by c.name), '[]'::jsonb) from custom_attributes c where c.tenant_id = p_tenant::uuid)
           end,
           k.schema
      from (select 1) one
      left join lateral (select p_tenant || ':' || t.schema_version as schema from tenants t where t.id = p_tenant::uuid) k on true;
end
$$;

create function roster_enter_door(p_operator_allowed boolean, p_statement_timeout text, p_known_schema text)
returns table (door jsonb, entered boolean, pid integer, xact_start text, custom_attributes jsonb, schema text)
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
    return query select d, false, pg_backend_pid(), now()::text, null::jsonb, null::text;
    return;
  end if;
  v_tenant := coalesce(d->>'tenant_id', '');
  return query select d, true, e.pid, e.xact_start, e.custom_attributes, e.schema
    from roster_enter(v_tenant, case when v_tenant = '' then 'on' else 'off' end, p_statement_timeout, p_known_schema) e;
end
$$;
`);
  }
}
