import 'reflect-metadata';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { print } from 'graphql';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../src/infra/logger.js';
import { createOrm } from '../../src/infra/orm/orm.js';

export interface GqlResult<T> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
  extensions?: Record<string, unknown>;
}

export interface TestTenant {
  id: string;
  slug: string;
  apiKey: string;
  scimToken: string;
  scimBaseUrl: string;
  /** A typed GraphQL call with this tenant's admin key (or `key`). */
  gql<T, V>(doc: TypedDocumentNode<T, V>, variables?: V, key?: string): Promise<GqlResult<T>>;
  /** An untyped GraphQL call, for malformed and hostile queries. */
  raw<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, key?: string): Promise<GqlResult<T>>;
}

export interface TestApp {
  baseUrl: string;
  orm: MikroORM;
  config: Config;
  operatorKey: string;
  createTenant(slug?: string): Promise<TestTenant>;
  /** A raw SQL connection as the application role (RLS applies). */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export const uniqueSlug = (prefix = 't') => `${prefix}-${randomBytes(5).toString('hex')}`;

export async function postGraphql<T>(baseUrl: string, key: string | null, query: string, variables?: unknown): Promise<GqlResult<T>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResult<T>, 'status'>;
  return { status: res.status, data: body.data ?? null, errors: body.errors, extensions: body.extensions };
}

/**
 * Rate limits in tests: effectively off unless a test asks for them (test/integration/hardening passes
 * small ones). Every test talks from 127.0.0.1 and some drive one tenant hard; the product defaults
 * (README "Limits and rate limiting") would turn their requests into 429s.
 */
const TEST_RATE_LIMITS: Record<string, string> = {
  ROSTER_RATE_LIMIT_SCIM_RPS: '0',
  ROSTER_RATE_LIMIT_GRAPHQL_RPS: '0',
  ROSTER_AUTH_FAILURE_RATE_PER_MINUTE: '0',
};

export interface TestAppOptions {
  /** Where the service's log lines go (with `logLevel`); default: TEST_LOG_LEVEL to stdout, or nothing. */
  logDestination?: DestinationStream;
  logLevel?: string;
}

/** The real service on an ephemeral port over the test database, with real HTTP. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  // `env.DATABASE_URL` points one app at another database (e.g. a dedicated server a test restarts).
  const url = env.DATABASE_URL ?? process.env.ROSTER_TEST_DATABASE_URL;
  if (!url) throw new Error('ROSTER_TEST_DATABASE_URL is not set: run the tests through jest (test/setup/global-setup.ts)');
  const operatorKey = `rst_op_test_${randomBytes(24).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    ROSTER_BASE_DOMAIN: 'roster.test',
    ROSTER_OPERATOR_KEY: operatorKey,
    ...TEST_RATE_LIMITS,
    ...env,
    DATABASE_URL: url,
  });
  const orm = await createOrm({
    url,
    poolMax: 10,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  });
  const logger = createLogger(options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent', options.logDestination);
  const app = await createApp({ orm, config, logger });
  const server = app.koa.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // An idle connection the server drops (a test restarting PostgreSQL) must not crash the test process.
  pool.on('error', () => {});

  const createTenant = async (slug = uniqueSlug()): Promise<TestTenant> => {
    const res = await postGraphql<{
      createTenant: { tenant: { id: string; slug: string; scimBaseUrl: string }; scimToken: string; apiKey: string; userErrors: unknown[] };
    }>(
      baseUrl,
      operatorKey,
      'mutation($slug: String!) { createTenant(input: { slug: $slug }) { tenant { id slug scimBaseUrl } scimToken apiKey userErrors { code message } } }',
      { slug },
    );
    const payload = res.data?.createTenant;
    if (!payload?.tenant) throw new Error(`createTenant failed: ${JSON.stringify(res)}`);
    const tenant: TestTenant = {
      id: payload.tenant.id,
      slug: payload.tenant.slug,
      apiKey: payload.apiKey,
      scimToken: payload.scimToken,
      scimBaseUrl: payload.tenant.scimBaseUrl,
      gql: (doc, variables, key) => postGraphql(baseUrl, key ?? payload.apiKey, print(doc), variables),
      raw: (query, variables, key) => postGraphql(baseUrl, key ?? payload.apiKey, query, variables),
    };
    return tenant;
  };

  return {
    baseUrl,
    orm,
    config,
    operatorKey,
    createTenant,
    sql: async (text, params) => (await pool.query(text, params)).rows,
    close: async () => {
      await closeServer(server);
      await app.stop();
      await orm.close();
      await pool.end();
    },
  };
}

/**
 * Stops a test's HTTP server and ends its connections at once. `close()` alone waits for every connection to
 * go idle, and a keep-alive connection that keeps carrying requests (a worker retrying every few
 * milliseconds) never does. A server already stopped only has its connections ended.
 */
export async function closeServer(server: Server): Promise<void> {
  const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined;
  server.closeAllConnections();
  await closed;
}
