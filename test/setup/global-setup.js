// Plain ESM on purpose: jest loads globalSetup outside its own module system, so this file imports the
// TypeScript sources through Node's loader (scripts/register.js, which `npm test` preloads).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * One PostgreSQL for the whole run: ROSTER_TEST_DATABASE_URL (or DATABASE_URL) when given, else a fresh
 * embedded server in a temporary directory. Migrations run once here; tests isolate themselves by
 * creating their own tenants, which is also what the product promises works.
 */
export default async function globalSetup() {
  const { startEmbeddedPostgres } = await import('../../src/infra/db/embedded-postgres.js');
  const { createOrm, migrate } = await import('../../src/infra/orm/orm.js');
  let url = process.env.ROSTER_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) {
    const dir = await mkdtemp(path.join(tmpdir(), 'roster-test-'));
    // global-teardown.js stops the server and removes the directory (~300 MB after a full run).
    globalThis.__rosterTestDir = dir;
    const db = await startEmbeddedPostgres({ dataDir: dir, ephemeral: true });
    globalThis.__rosterTestDb = db;
    url = db.url;
  }
  process.env.ROSTER_TEST_DATABASE_URL = url;
  const orm = await createOrm({ url });
  try {
    await migrate(orm);
  } finally {
    await orm.close();
  }
}
