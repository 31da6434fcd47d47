import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { CUSTOM_ATTRIBUTES } from './data.js';
import { createTeams, tenantPool } from './db.js';
import { Client } from './http.js';
import { createTenantWithCli, databaseUrl, log, startRoster, type DbTarget, type ServerProcess, type TenantSecrets } from './proc.js';

export interface Env {
  db: DbTarget;
  dbUrl: string;
  server: ServerProcess;
  tenant: TenantSecrets;
  scim: Client;
  gql: Client;
  pool: pg.Pool;
  teams: Map<string, string>;
  /** PostgreSQL's version() string. */
  pgVersion: string;
  logDir: string;
  cleanup(): Promise<void>;
}

/** A local DATABASE_URL, or none: the bench never talks to a remote database. */
export function externalDatabase(): string | undefined {
  const url = process.env.DATABASE_URL;
  if (!url) return undefined;
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(
      `DATABASE_URL points at ${host}: the bench only runs against a local PostgreSQL (127.0.0.1); unset it to use a fresh embedded one`,
    );
  }
  return url;
}

/**
 * A Roster server on a fresh embedded PostgreSQL in a temporary directory (or DATABASE_URL), a tenant
 * made with the CLI, the bench's custom attributes declared over GraphQL with the admin API key, and
 * the department teams.
 */
export async function setUp(label: string, logDir: string, keep: boolean): Promise<Env> {
  const external = externalDatabase();
  const dataDir = external ? null : await mkdtemp(path.join(tmpdir(), 'roster-bench-'));
  const db: DbTarget = external ? { kind: 'url', url: external } : { kind: 'embedded', dataDir: dataDir as string };
  log(`${label}: starting Roster (${external ? 'DATABASE_URL' : `embedded PostgreSQL in ${dataDir}`})`);
  const server = await startRoster(`${label}-roster`, db, logDir);
  let pool: pg.Pool | null = null;
  const cleanup = async () => {
    await pool?.end().catch(() => {});
    await server.stop();
    if (dataDir && !keep) {
      // The embedded PostgreSQL (the server's child) may still be writing its shutdown checkpoint.
      const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
      for (let i = 0; i < 60 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 500));
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 }).catch((err: Error) =>
        log(`could not remove ${dataDir}: ${err.message}`),
      );
    }
  };
  try {
    const slug = `bench-${randomBytes(4).toString('hex')}`;
    const tenant = await createTenantWithCli(db, slug, logDir);
    const dbUrl = await databaseUrl(db);
    const scim = new Client(server.port, tenant.scimToken);
    const gql = new Client(server.port, tenant.apiKey);
    for (const attr of CUSTOM_ATTRIBUTES) {
      const res = await gql.graphql(
        `mutation($input: DeclareCustomAttributeInput!) { declareCustomAttribute(input: $input) { customAttribute { name } userErrors { code message } } }`,
        { input: { name: attr.name, type: attr.type } },
      );
      const body = JSON.parse(res.body) as { data?: { declareCustomAttribute: { userErrors: unknown[] } }; errors?: unknown };
      if (res.status !== 200 || body.errors || body.data?.declareCustomAttribute.userErrors.length)
        throw new Error(`declareCustomAttribute ${attr.name}: ${res.body}`);
    }
    pool = tenantPool(dbUrl, tenant.tenant.id, 4);
    const teams = await createTeams(pool, tenant.tenant.id);
    const pgVersion = (await pool.query<{ v: string }>('select version() as v')).rows[0].v;
    return { db, dbUrl, server, tenant, scim, gql, pool, teams, pgVersion, logDir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
