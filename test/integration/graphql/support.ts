// Shared helpers of the GraphQL contract suites (not a test file: jest only runs *.int.test.ts).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pg from 'pg';
import {
  CreateFullUserDocument,
  SnapshotAdminDocument,
  SnapshotTeamsAndRolesDocument,
  SnapshotUsersDocument,
  type CreateUserInput,
  type FullUserFragment,
} from '../../__generated__/graphql.js';
import type { GqlResult, TestApp, TestTenant } from '../../setup/test-app.js';

export interface UserErrorShape {
  code: string;
  field?: string | null;
  reason?: string | null;
  message: string;
}

/** The data of a successful GraphQL response (HTTP 200, no errors). */
export function dataOf<T>(res: GqlResult<T>): T {
  if (res.status !== 200 || res.errors?.length || !res.data) {
    throw new Error(`expected a successful GraphQL response, got ${res.status}: ${JSON.stringify(res.errors ?? res.data)}`);
  }
  return res.data;
}

/** A mutation payload that must have succeeded: userErrors empty. */
export function succeeded<P extends { userErrors: UserErrorShape[] }>(payload: P): P {
  if (payload.userErrors.length > 0) throw new Error(`expected no userErrors, got ${JSON.stringify(payload.userErrors)}`);
  return payload;
}

/** Asserts exactly one userError with this code (and reason/field when given). */
export function expectUserError(
  payload: { userErrors: UserErrorShape[] },
  code: string,
  more: { reason?: string; field?: string } = {},
): void {
  expect(payload.userErrors).toHaveLength(1);
  expect(payload.userErrors[0]).toMatchObject({ code, ...more });
  expect(payload.userErrors[0].message).toEqual(expect.any(String));
}

/** Asserts a GraphQL-level error (errors[].extensions.code) and no data for the failing root field. */
export function expectGraphqlError(res: GqlResult<unknown>, code: string): void {
  expect(res.errors?.length).toBeGreaterThan(0);
  expect(res.errors!.map((e) => e.extensions?.code)).toContain(code);
}

export async function createUser(t: TestTenant, input: CreateUserInput, key?: string): Promise<FullUserFragment> {
  const payload = dataOf(await t.gql(CreateFullUserDocument, { input }, key)).createUser;
  return succeeded(payload).user!;
}

/**
 * Everything a tenant holds, read through its own admin key: users (every field, with team, manager and
 * roles), teams, roles, API keys, SCIM credentials, custom attributes and the audit trail. Two snapshots
 * are equal exactly when nothing observable changed.
 */
export async function snapshot(t: TestTenant) {
  const [firstUsers, teamsAndRoles, admin] = await Promise.all([
    t.gql(SnapshotUsersDocument, {}),
    t.gql(SnapshotTeamsAndRolesDocument, {}),
    t.gql(SnapshotAdminDocument, {}),
  ]);
  const { viewer, users } = dataOf(firstUsers);
  const nodes = [...users.nodes];
  for (let page = users; page.pageInfo.hasNextPage;) {
    page = dataOf(await t.gql(SnapshotUsersDocument, { after: page.pageInfo.endCursor })).users;
    nodes.push(...page.nodes);
  }
  return { viewer, users: { totalCount: users.totalCount, nodes }, ...dataOf(teamsAndRoles), ...dataOf(admin) };
}

/** Runs `act` and asserts the tenant's snapshot is identical before and after; returns what act returned. */
export async function expectUnchanged<R>(t: TestTenant, act: () => Promise<R>): Promise<R> {
  const before = await snapshot(t);
  const result = await act();
  const after = await snapshot(t);
  expect(after).toEqual(before);
  return result;
}

/** POSTs a GraphQL document with extra headers (e.g. x-request-id), returning the parsed response. */
export async function postWithHeaders<T, V>(
  app: TestApp,
  key: string,
  doc: TypedDocumentNode<T, V>,
  variables: V,
  headers: Record<string, string>,
) {
  const res = await fetch(`${app.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const body = (await res.json()) as Omit<GqlResult<T>, 'status'>;
  return {
    status: res.status,
    headers: res.headers,
    data: body.data ?? null,
    errors: body.errors,
    extensions: body.extensions,
  } as GqlResult<T> & { headers: Headers };
}

/**
 * A dedicated connection as the application role (row-level security applies), closed after `fn`.
 * Session settings made on it never reach the shared pool.
 */
export async function withClient<R>(fn: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: process.env.ROSTER_TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The tenant's database id (uuid), read as an operator would. */
export async function tenantUuid(slug: string): Promise<string> {
  return withClient(async (c) => {
    await c.query(`select set_config('roster.operator', 'on', false)`);
    const rows = (await c.query<{ id: string }>('select id from tenants where slug = $1', [slug])).rows;
    if (rows.length !== 1) throw new Error(`tenant ${slug} not found`);
    return rows[0].id;
  });
}

/** Runs `fn` on a dedicated connection inside a transaction where roster.tenant_id is the tenant's. */
export async function asTenant<R>(tenantId: string, fn: (client: pg.Client) => Promise<R>): Promise<R> {
  return withClient(async (c) => {
    await c.query('begin');
    try {
      await c.query(`select set_config('roster.tenant_id', $1, false)`, [tenantId]);
      return await fn(c);
    } finally {
      await c.query('rollback');
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Schema-driven calls: every mutation of the schema, with arguments built from introspection, so that
// the permission and cross-tenant sweeps cover mutations added after these suites were written.

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface InputValue {
  name: string;
  type: TypeRef;
}
export interface MutationShape {
  name: string;
  args: InputValue[];
}
interface SchemaShape {
  mutations: MutationShape[];
  inputs: Map<string, InputValue[]>;
  enums: Map<string, string[]>;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }';

export async function introspectMutations(t: TestTenant): Promise<SchemaShape> {
  const data = dataOf(
    await t.raw<{
      __schema: {
        mutationType: { fields: MutationShape[] };
        types: Array<{ name: string; kind: string; inputFields: InputValue[] | null; enumValues: Array<{ name: string }> | null }>;
      };
    }>(`{ __schema { mutationType { fields { name args { name type { ${TYPE_REF} } } } }
                     types { name kind inputFields { name type { ${TYPE_REF} } } enumValues { name } } } }`),
  );
  const inputs = new Map<string, InputValue[]>();
  const enums = new Map<string, string[]>();
  for (const ty of data.__schema.types) {
    if (ty.kind === 'INPUT_OBJECT') inputs.set(ty.name, ty.inputFields ?? []);
    if (ty.kind === 'ENUM')
      enums.set(
        ty.name,
        (ty.enumValues ?? []).map((v) => v.name),
      );
  }
  return { mutations: data.__schema.mutationType.fields, inputs, enums };
}

/** Paths of every ID-typed argument or input field of a mutation, e.g. "userId", "input.manager.id", "userIds[]". */
export function idPaths(schema: SchemaShape, m: MutationShape): string[] {
  const out: string[] = [];
  const walk = (ref: TypeRef, path: string, seen: Set<string>) => {
    if (ref.kind === 'NON_NULL') return walk(ref.ofType!, path, seen);
    if (ref.kind === 'LIST') return walk(ref.ofType!, `${path}[]`, seen);
    if (ref.kind === 'SCALAR' && ref.name === 'ID') out.push(path);
    if (ref.kind === 'INPUT_OBJECT' && !seen.has(ref.name!)) {
      for (const f of schema.inputs.get(ref.name!) ?? []) walk(f.type, `${path}.${f.name}`, new Set([...seen, ref.name!]));
    }
  };
  for (const a of m.args) walk(a.type, a.name, new Set());
  return out;
}

const SCALAR_SAMPLES: Record<string, string> = {
  String: '"x"',
  Int: '1',
  Float: '1',
  Boolean: 'false',
  DateTimeISO: '"2026-01-01T00:00:00Z"',
  JSONObject: '{}',
};

/**
 * A call of the mutation selecting only __typename: required arguments get sample values (required IDs
 * get `fallbackId`), and the argument at `target.path` (with whatever encloses it) gets `target.id`.
 */
export function mutationCall(schema: SchemaShape, m: MutationShape, fallbackId: string, target?: { path: string; id: string }): string {
  const value = (ref: TypeRef, path: string, required: boolean): string | undefined => {
    if (ref.kind === 'NON_NULL') return value(ref.ofType!, path, true);
    const wanted =
      required ||
      (target !== undefined && (target.path === path || target.path.startsWith(`${path}.`) || target.path.startsWith(`${path}[]`)));
    if (!wanted) return undefined;
    if (ref.kind === 'LIST') {
      const inner = value(ref.ofType!, `${path}[]`, true);
      return inner === undefined ? '[]' : `[${inner}]`;
    }
    if (ref.kind === 'SCALAR')
      return ref.name === 'ID' ? JSON.stringify(target?.path === path ? target.id : fallbackId) : (SCALAR_SAMPLES[ref.name!] ?? '"x"');
    if (ref.kind === 'ENUM') return schema.enums.get(ref.name!)![0];
    const fields = (schema.inputs.get(ref.name!) ?? []).flatMap((f) => {
      const v = value(f.type, `${path}.${f.name}`, false);
      return v === undefined ? [] : [`${f.name}: ${v}`];
    });
    return `{ ${fields.join(', ')} }`;
  };
  const args = m.args.flatMap((a) => {
    const v = value(a.type, a.name, false);
    return v === undefined ? [] : [`${a.name}: ${v}`];
  });
  return `mutation { ${m.name}${args.length ? `(${args.join(', ')})` : ''} { __typename } }`;
}

/**
 * A generous per-test timeout for these suites (real PostgreSQL and HTTP; CI machines can be busy). Call
 * at the top of a test file; jest's ESM mode exposes its object only as import.meta.jest.
 */
export function allowSlowTests(ms = 30_000): void {
  (import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(ms);
}
