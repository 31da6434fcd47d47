/**
 * Hostile input: property-based fuzzing over real HTTP (issue 6). Random and half-valid JSON bodies and
 * query parameters go to the SCIM routes, random inputs to GraphQL mutations and queries. Whatever is
 * sent: never a 5xx; SCIM failures carry the RFC 7644 error body, GraphQL failures a typed
 * `extensions.code`; and a refused request changed nothing (the tenant's directory is fingerprinted
 * before and after each refused request). `npm test` runs a few dozen cases per property;
 * `npm run fuzz` (FUZZ_RUNS) many more.
 */
import fc from 'fast-check';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { bearer, ERROR_SCHEMA, fingerprint, PATCH_OP, request, type HttpResponse } from './support.js';

const RUNS = process.env.FUZZ_RUNS ? Math.max(30, Math.ceil(Number(process.env.FUZZ_RUNS) / 20)) : 15;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const url = () => process.env.ROSTER_TEST_DATABASE_URL!;

let app: TestApp;
let t: TestTenant;
let userId: string;
let groupId: string;
let customUrn: string;

beforeAll(async () => {
  app = await startTestApp({
    ROSTER_RATE_LIMIT_SCIM_RPS: '100000',
    ROSTER_RATE_LIMIT_SCIM_BURST: '100000',
    ROSTER_RATE_LIMIT_GRAPHQL_RPS: '100000',
    ROSTER_RATE_LIMIT_GRAPHQL_BURST: '100000',
  });
  t = await app.createTenant();
  await t.raw('mutation { declareCustomAttribute(input: { name: "level", type: integer, multiValued: false }) { userErrors { code } } }');
  customUrn = `urn:roster:params:scim:schemas:extension:${t.slug}:2.0:User`;
  const u = await scim('POST', '/Users', { schemas: [CORE], userName: 'seed@fuzz.test', externalId: 'seed' });
  userId = u.json.id;
  const g = await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Seed', members: [{ value: userId }] });
  groupId = g.json.id;
}, 30_000);
afterAll(() => app?.close());

function scim(method: string, path: string, body?: unknown, contentType = 'application/scim+json'): Promise<HttpResponse> {
  return request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { ...bearer(t.scimToken), 'content-type': contentType }, body });
}

const hostile = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    "'; drop table users; --",
    '") or 1=1 --',
    '__proto__',
    'constructor',
    '\u202e',
    'ＡＤＭＩＮ',
    '',
    ' ',
    'True',
    'False',
    'null',
    '1e999',
    '-1',
  ),
);
const scalar = fc.oneof(hostile, fc.boolean(), fc.integer(), fc.double({ noNaN: false }), fc.constant(null));
const json = fc.jsonValue({ maxDepth: 4 });
const value = fc.oneof(
  scalar,
  json,
  fc.array(fc.record({ value: scalar, type: fc.option(scalar), primary: fc.option(scalar) }, { requiredKeys: [] }), { maxLength: 3 }),
);
const attrName = fc.oneof(
  fc.constantFrom(
    'userName',
    'name',
    'name.givenName',
    'emails',
    'emails[type eq "work"].value',
    'active',
    'displayName',
    'externalId',
    'members',
    'members[value eq "x"]',
    'roles',
    'groups',
    'manager',
    `${ENTERPRISE}:manager`,
    `${ENTERPRISE}:department`,
    'id',
    'meta',
    'schemas',
    'phoneNumbers',
    'addresses',
  ),
  fc.constant('CUSTOM'),
  hostile,
);
const userBody = fc
  .record(
    {
      schemas: fc.oneof(fc.constant([CORE]), fc.constant([CORE, ENTERPRISE]), json),
      userName: fc.oneof(
        fc.string({ minLength: 1, maxLength: 40 }).map((s) => `${s}@fuzz.test`),
        scalar,
      ),
      name: fc.oneof(fc.record({ givenName: scalar, familyName: scalar }, { requiredKeys: [] }), scalar),
      emails: value,
      active: scalar,
      externalId: scalar,
      roles: value,
      [ENTERPRISE]: fc.oneof(
        fc.record({ department: scalar, manager: fc.oneof(scalar, fc.record({ value: scalar })) }, { requiredKeys: [] }),
        scalar,
      ),
      extra: fc.dictionary(hostile, value, { maxKeys: 3 }),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...b }) => ({ ...b, ...(extra as object) }));
const patchBody = fc.record(
  {
    schemas: fc.oneof(fc.constant([PATCH_OP]), json),
    Operations: fc.oneof(
      fc.array(
        fc.record(
          { op: fc.oneof(fc.constantFrom('add', 'Replace', 'remove', 'copy'), scalar), path: attrName, value },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      json,
    ),
  },
  { requiredKeys: [] },
);
const groupBody = fc.record(
  { schemas: fc.oneof(fc.constant([GROUP]), json), displayName: scalar, members: value, externalId: scalar },
  { requiredKeys: [] },
);
const rawText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '[', '{"a":', 'null', '"x"', '1', '[]', '{"schemas":', '\u0000', '{"userName":"\\ud800"}'),
);

const resolve = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null).replaceAll('"CUSTOM"', JSON.stringify(`${customUrn}:level`)));

type Send = { method: string; path: string; body?: unknown; contentType?: string };
const scimRequest: fc.Arbitrary<Send> = fc.oneof(
  userBody.map((body) => ({ method: 'POST', path: '/Users', body })),
  userBody.map((body) => ({ method: 'PUT', path: `/Users/{user}`, body })),
  patchBody.map((body) => ({ method: 'PATCH', path: `/Users/{user}`, body })),
  patchBody.map((body) => ({ method: 'PATCH', path: `/Groups/{group}`, body })),
  groupBody.map((body) => ({ method: 'POST', path: '/Groups', body })),
  groupBody.map((body) => ({ method: 'PUT', path: `/Groups/{group}`, body })),
  fc
    .record(
      { filter: hostile, sortBy: attrName, attributes: fc.oneof(attrName, json), startIndex: scalar, count: scalar, cursor: scalar },
      { requiredKeys: [] },
    )
    .map((body) => ({ method: 'POST', path: '/Users/.search', body })),
  fc
    .tuple(
      fc.constantFrom('/Users', '/Groups', '/Users/.search', '/Bulk', '/Users/{user}'),
      rawText,
      fc.constantFrom('application/scim+json', 'application/json', 'text/plain'),
    )
    .map(([path, body, contentType]) => ({ method: path === '/Users/{user}' ? 'PATCH' : 'POST', path, body, contentType })),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/Bulk'),
    body: fc.record(
      {
        schemas: json,
        Operations: fc.array(
          fc.record(
            {
              method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET'),
              path: fc.constantFrom('/Users', '/Groups', '/Users/{user}', '/Groups/{group}'),
              bulkId: scalar,
              data: fc.oneof(userBody, patchBody, groupBody, json),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
  }),
);

function expectScimFailureShape(res: HttpResponse) {
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.json?.schemas).toEqual([ERROR_SCHEMA]);
  expect(res.json.status).toBe(String(res.status));
}

describe('SCIM over HTTP under fuzzing', () => {
  it('bodies: never a 5xx, SCIM error bodies, and a refused request changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(scimRequest, async (s) => {
        const path = s.path.replace('{user}', userId).replace('{group}', groupId);
        const body = typeof s.body === 'string' ? s.body : resolve(s.body);
        const before = await fingerprint(url(), t.id);
        const res = await scim(s.method, path, body, s.contentType);
        expect({ req: `${s.method} ${path}`, status: res.status < 500 ? 'ok' : `${res.status} ${res.text.slice(0, 300)}` }).toEqual({
          req: `${s.method} ${path}`,
          status: 'ok',
        });
        if (res.status >= 400) {
          expectScimFailureShape(res);
          expect(await fingerprint(url(), t.id)).toEqual(before);
        }
        if (s.path === '/Bulk' && res.status === 200)
          for (const op of res.json.Operations ?? []) expect(Number(op.status)).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('query parameters: never a 5xx, 200 or a SCIM 400', async () => {
    const param = fc.oneof(
      hostile,
      attrName.map((a) => (a === 'CUSTOM' ? `${customUrn}:level` : a)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/Users', '/Groups'),
        fc.record(
          {
            filter: fc.oneof(
              param,
              param.map((p) => `${p} eq "x"`),
              param.map((p) => `userName eq ${JSON.stringify(p)}`),
            ),
            sortBy: param,
            sortOrder: hostile,
            attributes: param,
            excludedAttributes: param,
            startIndex: hostile,
            count: hostile,
            cursor: hostile,
          },
          { requiredKeys: [] },
        ),
        async (path, params) => {
          const qs = new URLSearchParams(params as Record<string, string>).toString();
          const res = await scim('GET', `${path}?${qs}`);
          expect({ qs, status: res.status < 500 ? 'ok' : `${res.status} ${res.text.slice(0, 300)}` }).toEqual({ qs, status: 'ok' });
          if (res.status !== 200) {
            expect(res.status).toBe(400);
            expectScimFailureShape(res);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describe('GraphQL over HTTP under fuzzing', () => {
  const MUTATIONS = [
    'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code field } } }',
    'mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { user { id } userErrors { code field } } }',
    'mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } userErrors { code } } }',
    'mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }',
    'mutation($i: DeclareCustomAttributeInput!) { declareCustomAttribute(input: $i) { customAttribute { id } userErrors { code } } }',
    'mutation($r: ID!, $u: [ID!]!) { assignRole(roleId: $r, userIds: $u) { userErrors { code } } }',
    'query($f: UserFilter, $n: Int, $a: String, $o: UserOrder) { users(filter: $f, first: $n, after: $a, orderBy: $o) { totalCount nodes { id } } }',
    'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
  ];
  const input = fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'userName',
        'displayName',
        'department',
        'manager',
        'customAttributes',
        'emails',
        'active',
        'externalId',
        'name',
        'type',
        'multiValued',
        'field',
        'search',
        'teamId',
      ),
      hostile,
    ),
    fc.oneof(scalar, json, fc.record({ id: scalar, externalId: scalar, scimId: scalar }, { requiredKeys: [] })),
    { maxKeys: 5 },
  );
  const vars = fc.record(
    {
      i: input,
      id: scalar,
      r: scalar,
      u: fc.oneof(fc.array(scalar, { maxLength: 3 }), scalar),
      f: fc.oneof(input, scalar),
      n: scalar,
      a: scalar,
      o: fc.oneof(input, scalar),
      ids: fc.oneof(fc.array(scalar, { maxLength: 3 }), scalar),
    },
    { requiredKeys: [] },
  );

  it('mutations and queries with random inputs: never a 5xx, typed errors, and a failed mutation changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS), vars, async (query, variables) => {
        const before = await fingerprint(url(), t.id);
        const res = await request('POST', `${app.baseUrl}/graphql`, { headers: bearer(t.apiKey), body: { query, variables } });
        expect({ status: res.status < 500 ? 'ok' : `${res.status} ${res.text.slice(0, 300)}` }).toEqual({ status: 'ok' });
        const errors = res.json?.errors ?? [];
        for (const e of errors) {
          expect(typeof e.extensions?.code).toBe('string');
          expect(e.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
        }
        const payload = res.json?.data ? (Object.values(res.json.data)[0] as { userErrors?: unknown[] } | null) : null;
        if (query.startsWith('mutation') && (errors.length > 0 || (payload?.userErrors?.length ?? 0) > 0 || !payload)) {
          expect(await fingerprint(url(), t.id)).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('documents: random edits of a valid query are answered with typed errors, never a 5xx', async () => {
    const base =
      'query Q($n: Int) { users(first: $n, filter: { search: "a" }) { totalCount nodes { id userName manager { id } team { name } } } viewer { slug } }';
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.nat(4),
            fc.oneof(
              fc.string({ maxLength: 4 }),
              fc.constantFrom('{', '}', '(', ')', '$', '"', '...', '@', '#', '\\u0000', 'fragment F on User { id }'),
            ),
          ),
          { maxLength: 5 },
        ),
        async (edits) => {
          let doc = base;
          for (const [at, del, ins] of edits) {
            const i = at % (doc.length + 1);
            doc = doc.slice(0, i) + ins + doc.slice(i + del);
          }
          const res = await request('POST', `${app.baseUrl}/graphql`, {
            headers: bearer(t.apiKey),
            body: { query: doc, variables: { n: 3 } },
          });
          expect({ doc, status: res.status < 500 ? 'ok' : `${res.status} ${res.text.slice(0, 300)}` }).toEqual({ doc, status: 'ok' });
          for (const e of res.json?.errors ?? []) expect(typeof e.extensions?.code).toBe('string');
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});
