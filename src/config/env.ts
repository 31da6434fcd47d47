import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

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
  // Limits and rate limiting (README "Limits and rate limiting"). A rate of 0 turns that limit off.
  ROSTER_GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(1).max(10_000).default(50),
  ROSTER_GRAPHQL_MAX_FIELDS: z.coerce.number().int().min(10).max(100_000).default(1000),
  ROSTER_GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  ROSTER_RATE_LIMIT_SCIM_RPS: z.coerce.number().min(0).max(1_000_000).default(100),
  ROSTER_RATE_LIMIT_SCIM_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
  ROSTER_RATE_LIMIT_GRAPHQL_RPS: z.coerce.number().min(0).max(1_000_000).default(100),
  ROSTER_RATE_LIMIT_GRAPHQL_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
  ROSTER_RATE_LIMIT_GRAPHQL_COST_PER_TOKEN: z.coerce.number().int().min(0).default(1000),
  ROSTER_AUTH_FAILURE_RATE_PER_MINUTE: z.coerce.number().min(0).max(1_000_000).default(30),
  ROSTER_AUTH_FAILURE_BURST: z.coerce.number().int().min(1).max(10_000_000).default(30),
  ROSTER_AUTH_FAILURE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  ROSTER_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(50_000),
  ROSTER_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  ROSTER_OAUTH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(21_600, 'at most 6 hours (21600)').default(3600),
  ROSTER_BULK_WORKER: bool.default(true),
  ROSTER_BULK_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  ROSTER_BULK_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  ROSTER_BULK_MAX_LINES: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT: z.coerce.number().int().min(1).max(1000).default(3),
  ROSTER_SECRET_KEY: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  // Keys replaced by ROSTER_SECRET_KEY, comma-separated: they still open what they sealed, until `secrets reseal`.
  ROSTER_SECRET_KEY_PREVIOUS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters'))),
  ROSTER_WEBHOOK_WORKER: bool.default(true),
  ROSTER_WEBHOOK_ALLOW_HTTP_LOCALHOST: bool.default(false),
  ROSTER_WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  ROSTER_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  ROSTER_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(8),
  ROSTER_WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  ROSTER_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(10_000),
  ROSTER_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).max(10_000).default(20),
  ROSTER_WEBHOOK_DISABLE_AFTER_MINUTES: z.coerce.number().int().min(0).max(43_200).default(1440),
  ROSTER_WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ROSTER_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  ROSTER_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(25),
  ROSTER_CORS_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i, 'each origin must be scheme://host[:port], e.g. https://admin.example.com'),
      ),
    )
    .optional(),
  ROSTER_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
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
  /** Most aliases, and most field selections (fragments expanded), in one GraphQL operation. */
  graphqlMaxAliases: number;
  graphqlMaxFields: number;
  /** Most lexical tokens in a GraphQL document: bounds parsing and validation before anything else runs. */
  graphqlMaxTokens: number;
  /** Token buckets per tenant and door, and for failed authentications per client address (0 rps: off). */
  rateLimits: RateLimitConfig;
  /** A request not answered by then is answered 503 and its transaction rolled back (0: no bound). */
  requestTimeoutMs: number;
  /** PostgreSQL statement_timeout of every connection (0: none). */
  dbStatementTimeoutMs: number;
  /** Lifetime of OAuth access tokens for SCIM (client credentials grant). */
  oauthTokenTtlSeconds: number;
  /** Asynchronous bulk jobs: the worker loop of this process, and the limits jobs are held to. */
  bulk: { worker: boolean; batchSize: number; pollIntervalMs: number; maxLines: number; maxRunningJobsPerTenant: number };
  /** Encrypts stored secrets that Roster must read back (webhook signing secrets); see infra/secret-box.ts. */
  secretKey?: string;
  /** Keys ROSTER_SECRET_KEY replaced: they open stored secrets until `roster secrets reseal` (secret-box.ts). */
  secretKeyPrevious: string[];
  /** Webhooks: the delivery worker of this process, the endpoints allowed, retries and disablement. */
  webhooks: WebhookConfig;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** Bound on opening a database connection and on waiting for a free one in the pool. */
  dbConnectTimeoutMs: number;
  /** How long SIGTERM waits for requests in flight before closing their connections. */
  shutdownTimeoutSeconds: number;
  /** Browser origins allowed by CORS; empty: CORS is off. */
  corsOrigins: string[];
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** OpenTelemetry OTLP endpoint: tracing is on when set (and the OpenTelemetry packages are installed). */
  otelEndpoint?: string;
}

export interface WebhookConfig {
  worker: boolean;
  /** Also accept http://localhost and http://127.0.0.1 endpoints (development, tests). */
  allowHttpLocalhost: boolean;
  /** Also deliver to private, loopback and link-local addresses (an endpoint inside your network). */
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  concurrency: number;
  pollIntervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A subscription is disabled after this many consecutive failed attempts… */
  disableAfterFailures: number;
  /** …spanning at least this many minutes since its first failure. */
  disableAfterMinutes: number;
  retentionDays: number;
}

export interface RateLimitConfig {
  scim: { rps: number; burst: number };
  /** `costPerToken`: a GraphQL operation also pays ceil(cost / costPerToken) - 1 tokens after it ran (0: off). */
  graphql: { rps: number; burst: number; costPerToken: number };
  authFailures: { perMinute: number; burst: number; retentionDays: number };
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
    graphqlMaxAliases: e.ROSTER_GRAPHQL_MAX_ALIASES,
    graphqlMaxFields: e.ROSTER_GRAPHQL_MAX_FIELDS,
    graphqlMaxTokens: e.ROSTER_GRAPHQL_MAX_TOKENS,
    rateLimits: {
      scim: { rps: e.ROSTER_RATE_LIMIT_SCIM_RPS, burst: e.ROSTER_RATE_LIMIT_SCIM_BURST },
      graphql: {
        rps: e.ROSTER_RATE_LIMIT_GRAPHQL_RPS,
        burst: e.ROSTER_RATE_LIMIT_GRAPHQL_BURST,
        costPerToken: e.ROSTER_RATE_LIMIT_GRAPHQL_COST_PER_TOKEN,
      },
      authFailures: {
        perMinute: e.ROSTER_AUTH_FAILURE_RATE_PER_MINUTE,
        burst: e.ROSTER_AUTH_FAILURE_BURST,
        retentionDays: e.ROSTER_AUTH_FAILURE_RETENTION_DAYS,
      },
    },
    requestTimeoutMs: e.ROSTER_REQUEST_TIMEOUT_MS,
    dbStatementTimeoutMs: e.ROSTER_DB_STATEMENT_TIMEOUT_MS,
    oauthTokenTtlSeconds: e.ROSTER_OAUTH_TOKEN_TTL_SECONDS,
    bulk: {
      worker: e.ROSTER_BULK_WORKER,
      batchSize: e.ROSTER_BULK_BATCH_SIZE,
      pollIntervalMs: e.ROSTER_BULK_POLL_INTERVAL_MS,
      maxLines: e.ROSTER_BULK_MAX_LINES,
      maxRunningJobsPerTenant: e.ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT,
    },
    secretKey: e.ROSTER_SECRET_KEY,
    secretKeyPrevious: e.ROSTER_SECRET_KEY_PREVIOUS,
    webhooks: {
      worker: e.ROSTER_WEBHOOK_WORKER,
      allowHttpLocalhost: e.ROSTER_WEBHOOK_ALLOW_HTTP_LOCALHOST,
      allowPrivateNetworks: e.ROSTER_WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      timeoutMs: e.ROSTER_WEBHOOK_TIMEOUT_MS,
      concurrency: e.ROSTER_WEBHOOK_CONCURRENCY,
      pollIntervalMs: e.ROSTER_WEBHOOK_POLL_INTERVAL_MS,
      retryBaseMs: e.ROSTER_WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.ROSTER_WEBHOOK_RETRY_MAX_MS, e.ROSTER_WEBHOOK_RETRY_BASE_MS),
      disableAfterFailures: e.ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES,
      disableAfterMinutes: e.ROSTER_WEBHOOK_DISABLE_AFTER_MINUTES,
      retentionDays: e.ROSTER_WEBHOOK_RETENTION_DAYS,
    },
    logLevel: e.LOG_LEVEL,
    dbConnectTimeoutMs: e.ROSTER_DB_CONNECT_TIMEOUT_MS,
    shutdownTimeoutSeconds: e.ROSTER_SHUTDOWN_TIMEOUT_SECONDS,
    corsOrigins: e.ROSTER_CORS_ORIGINS ?? [],
    metricsToken: e.ROSTER_METRICS_TOKEN,
    otelEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
}

/** The SCIM base URL an IdP is given for a tenant: https://<slug>.<base domain>/scim/v2 */
export const scimBaseUrl = (config: Pick<Config, 'publicScheme' | 'baseDomain'>, slug: string) =>
  `${config.publicScheme}://${slug}.${config.baseDomain}/scim/v2`;

/** The OAuth 2.0 token endpoint of a tenant (client credentials for SCIM): https://<slug>.<base domain>/oauth/token */
export const oauthTokenUrl = (config: Pick<Config, 'publicScheme' | 'baseDomain'>, slug: string) =>
  `${config.publicScheme}://${slug}.${config.baseDomain}/oauth/token`;
