import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_HOST, request } from './http.js';
import { embeddedUrl } from '../../src/infra/db/embedded-postgres.js';

/** The project root (bench/ lives in it). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, BENCH_HOST, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Where a Roster process keeps its data: a fresh ROSTER_DATA_DIR (embedded PostgreSQL), or a
 * DATABASE_URL. Never the developer's .roster-data.
 */
export type DbTarget = { kind: 'embedded'; dataDir: string } | { kind: 'url'; url: string };

export function rosterEnv(db: DbTarget, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: BENCH_HOST, LOG_LEVEL: 'warn', ...BENCH_LIMITS, ...extra };
  // Profiling hook: node flags for the Roster processes only (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  if (process.env.BENCH_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
  delete env.DATABASE_URL;
  delete env.ROSTER_DATA_DIR;
  if (db.kind === 'embedded') env.ROSTER_DATA_DIR = db.dataDir;
  else env.DATABASE_URL = db.url;
  return env;
}

/**
 * The bench measures capacity, so the per-tenant request rate limits (a policy: 100 requests/s per
 * tenant and door by default) are switched off (a rate of 0 is off); everything else is the default.
 */
export const BENCH_LIMITS = { ROSTER_RATE_LIMIT_SCIM_RPS: '0', ROSTER_RATE_LIMIT_GRAPHQL_RPS: '0' };

/** For the statement counts: no background workers polling the database between requests. */
export const NO_BACKGROUND_WORKERS = { ROSTER_BULK_WORKER: 'false', ROSTER_WEBHOOK_WORKER: 'false' };

const children = new Set<ChildProcess>();

/**
 * How Roster processes are started: from the TypeScript sources the way `npm start` does (default), or
 * from a compiled build (`--compiled`: tsc output, what `npm run build` + `npm run start:dist` run, without
 * the development loader's compiler in memory).
 */
let compiledDir: string | null = null;

/** Compiles src/ and migrations/ with tsconfig.build.json into `outDir`, once, and uses that from now on. */
export async function useCompiledBuild(outDir: string): Promise<void> {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Type errors still emit JavaScript; only a missing entry point is fatal.
  if (!existsSync(path.join(outDir, 'src', 'main.js'))) throw new Error(`tsc produced no ${outDir}/src/main.js (exit ${code}):\n${out}`);
  if (code !== 0) log(`tsc reported type errors (exit ${code}); the build was emitted anyway:\n${out.split('\n').slice(0, 5).join('\n')}`);
  compiledDir = outDir;
}

/** Node arguments that run one of the project's entry points (`src/main.ts`, `src/cli/main.ts`). */
function entryArgs(entry: string): string[] {
  if (compiledDir && entry.startsWith('src/')) return [path.join(compiledDir, entry.replace(/\.ts$/, '.js'))];
  return ['--import', './scripts/register.js', entry];
}

/**
 * The node flags the service runs with in production (`npm run start:dist`, the Dockerfile): the bench
 * measures the server as it is shipped, e.g. with its bounded heap.
 */
export const SERVER_NODE_FLAGS: string[] =
  (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start:dist'].match(
    /--[a-z-]+=\S+/g,
  ) ?? [];

/** An entry point of this project run as node itself (so its pid is the server's, not npm's). */
function spawnTs(entry: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, ...entryArgs(entry), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface ServerProcess {
  label: string;
  port: number;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

async function waitHealthy(label: string, child: ChildProcess, port: number, logFile: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await request(port, 'GET', '/healthz');
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`${label} did not become healthy on port ${port} (exit code ${child.exitCode}); log ${logFile}:\n${tail}`);
}

async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    log(`pid ${child.pid} did not stop within ${graceMs} ms of SIGTERM: SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
}

/** Starts Roster (the compiled build, or the sources with `--source`) with the production node flags, and waits for /healthz. */
export async function startRoster(
  label: string,
  db: DbTarget,
  logDir: string,
  extraEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const logFile = path.join(logDir, `${label}.log`);
  const child = spawnTs('src/main.ts', [], rosterEnv(db, port, extraEnv), logFile, SERVER_NODE_FLAGS);
  await waitHealthy(label, child, port, logFile);
  return { label, port, pid: child.pid as number, logFile, stop: () => stopChild(child) };
}

/** The bare-Koa baseline server (B1, B2) as its own process, like Roster. */
export async function startBaseline(dbUrl: string, tenantId: string, logDir: string): Promise<ServerProcess> {
  const port = await freePort();
  const logFile = path.join(logDir, 'baseline.log');
  const env = { ...process.env, PORT: String(port), BENCH_DB_URL: dbUrl, BENCH_TENANT_ID: tenantId };
  const child = spawnTs('bench/baseline-server.ts', [], env, logFile);
  await waitHealthy('baseline', child, port, logFile);
  return { label: 'baseline', port, pid: child.pid as number, logFile, stop: () => stopChild(child) };
}

export interface TenantSecrets {
  tenant: { id: string; slug: string };
  scimToken: string;
  apiKey: string;
}

/** `src/cli/main.ts tenant create <slug> --json` with the server's environment. */
export async function createTenantWithCli(db: DbTarget, slug: string, logDir: string): Promise<TenantSecrets> {
  const logFile = path.join(logDir, 'cli.log');
  const child = spawn(process.execPath, [...entryArgs('src/cli/main.ts'), 'tenant', 'create', slug, '--json'], {
    cwd: ROOT,
    env: rosterEnv(db, 0),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  children.delete(child);
  createWriteStream(logFile, { flags: 'a' }).end(stderr);
  if (code !== 0) throw new Error(`tenant create failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop() as string) as TenantSecrets;
}

/** The URL Roster itself uses: DATABASE_URL, or the embedded database's (see src/runtime.ts runningEmbeddedPort). */
export async function databaseUrl(db: DbTarget): Promise<string> {
  if (db.kind === 'url') return db.url;
  const secrets = JSON.parse(await readFile(path.join(db.dataDir, 'embedded-postgres.json'), 'utf8')) as { appPassword: string };
  const pid = readFileSync(path.join(db.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  const port = Number(pid[3]);
  if (!Number.isInteger(port) || port <= 0)
    throw new Error(`cannot read the embedded PostgreSQL port from ${db.dataDir}/pg/postmaster.pid`);
  return embeddedUrl(db.dataDir, port, secrets.appPassword);
}

/** Stops every child still running (on errors and Ctrl-C too). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 15_000)));
}
