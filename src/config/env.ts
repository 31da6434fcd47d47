import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every environment variable Roster reads. The README's configuration table documents the same list. */
const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ROSTER_DATA_DIR: z.string().min(1).default('.roster-data'),
  ROSTER_EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  ROSTER_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'must be a domain, optionally with :port')
    .optional(),
  ROSTER_PUBLIC_SCHEME: z.enum(['http', 'https']).optional(),
  ROSTER_OPERATOR_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  ROSTER_MIGRATE_ON_START: bool.default(true),
  ROSTER_DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  ROSTER_GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  ROSTER_GRAPHQL_MAX_COST: z.coerce.number().int().min(100).default(20000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  embeddedPgPort: number;
  baseDomain: string;
  publicScheme: 'http' | 'https';
  operatorKey?: string;
  migrateOnStart: boolean;
  dbPoolMax: number;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError listing every bad variable (main.ts prints it and exits). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const baseDomain = e.ROSTER_BASE_DOMAIN ?? `localhost:${e.PORT}`;
  const isLocal = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(baseDomain);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.ROSTER_DATA_DIR,
    embeddedPgPort: e.ROSTER_EMBEDDED_PG_PORT,
    baseDomain,
    publicScheme: e.ROSTER_PUBLIC_SCHEME ?? (isLocal ? 'http' : 'https'),
    operatorKey: e.ROSTER_OPERATOR_KEY,
    migrateOnStart: e.ROSTER_MIGRATE_ON_START,
    dbPoolMax: e.ROSTER_DB_POOL_MAX,
    graphqlMaxDepth: e.ROSTER_GRAPHQL_MAX_DEPTH,
    graphqlMaxCost: e.ROSTER_GRAPHQL_MAX_COST,
    logLevel: e.LOG_LEVEL,
  };
}

/** The SCIM base URL an IdP is given for a tenant: https://<slug>.<base domain>/scim/v2 */
export const scimBaseUrl = (config: Pick<Config, 'publicScheme' | 'baseDomain'>, slug: string) =>
  `${config.publicScheme}://${slug}.${config.baseDomain}/scim/v2`;
