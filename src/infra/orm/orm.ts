import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { guardPool } from '../db/pool-guard.js';
import { Migrator } from '@mikro-orm/migrations';
import { Migration20261122000000_initial } from '../../../migrations/Migration20261122000000_initial.js';
import { Migration20261122020000_perf } from '../../../migrations/Migration20261122020000_perf.js';
import { Migration20261122030000_bulk_jobs } from '../../../migrations/Migration20261122030000_bulk_jobs.js';
import { Migration20261122040000_webhooks } from '../../../migrations/Migration20261122040000_webhooks.js';
import { Migration20261122050000_rate_limits } from '../../../migrations/Migration20261122050000_rate_limits.js';
import { Migration20261122060000_oauth } from '../../../migrations/Migration20261122060000_oauth.js';
import { Migration20261122070000_hot_paths } from '../../../migrations/Migration20261122070000_hot_paths.js';
import { Migration20261122080000_user_counts } from '../../../migrations/Migration20261122080000_user_counts.js';
import { Migration20261122090000_user_changes } from '../../../migrations/Migration20261122090000_user_changes.js';
import { Migration20261122100000_door_enter } from '../../../migrations/Migration20261122100000_door_enter.js';
import { Migration20261122110000_audit_outbox } from '../../../migrations/Migration20261122110000_audit_outbox.js';
import { Migration20261122120000_user_count_shards } from '../../../migrations/Migration20261122120000_user_count_shards.js';
import { Migration20261122130000_schema_version } from '../../../migrations/Migration20261122130000_schema_version.js';
import { Migration20261123000000_oauth_revoke } from '../../../migrations/Migration20261123000000_oauth_revoke.js';
import { TenantSchema } from '../../modules/tenants/tenant.entity.js';
import { UserSchema } from '../../modules/users/user.entity.js';
import { TeamSchema } from '../../modules/teams/team.entity.js';
import { RoleSchema } from '../../modules/roles/role.entity.js';
import { CustomAttributeSchema } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { ApiKeySchema, ScimCredentialSchema } from '../../modules/credentials/credential.entity.js';
import { OAuthClientSchema, OAuthClientSecretSchema } from '../../modules/credentials/oauth.entity.js';
import { AuditEventSchema } from '../../modules/audit/audit-event.entity.js';
import { WebhookSubscriptionSchema } from '../../modules/webhooks/webhook.entity.js';

/** Every migration, in order. Listed explicitly so that nothing depends on globbing files at run time. */
export const migrations = [
  { name: 'Migration20261122000000_initial', class: Migration20261122000000_initial },
  { name: 'Migration20261122020000_perf', class: Migration20261122020000_perf },
  { name: 'Migration20261122030000_bulk_jobs', class: Migration20261122030000_bulk_jobs },
  { name: 'Migration20261122040000_webhooks', class: Migration20261122040000_webhooks },
  { name: 'Migration20261122050000_rate_limits', class: Migration20261122050000_rate_limits },
  { name: 'Migration20261122060000_oauth', class: Migration20261122060000_oauth },
  { name: 'Migration20261122070000_hot_paths', class: Migration20261122070000_hot_paths },
  { name: 'Migration20261122080000_user_counts', class: Migration20261122080000_user_counts },
  { name: 'Migration20261122090000_user_changes', class: Migration20261122090000_user_changes },
  { name: 'Migration20261122100000_door_enter', class: Migration20261122100000_door_enter },
  { name: 'Migration20261122110000_audit_outbox', class: Migration20261122110000_audit_outbox },
  { name: 'Migration20261122120000_user_count_shards', class: Migration20261122120000_user_count_shards },
  { name: 'Migration20261122130000_schema_version', class: Migration20261122130000_schema_version },
  { name: 'Migration20261123000000_oauth_revoke', class: Migration20261123000000_oauth_revoke },
];

export interface OrmOptions {
  url: string;
  poolMax?: number;
  /**
   * Bound (ms) on opening a connection and on waiting for a free one: during a database outage or
   * failover requests fail fast (the doors answer 503) instead of hanging. Default 5000.
   */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL `statement_timeout` (ms) of every connection of the pool, sent as a startup parameter (no
   * round trip). Unset or 0: none. Migrations lift it for their own transaction (see migrate()).
   */
  statementTimeoutMs?: number;
  debug?: boolean;
  /** Where the ORM's own messages (migrator progress) go; stdout stays clean for CLI output. */
  logger?: (message: string) => void;
}

export async function createOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(
    defineConfig({
      clientUrl: opts.url,
      entities: [
        TenantSchema,
        UserSchema,
        TeamSchema,
        RoleSchema,
        CustomAttributeSchema,
        ScimCredentialSchema,
        ApiKeySchema,
        AuditEventSchema,
        WebhookSubscriptionSchema,
        OAuthClientSchema,
        OAuthClientSecretSchema,
      ],
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
      // node-postgres pool options. A connection the server dropped (restart, failover) is discarded by
      // the pool and replaced by a new one on the next acquire: recovery needs no action (guardPool makes
      // sure a connection lost mid-transaction is given back too; see infra/db/pool-guard.ts).
      driverOptions: {
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
        keepAlive: true,
        onPoolCreated: guardPool,
        ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
      },
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
          entity: ['User', 'Team', 'Role', 'CustomAttribute', 'AuditEvent', 'WebhookSubscription'],
          default: true,
        },
      },
    }),
  );
}

export async function migrate(orm: MikroORM): Promise<string[]> {
  // One transaction for every pending migration (allOrNothing), free of the pool's statement_timeout:
  // a migration may legitimately take longer than any request.
  const done = await orm.em.fork().transactional(async (em) => {
    await em.execute('set local statement_timeout = 0');
    return orm.migrator.up({ transaction: em.getTransactionContext() });
  });
  return done.map((m) => m.name);
}
