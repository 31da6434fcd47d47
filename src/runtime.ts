import type { MikroORM } from '@mikro-orm/postgresql';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config/env.js';
import { embeddedUrl, startEmbeddedPostgres } from './infra/db/embedded-postgres.js';
import type { Logger } from './infra/logger.js';
import { createOrm, migrate } from './infra/orm/orm.js';

export interface Runtime {
  orm: MikroORM;
  /** Where the database came from, for the start-up message. */
  database: { kind: 'external' } | { kind: 'embedded'; dataDir: string; port: number; sharedWithRunningServer: boolean };
  close(): Promise<void>;
}

/** The port of an embedded PostgreSQL already running on this data directory (e.g. `npm start` in another terminal). */
function runningEmbeddedPort(dataDir: string): number | null {
  const pidFile = path.join(path.resolve(dataDir), 'pg', 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}

/**
 * Connects to DATABASE_URL, or else to the embedded PostgreSQL under ROSTER_DATA_DIR (starting it when
 * it is not already running), and applies pending migrations when asked.
 */
export async function openRuntime(config: Config, logger: Logger, opts: { migrate: boolean }): Promise<Runtime> {
  let url: string;
  let stopDb: () => Promise<void> = async () => {};
  let database: Runtime['database'] = { kind: 'external' };
  if (config.databaseUrl) {
    url = config.databaseUrl;
  } else {
    const running = runningEmbeddedPort(config.dataDir);
    if (running) {
      const secrets = JSON.parse(await readFile(path.join(path.resolve(config.dataDir), 'embedded-postgres.json'), 'utf8')) as {
        appPassword: string;
      };
      url = embeddedUrl(config.dataDir, running, secrets.appPassword);
      database = { kind: 'embedded', dataDir: path.resolve(config.dataDir), port: running, sharedWithRunningServer: true };
    } else {
      const db = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.embeddedPgPort || undefined,
        log: (m) => logger.debug({ postgres: m.trim() }, 'embedded postgres'),
      });
      url = db.url;
      stopDb = db.stop;
      database = { kind: 'embedded', dataDir: path.resolve(config.dataDir), port: db.port, sharedWithRunningServer: false };
    }
  }
  const orm = await createOrm({
    url,
    poolMax: config.dbPoolMax,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    logger: (m) => logger.debug({ orm: m }, 'orm'),
  });
  try {
    if (opts.migrate) {
      const applied = await migrate(orm);
      if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
    }
    const [role] = await orm.em
      .fork()
      .execute<Array<{ rolsuper: boolean; rolbypassrls: boolean }>>(
        'select rolsuper, rolbypassrls from pg_roles where rolname = current_user',
      );
    if (role?.rolsuper || role?.rolbypassrls) {
      logger.warn(
        'connected as a superuser or BYPASSRLS role: row-level security (the tenant-isolation backstop) does not apply; connect as an ordinary role that owns the schema',
      );
    }
  } catch (err) {
    await orm.close();
    await stopDb();
    throw err;
  }
  return {
    orm,
    database,
    close: async () => {
      await orm.close();
      await stopDb();
    },
  };
}
