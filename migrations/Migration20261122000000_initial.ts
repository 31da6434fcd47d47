import { Migration } from '@mikro-orm/migrations';

/**
 * The initial schema. Written by hand, not generated: what matters here (partial and expression unique
 * indexes, row-level security policies) is not something the entity metadata can express.
 *
 * Tenant isolation has two layers:
 * 1. every query the application issues names tenant_id (ORM filter, or an explicit predicate in SQL);
 * 2. row-level security, FORCED so that it also applies to the owner role the application connects as,
 *    keyed on the transaction-local setting `roster.tenant_id` that the request scope sets. A query that
 *    forgot layer 1 sees nothing of other tenants instead of everything.
 * Credential lookups by secret hash happen before the tenant is known; those two tables additionally
 * admit rows while `roster.credential_lookup = 'on'`, which only the authenticator sets.
 */
export class Migration20261122000000_initial extends Migration {
  override name = 'Migration20261122000000_initial';

  override up(): void {
    this.addSql(`
create function roster_current_tenant() returns uuid language sql stable as
  $$ select nullif(current_setting('roster.tenant_id', true), '')::uuid $$;
create function roster_setting_on(name text) returns boolean language sql stable as
  $$ select coalesce(current_setting(name, true), '') = 'on' $$;

create table tenants (
  id uuid primary key,
  slug text not null,
  display_name text not null,
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tenants_slug_format check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')
);
create unique index tenants_slug_key on tenants (slug);

create table teams (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text,
  parent_id uuid,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint teams_parent_fk foreign key (parent_id) references teams (id) on delete set null
);
create unique index teams_name_key on teams (tenant_id, lower(name));
create index teams_parent_idx on teams (tenant_id, parent_id);

create table users (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  user_name text not null,
  external_id text,
  given_name text, family_name text, middle_name text, formatted_name text,
  honorific_prefix text, honorific_suffix text,
  display_name text, nick_name text, profile_url text, title text, user_type text,
  preferred_language text, locale text, timezone text,
  active boolean not null default true,
  emails jsonb not null default '[]',
  phone_numbers jsonb not null default '[]',
  addresses jsonb not null default '[]',
  employee_number text, cost_center text, organization text, division text,
  team_id uuid references teams (id) on delete set null,
  manager_id uuid references users (id) on delete set null,
  -- the manager reference (Roster id or externalId) while no such user exists yet; null once resolved
  manager_ref text,
  custom jsonb not null default '{}',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deactivated_at timestamptz,
  deleted_at timestamptz,
  erased_at timestamptz,
  constraint users_no_self_manager check (manager_id is null or manager_id <> id)
);
-- userName and externalId are unique among users that are not deleted: a tombstone frees them.
create unique index users_user_name_key on users (tenant_id, lower(user_name)) where deleted_at is null;
create unique index users_external_id_key on users (tenant_id, external_id) where deleted_at is null;
create index users_tenant_id_idx on users (tenant_id, id);
create index users_manager_idx on users (tenant_id, manager_id);
create index users_manager_ref_idx on users (tenant_id, manager_ref) where manager_ref is not null;
create index users_team_idx on users (tenant_id, team_id);
create index users_updated_idx on users (tenant_id, updated_at);
create index users_created_idx on users (tenant_id, created_at);
create index users_emails_idx on users using gin (emails jsonb_path_ops);

create table roles (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  display_name text not null,
  external_id text,
  description text,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index roles_display_name_key on roles (tenant_id, lower(display_name));
create unique index roles_external_id_key on roles (tenant_id, external_id);
create index roles_tenant_id_idx on roles (tenant_id, id);

create table role_members (
  tenant_id uuid not null references tenants (id) on delete cascade,
  role_id uuid not null references roles (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (role_id, user_id)
);
create index role_members_user_idx on role_members (tenant_id, user_id);

create table custom_attributes (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  type text not null check (type in ('string', 'boolean', 'decimal', 'integer', 'dateTime')),
  multi_valued boolean not null default false,
  description text,
  created_at timestamptz not null default now(),
  constraint custom_attributes_name_format check (name ~ '^[A-Za-z][A-Za-z0-9_-]{0,63}$')
);
create unique index custom_attributes_name_key on custom_attributes (tenant_id, lower(name));

-- Secrets are stored as SHA-256 of a 256-bit random value: a slow hash adds nothing for secrets
-- that cannot be guessed, and lookups stay one index probe.
create table scim_credentials (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  kind text not null check (kind in ('bearer', 'basic')),
  secret_hash bytea not null,
  basic_username text,
  prefix text not null,
  created_by text,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
create unique index scim_credentials_secret_key on scim_credentials (secret_hash);
create index scim_credentials_tenant_idx on scim_credentials (tenant_id, created_at);

create table api_keys (
  id uuid primary key,
  -- null for operator keys, which manage tenants and see nothing inside them
  tenant_id uuid references tenants (id) on delete cascade,
  name text not null,
  permissions text[] not null,
  secret_hash bytea not null,
  prefix text not null,
  created_by text,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
create unique index api_keys_secret_key on api_keys (secret_hash);
create index api_keys_tenant_idx on api_keys (tenant_id, created_at);

create table audit_events (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  door text not null check (door in ('graphql', 'scim', 'cli', 'system')),
  actor_kind text not null,
  actor_id uuid,
  actor_label text,
  action text not null,
  target_type text not null,
  target_id uuid,
  changes jsonb not null default '{}',
  request_id text
);
create index audit_events_tenant_idx on audit_events (tenant_id, occurred_at desc, id desc);
create index audit_events_target_idx on audit_events (tenant_id, target_id, occurred_at desc);

alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenant_self on tenants
  using (id = roster_current_tenant() or roster_setting_on('roster.operator'));
`);
    for (const table of ['teams', 'users', 'roles', 'role_members', 'custom_attributes', 'audit_events']) {
      this.addSql(`alter table ${table} enable row level security;`);
      this.addSql(`alter table ${table} force row level security;`);
      this.addSql(`create policy tenant_isolation on ${table} using (tenant_id = roster_current_tenant());`);
    }
    for (const table of ['scim_credentials', 'api_keys']) {
      this.addSql(`alter table ${table} enable row level security;`);
      this.addSql(`alter table ${table} force row level security;`);
      this.addSql(
        `create policy tenant_isolation on ${table} using (` +
          `tenant_id = roster_current_tenant() or roster_setting_on('roster.credential_lookup')` +
          (table === 'api_keys' ? ` or (tenant_id is null and roster_setting_on('roster.operator'))` : '') +
          `);`,
      );
    }
  }
}
