/**
 * Shared pieces of the SCIM integration suites: reading state back over GraphQL, SCIM response checks,
 * and raw SQL inside one tenant (row-level security needs `roster.tenant_id` set in the transaction).
 */
import pg from 'pg';
import { ScimRoleStateDocument, ScimUserCountDocument, ScimUserStateDocument } from '../../__generated__/graphql.js';
import { ERROR_SCHEMA, LIST_RESPONSE, type ScimResponse } from '../../setup/scim-client.js';
import type { TestTenant } from '../../setup/test-app.js';

/**
 * The GraphQL global id of a SCIM resource. Global ids are opaque to API clients; the test suite knows
 * their encoding (src/graphql/ids.ts) so it can address what SCIM created, and every read checks that
 * the object's `scimId` is the SCIM id again.
 */
export const gid = (type: 'User' | 'Role' | 'Team', scimId: string) => Buffer.from(`${type}:${scimId}`).toString('base64url');

/** A user as GraphQL sees it (null when absent or deleted). */
export async function userState(t: TestTenant, scimId: string) {
  const res = await t.gql(ScimUserStateDocument, { id: gid('User', scimId) });
  expect(res.errors).toBeUndefined();
  const user = res.data!.user;
  if (user) expect(user.scimId).toBe(scimId);
  return user;
}

/** A role (SCIM group) as GraphQL sees it (null when absent). */
export async function roleState(t: TestTenant, scimId: string) {
  const res = await t.gql(ScimRoleStateDocument, { id: gid('Role', scimId) });
  expect(res.errors).toBeUndefined();
  const role = res.data!.role;
  if (role) expect(role.scimId).toBe(scimId);
  return role;
}

export async function memberNames(t: TestTenant, groupId: string): Promise<string[]> {
  const role = await roleState(t, groupId);
  return (role?.members.nodes ?? []).map((n) => n.userName).sort();
}

export async function userCount(t: TestTenant): Promise<number> {
  const res = await t.gql(ScimUserCountDocument, {});
  expect(res.errors).toBeUndefined();
  return res.data!.users.totalCount;
}

/** RFC 7644 §3.12: the error body, its content type, and nothing that looks like HTML or a stack trace. */
export function expectScimError(res: ScimResponse, status: number, scimType?: string) {
  const context = `${res.status} ${res.text}`;
  expect({ status: res.status, context }).toEqual({ status, context });
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body).toEqual(expect.objectContaining({ schemas: [ERROR_SCHEMA], status: String(status), detail: expect.any(String) }));
  expect(res.body.detail.length).toBeGreaterThan(0);
  if (scimType === undefined) expect(res.body.scimType).toBeUndefined();
  else expect(res.body.scimType).toBe(scimType);
  expectNoLeak(res);
}

/** Never HTML, never a stack trace or internal file path. */
export function expectNoLeak(res: ScimResponse) {
  expect(res.text).not.toMatch(/<html|<!doctype|<body|<pre/i);
  expect(res.text).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+|node_modules|\/src\/|stack/i);
}

/** A ListResponse with JSON-integer paging fields (Okta O1). */
export function expectListResponse(res: ScimResponse, status = 200) {
  expect({ status: res.status, text: res.status === status ? '' : res.text }).toEqual({ status, text: '' });
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body.schemas).toEqual([LIST_RESPONSE]);
  for (const k of ['totalResults', 'startIndex', 'itemsPerPage']) expect(Number.isInteger(res.body[k])).toBe(true);
  expect(Array.isArray(res.body.Resources)).toBe(true);
  expect(res.body.itemsPerPage).toBe(res.body.Resources.length);
  return res.body as { totalResults: number; startIndex: number; itemsPerPage: number; Resources: any[]; nextCursor?: string };
}

/** Asserts a status, showing the body when it differs. */
export function expectStatus(res: ScimResponse, status: number | number[]) {
  const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
  if (!ok) throw new Error(`expected HTTP ${JSON.stringify(status)}, got ${res.status}: ${res.text}`);
}

/** A resource response: its ETag header is its meta.version. */
export function expectVersioned(res: ScimResponse) {
  expect(res.headers.etag).toBeDefined();
  expect(res.body.meta.version).toBe(res.headers.etag);
}

/** The tenant's uuid behind its GraphQL global id. */
export function tenantUuid(tenantId: string): string {
  if (/^[0-9a-f-]{36}$/.test(tenantId)) return tenantId;
  const raw = Buffer.from(tenantId, 'base64url').toString('utf8');
  return raw.slice(raw.indexOf(':') + 1);
}

/** Runs SQL as the application role inside one tenant (row-level security applies). */
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `width` in flight. */
export async function inParallel<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
