// Shared helpers of the bulk suites (not a test file: jest only runs *.int.test.ts). GraphQL calls go
// through the partner client (client/src), so the suites also exercise what partners use.
import pg from 'pg';
import { RosterClient } from '../../../client/src/index.js';
import { createLogger } from '../../../src/infra/logger.js';
import { createOrm } from '../../../src/infra/orm/orm.js';
import { createBulkWorker, type BulkWorker } from '../../../src/modules/bulk/bulk.worker.js';
import type { TestApp, TestTenant } from '../../setup/test-app.js';

export const clientFor = (app: TestApp, t: TestTenant, apiKey = t.apiKey) => new RosterClient({ url: `${app.baseUrl}/graphql`, apiKey });

/** The tenant's uuid behind its GraphQL global id. */
export function tenantUuid(tenantId: string): string {
  if (/^[0-9a-f-]{36}$/.test(tenantId)) return tenantId;
  const raw = Buffer.from(tenantId, 'base64url').toString('utf8');
  return raw.slice(raw.indexOf(':') + 1);
}

/** A job's uuid behind its global id. */
export const jobUuid = (globalId: string) => {
  const raw = Buffer.from(globalId, 'base64url').toString('utf8');
  return raw.slice(raw.indexOf(':') + 1);
};

/** SQL as the application role inside one tenant (row-level security applies, as in the service). */
export async function tenantSql<R = Record<string, unknown>>(tenantId: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: process.env.ROSTER_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('roster.tenant_id', $1, true)`, [tenantUuid(tenantId)]);
    const res = await client.query(text, params as unknown[]);
    await client.query('commit');
    return res.rows as R[];
  } finally {
    await client.end();
  }
}

export interface StartedWorker {
  worker: BulkWorker;
  /** Stops the loop and closes the worker's own ORM (its own connection pool, like another process). */
  close(): Promise<void>;
}

/**
 * A bulk worker loop on its own ORM instance: as independent of the test app's pool, and of other
 * workers, as a worker in another process would be.
 */
export async function startWorker(
  opts: { name?: string; batchSize?: number; pollIntervalMs?: number; start?: boolean } = {},
): Promise<StartedWorker> {
  const orm = await createOrm({ url: process.env.ROSTER_TEST_DATABASE_URL as string, poolMax: 3 });
  const worker = createBulkWorker({
    orm,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    batchSize: opts.batchSize ?? 100,
    pollIntervalMs: opts.pollIntervalMs ?? 50,
    name: opts.name,
  });
  if (opts.start !== false) worker.start();
  return {
    worker,
    close: async () => {
      await worker.stop();
      await orm.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value (or fails after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Lets a worker finish every job other suites left runnable (the scheduler looks across tenants), so a
 * test can count exactly what its own workers apply.
 */
export async function drainOtherJobs(app: TestApp): Promise<void> {
  const runnable = async () => Number((await app.sql<{ n: string }>(`select count(*) as n from roster_runnable_bulk_jobs(100000)`))[0].n);
  if ((await runnable()) === 0) return;
  const w = await startWorker({ name: 'drain', batchSize: 500 });
  try {
    await eventually(async () => (await runnable()) === 0, 300_000, 200);
  } finally {
    await w.close();
  }
}
