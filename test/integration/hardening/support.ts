/**
 * Shared pieces of the hardening suites: a raw HTTP client (any method, Host header, raw bodies),
 * SQL as the application role inside one tenant, and a fingerprint of everything a tenant owns, to
 * prove that a refused request changed nothing.
 */
import http from 'node:http';
import pg from 'pg';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON when the body is JSON, else undefined. */
  json: any;
  ms: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

const defaultAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request over node:http (fetch cannot set Host), answered with status, headers, text and JSON. */
export function request(method: string, url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body), 'utf8');
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method,
        headers,
        agent: opts.agent ?? defaultAgent,
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
          let json: unknown;
          if (/json/i.test(flat['content-type'] ?? '') && text !== '') {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: flat, text, json, ms: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const SCIM_JSON = { 'content-type': 'application/scim+json' };
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const patchOp = (...Operations: Array<Record<string, unknown>>) => ({ schemas: [PATCH_OP], Operations });

/** The tenant's uuid behind a GraphQL global id (or the uuid itself). */
export function tenantUuid(tenantId: string): string {
  if (/^[0-9a-f-]{36}$/.test(tenantId)) return tenantId;
  const raw = Buffer.from(tenantId, 'base64url').toString('utf8');
  return raw.slice(raw.indexOf(':') + 1);
}

/**
 * A transaction of its own, on a connection of its own, inside one tenant (row-level security applies): what
 * another request would hold while the one under test runs. Commit (or roll back) and end the client.
 */
export async function tenantTransaction(url: string, tenantId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  await client.query('begin');
  await client.query(`select set_config('roster.tenant_id', $1, true)`, [tenantUuid(tenantId)]);
  return client;
}

/** Runs SQL as the application role inside one tenant (row-level security applies). */
export async function tenantSql<R = Record<string, unknown>>(
  url: string,
  tenantId: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = await tenantTransaction(url, tenantId);
  try {
    const res = await client.query(text, params);
    await client.query('commit');
    return res.rows as R[];
  } finally {
    await client.end();
  }
}

/** Tables a tenant owns whose content a refused request must leave untouched. */
export const DIRECTORY_TABLES = ['users', 'teams', 'roles', 'role_members', 'custom_attributes'] as const;

/** A content fingerprint (row count and hash of every row) of each directory table of the tenant. */
export async function fingerprint(url: string, tenantId: string): Promise<Record<string, string>> {
  const parts = DIRECTORY_TABLES.map(
    (t) =>
      `(select count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '-') from ${t} x where x.tenant_id = $1::uuid) as ${t}`,
  );
  const [row] = await tenantSql<Record<string, string>>(url, tenantId, `select ${parts.join(', ')}`, [tenantUuid(tenantId)]);
  return row;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Holds a tenant's reporting-line lock (the advisory lock every manager change takes) in a transaction of
 * its own, on a connection of its own: the requests that need it wait, for real. Commit and end the client
 * to release it.
 */
export async function holdOrgLock(url: string, tenantId: string): Promise<pg.Client> {
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  await lock.query('begin');
  await lock.query(`select pg_advisory_xact_lock(hashtextextended('roster.org:' || $1, 0))`, [tenantUuid(tenantId)]);
  return lock;
}

/** Until `n` sessions wait for a lock of this type, as seen from `client`. */
const lockWaiters = (locktype: 'advisory' | 'transactionid') => (client: pg.Client, n: number, what: string) =>
  waitFor(
    what,
    async () =>
      Number((await client.query(`select count(*) as n from pg_locks where locktype = $1 and not granted`, [locktype])).rows[0].n) >= n,
    15_000,
    20,
  );

/** Until `n` sessions wait for an advisory lock (the reporting-line lock: holdOrgLock). */
export const advisoryLockWaiters = lockWaiters('advisory');

/** Until `n` sessions wait for a row another transaction holds, or wrote and has not committed. */
export const rowLockWaiters = lockWaiters('transactionid');

/** Checks the RFC 7644 error body of a SCIM failure. */
export function expectScimError(res: HttpResponse, status: number) {
  const context = `${res.status} ${res.text.slice(0, 300)}`;
  expect({ status: res.status, context }).toEqual({ status, context });
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.json).toEqual(expect.objectContaining({ schemas: [ERROR_SCHEMA], status: String(status), detail: expect.any(String) }));
  expect(res.text).not.toMatch(/<html|\bat [\w.<>]+ \(|\.ts:\d+|node_modules/i);
}

/** A recursive walk up every reporting line of the tenant: the users that are their own (indirect) manager. */
export async function usersInCycles(url: string, tenantId: string): Promise<string[]> {
  const rows = await tenantSql<{ id: string }>(
    url,
    tenantId,
    `with recursive up(start, id, depth) as (
       select u.id, u.manager_id, 1 from users u where u.tenant_id = $1::uuid and u.manager_id is not null
       union all
       select up.start, m.manager_id, up.depth + 1 from up join users m on m.id = up.id and m.tenant_id = $1::uuid
        where m.manager_id is not null and up.id <> up.start and up.depth < 10000)
     select distinct start as id from up where id = start`,
    [tenantUuid(tenantId)],
  );
  return rows.map((r) => r.id);
}
