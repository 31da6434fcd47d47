import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Migration20261122000000_initial } from '../../../migrations/Migration20261122000000_initial.js';
import { TenantSchema } from '../../modules/tenants/tenant.entity.js';
import { UserSchema } from '../../modules/users/user.entity.js';
import { TeamSchema } from '../../modules/teams/team.entity.js';
import { RoleSchema } from '../../modules/roles/role.entity.js';
import { CustomAttributeSchema } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { ApiKeySchema, ScimCredentialSchema } from '../../modules/credentials/credential.entity.js';
import { AuditEventSchema } from '../../modules/audit/audit-event.entity.js';

/** Every migration, in order. Listed explicitly so that nothing depends on globbing files at run time. */
export const migrations = [{ name: 'Migration20261122000000_initial', class: Migration20261122000000_initial }];

export interface OrmOptions {
  url: string;
  poolMax?: number;
  debug?: boolean;
  /** Where the ORM's own messages (migrator progress) go; stdout stays clean for CLI output. */
  logger?: (message: string) => void;
}

export async function createOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(
    defineConfig({
      clientUrl: opts.url,
      entities: [TenantSchema, UserSchema, TeamSchema, RoleSchema, CustomAttributeSchema, ScimCredentialSchema, ApiKeySchema, AuditEventSchema],
      extensions: [Migrator],
      migrations: {
        migrationsList: migrations,
        tableName: 'roster_migrations',
        transactional: true,
        allOrNothing: true,
        // The schema is hand-written SQL (partial/expression indexes, RLS); there is no entity snapshot to diff.
        snapshot: false,
      },
      pool: { min: 0, max: opts.poolMax ?? 10 },
      debug: opts.debug ?? false,
      logger: opts.logger ?? (() => {}),
      // Request code must always work on a fork bound to the request's transaction (see http/tenant-scope).
      allowGlobalContext: false,
      forceUtcTimezone: true,
      // Every tenant-owned entity is filtered by the scope's tenant (set in infra/orm/session.ts); raw SQL
      // names tenant_id itself, and row-level security backs both up.
      filters: {
        tenant: {
          name: 'tenant',
          cond: (args: { tenantId: string }) => ({ tenantId: args.tenantId }),
          entity: ['User', 'Team', 'Role', 'CustomAttribute', 'AuditEvent'],
          default: true,
        },
      },
    }),
  );
}

export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.migrator.up();
  return done.map((m) => m.name);
}
