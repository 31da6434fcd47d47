/**
 * Hostile input: injection attempts through filter, sortBy, attributes, custom attribute names and
 * GraphQL arguments (issue 6). Where the text would have to be SQL or an attribute name, it is refused
 * with 400 (SCIM error body) or a typed GraphQL error; where it is a value (a quoted filter value, a
 * search string), it is only ever a value: 200 with nothing matched. Very long strings and deeply nested
 * JSON are refused cleanly. Nothing changes, and the tables are all still there.
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { bearer, expectScimError, fingerprint, patchOp, request, SCIM_JSON, tenantSql, type HttpResponse } from './support.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const url = () => process.env.ROSTER_TEST_DATABASE_URL!;

/** Classic SQL injections, filter-grammar breakouts, unicode look-alikes and invisible characters. */
export const HOSTILE = [
  "'; drop table users; --",
  '"; drop table users; --',
  '") or 1=1 --',
  "' or '1'='1",
  'userName eq "x" or 1 eq 1',
  'x) or (1=1',
  '1; select pg_sleep(10)',
  '$$; drop table users; $$',
  '\\"; delete from users; --',
  'ｕｓｅｒＮａｍｅ',
  '\u202euserName',
  'user\u0000Name',
  // a lone UTF-16 surrogate: JSON can spell it (\ud800), no text encoding can carry it
  'user\ud800Name',
  'userName\u200b',
  'emails[type eq "work"]; drop table users',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName; drop table users',
  '__proto__',
  '../../etc/passwd',
  '%27%20or%201%3D1',
];

/** Input no field can hold (U+0000, a lone surrogate): refused up front, wherever it is sent. */
const unstorable = (p: string) => p.includes('\u0000') || !p.isWellFormed();

let app: TestApp;
let t: TestTenant;
let before: Record<string, string>;
let tenantBefore: Record<string, string>;

const scim = (method: string, path: string, body?: unknown): Promise<HttpResponse> =>
  request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { ...bearer(t.scimToken), ...SCIM_JSON }, body });
const gql = (query: string, variables?: unknown) =>
  request('POST', `${app.baseUrl}/graphql`, { headers: bearer(t.apiKey), body: { query, variables } });
const q = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;

let userId: string;

beforeAll(async () => {
  app = await startTestApp({
    ROSTER_RATE_LIMIT_SCIM_RPS: '100000',
    ROSTER_RATE_LIMIT_SCIM_BURST: '100000',
    ROSTER_RATE_LIMIT_GRAPHQL_RPS: '100000',
    ROSTER_RATE_LIMIT_GRAPHQL_BURST: '100000',
  });
  t = await app.createTenant();
  const decl = await gql(
    'mutation { declareCustomAttribute(input: { name: "level", type: integer, multiValued: false }) { userErrors { code } } }',
  );
  expect(decl.json.errors).toBeUndefined();
  const u = await scim('POST', '/Users', { schemas: [CORE], userName: 'victim@inj.test', externalId: 'victim' });
  expect(u.status).toBe(201);
  userId = u.json.id;
  before = await fingerprint(url(), t.id);
  tenantBefore = before;
}, 30_000);

afterAll(async () => {
  // Nothing changed, and every table is still there.
  expect(await fingerprint(url(), t.id)).toEqual(tenantBefore);
  const [row] = await tenantSql<{ n: string }>(url(), t.id, 'select count(*) as n from users');
  expect(Number(row.n)).toBe(1);
  await app?.close();
});

describe('SCIM', () => {
  it('filter: hostile text as an attribute or as the whole filter is a 400 invalidFilter', async () => {
    for (const p of HOSTILE) {
      for (const filter of [p, `${p} eq "x"`, `${p} pr`, `userName eq "x" and ${p}`]) {
        const res = await scim('GET', `/Users${q({ filter })}`);
        expectScimError(res, 400);
        expect(res.json.scimType).toMatch(/^(invalidFilter|invalidValue)$/);
      }
    }
  });

  it('filter: hostile text as a quoted value is only a value (200, nothing matched), in GET and .search', async () => {
    for (const p of HOSTILE) {
      const filter = `userName eq ${JSON.stringify(p)} or externalId co ${JSON.stringify(p)} or emails[value sw ${JSON.stringify(p)}]`;
      for (const res of [await scim('GET', `/Users${q({ filter })}`), await scim('POST', '/Users/.search', { filter })]) {
        if (unstorable(p)) {
          // No stored text can hold U+0000 or a lone surrogate: refused up front instead of reaching the database.
          expectScimError(res, 400);
          continue;
        }
        expect({ status: res.status, text: res.status === 200 ? '' : res.text }).toEqual({ status: 200, text: '' });
        expect(res.json.totalResults).toBe(0);
      }
    }
  });

  it('sortBy, attributes, excludedAttributes: hostile names are a 400', async () => {
    for (const p of HOSTILE) {
      for (const param of ['sortBy', 'attributes', 'excludedAttributes']) {
        const res = await scim('GET', `/Users${q({ [param]: p })}`);
        expectScimError(res, 400);
        expect(res.json.scimType).toMatch(/invalidValue|invalidFilter|invalidPath/);
        const group = await scim('GET', `/Groups${q({ [param]: p })}`);
        expectScimError(group, 400);
      }
    }
  });

  it('custom attribute names: hostile names are refused when declared, and as PATCH paths and body keys', async () => {
    const ext = `urn:roster:params:scim:schemas:extension:${t.slug}:2.0:User`;
    for (const p of HOSTILE) {
      const decl = await gql(
        'mutation($name: String!) { declareCustomAttribute(input: { name: $name, type: string, multiValued: false }) { customAttribute { id } userErrors { code field } } }',
        { name: p },
      );
      expect(decl.status).toBeLessThan(500);
      const payload = decl.json.data?.declareCustomAttribute;
      expect(payload?.customAttribute ?? null).toBeNull();
      expect(payload?.userErrors?.[0]?.code ?? decl.json.errors?.[0]?.extensions?.code).toEqual(expect.any(String));

      expectScimError(await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path: `${ext}:${p}`, value: 'x' })), 400);
      const body = await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', value: { [`${ext}:${p}`]: 'x' } }));
      expectScimError(body, 400);
      const put = await scim('PUT', `/Users/${userId}`, {
        schemas: [CORE, ext],
        userName: 'victim@inj.test',
        externalId: 'victim',
        [ext]: { [p]: 'x' },
      });
      expectScimError(put, 400);
      expectScimError(await scim('GET', `/Users${q({ filter: `${ext}:${p} eq "1"` })}`), 400);
    }
  });

  it('very long strings and deeply nested JSON are refused cleanly (4xx), never a 5xx', async () => {
    const long = 'a'.repeat(200_000);
    const checks: Array<[string, Promise<HttpResponse>]> = [
      ['long filter (.search)', scim('POST', '/Users/.search', { filter: `userName eq "${long}"` })],
      ['long userName', scim('POST', '/Users', { schemas: [CORE], userName: long })],
      ['long sortBy', scim('POST', '/Users/.search', { sortBy: long })],
      ['long attributes', scim('POST', '/Users/.search', { attributes: [long] })],
      ['long PATCH path', scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path: long, value: 'x' }))],
      [
        'body over the size limit',
        scim('POST', '/Users', { schemas: [CORE], userName: 'big@inj.test', displayName: 'x'.repeat(2_000_000) }),
      ],
    ];
    // Deep JSON is written as text: serialising it would overflow the test's own stack first.
    const deep = (depth: number, leaf: string) => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
    const deepArray = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const patch = (op: string) => `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${op}]}`;
    checks.push(
      ['deeply nested name', scim('POST', '/Users', `{"schemas":["${CORE}"],"userName":"deep@inj.test","name":${deep(5000, '"x"')}}`)],
      [
        'deeply nested PATCH value',
        scim('PATCH', `/Users/${userId}`, patch(`{"op":"replace","path":"name","value":${deep(5000, '"x"')}}`)),
      ],
      ['deeply nested path-less PATCH', scim('PATCH', `/Users/${userId}`, patch(`{"op":"add","value":${deep(5000, '1')}}`))],
      [
        'deeply nested members',
        scim(
          'POST',
          '/Groups',
          `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"deep","members":[${deep(5000, '"x"')}]}`,
        ),
      ],
      ['deeply nested raw array body', scim('POST', '/Users', deepArray)],
      ['deeply nested .search', scim('POST', '/Users/.search', `{"filter":${deep(5000, '"x"')}}`)],
    );
    for (const [what, pending] of checks) {
      const res = await pending;
      expect({ what, status: res.status >= 400 && res.status < 500 ? '4xx' : `${res.status} ${res.text.slice(0, 200)}` }).toEqual({
        what,
        status: '4xx',
      });
      expectScimError(res, res.status);
    }
  }, 30_000);
});

describe('SCIM bodies no field can hold', () => {
  // Found by probing: a lone surrogate reached PostgreSQL's JSON (the audit row) and failed the commit with a
  // 500; a value nested a few thousand deep overflowed the PATCH coercion's stack; either one inside a Bulk
  // request failed every operation with a 500. Each is now a 400 before anything runs, so nothing is written.
  const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
  const deepArray = (depth: number) => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;
  const patchText = (op: string) => `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${op}]}`;

  it('a lone surrogate, or nesting past the limit, is a 400 invalidValue in every kind of request, Bulk included', async () => {
    const good = { method: 'POST', path: '/Users', bulkId: 'ok', data: { schemas: [CORE], userName: 'bulk-ok@inj.test' } };
    const checks: Array<[string, Promise<HttpResponse>]> = [
      ['create', scim('POST', '/Users', { schemas: [CORE], userName: 'sur\ud800@inj.test' })],
      ['PATCH', scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path: 'displayName', value: 'bad \udc00' }))],
      ['PUT', scim('PUT', `/Users/${userId}`, { schemas: [CORE], userName: 'victim@inj.test', externalId: 'victim', title: '\udbff' })],
      ['group', scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: '\ud800' })],
      ['a key', scim('PATCH', `/Users/${userId}`, patchOp({ op: 'add', value: { ['title\ud800']: 'x' } }))],
      // spelled as a filter's escape, in a value filter (jsonb containment: PostgreSQL's 22P02 was a 500)
      ['filter', scim('GET', `/Users${q({ filter: 'emails[value eq "\\ud800"]' })}`)],
      ['.search filter', scim('POST', '/Users/.search', { filter: 'emails[value eq "x\\udc00"]' })],
      [
        'PATCH title nested 40 deep',
        scim('PATCH', `/Users/${userId}`, patchText(`{"op":"replace","path":"title","value":${deepArray(40)}}`)),
      ],
      [
        'PATCH title nested 5000 deep',
        scim('PATCH', `/Users/${userId}`, patchText(`{"op":"replace","path":"title","value":${deepArray(5000)}}`)),
      ],
      [
        'PATCH title with a large object',
        scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path: 'title', value: { a: 'x'.repeat(100_000) } })),
      ],
      [
        'Bulk with a lone surrogate',
        scim('POST', '/Bulk', {
          schemas: [BULK],
          Operations: [
            good,
            { method: 'PATCH', path: `/Users/${userId}`, data: patchOp({ op: 'replace', path: 'displayName', value: '\udc00' }) },
          ],
        }),
      ],
      [
        'Bulk nested 5000 deep',
        scim(
          'POST',
          '/Bulk',
          `{"schemas":["${BULK}"],"Operations":[${JSON.stringify(good)},{"method":"POST","path":"/Users","data":{"schemas":["${CORE}"],"userName":"d@inj.test","title":${deepArray(5000)}}}]}`,
        ),
      ],
    ];
    for (const [what, pending] of checks) {
      const res = await pending;
      const scimType = what.includes('filter') ? 'invalidFilter' : 'invalidValue';
      expect({ what, status: res.status, scimType: res.json?.scimType }).toEqual({ what, status: 400, scimType });
      expectScimError(res, 400);
      // the whole value is not echoed back
      expect(res.text.length).toBeLessThan(1000);
    }
    // (afterAll: nothing was written, the Bulk request's good operation included)
  }, 30_000);
});

describe('compressed bodies', () => {
  // A body that did not decompress was a 500 (the decompressor's error had no status); a good one is read.
  it('a body that does not decompress is a 400 at both doors; one that does is read', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const headers = { 'content-encoding': encoding };
      const res = await request('POST', `${app.baseUrl}/scim/v2/Users`, {
        headers: { ...bearer(t.scimToken), ...SCIM_JSON, ...headers },
        body: 'garbage',
      });
      expectScimError(res, 400);
      expect(res.json.scimType).toBe('invalidSyntax');
      const g = await request('POST', `${app.baseUrl}/graphql`, { headers: { ...bearer(t.apiKey), ...headers }, body: 'garbage' });
      expect({ status: g.status, code: g.json?.errors?.[0]?.extensions?.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
    const search = gzipSync(JSON.stringify({ filter: 'userName eq "victim@inj.test"' }));
    const found = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${app.baseUrl}/scim/v2/Users/.search`);
      const req = http.request(
        {
          hostname: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { ...bearer(t.scimToken), ...SCIM_JSON, 'content-encoding': 'gzip', 'content-length': String(search.length) },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(search);
    });
    expect(found.status).toBe(200);
    expect(JSON.parse(found.body).totalResults).toBe(1);
  });
});

describe('GraphQL', () => {
  it('hostile arguments are values (no match) or typed errors, never a 5xx', async () => {
    for (const p of HOSTILE) {
      const search = await gql('query($s: String) { users(first: 5, filter: { search: $s }) { totalCount } }', { s: p });
      if (unstorable(p)) {
        expect(search.status).toBe(400);
        expect(search.json.errors[0].extensions.code).toBe('BAD_REQUEST');
      } else {
        expect(search.status).toBe(200);
        expect(search.json.data.users.totalCount).toBe(0);
      }
      const inline = await gql(`query { users(first: 5, filter: { search: ${JSON.stringify(p)} }) { totalCount } }`);
      expect(inline.status).toBeLessThan(500);
      expect(inline.json.data?.users?.totalCount ?? 0).toBe(0);
      for (const [query, variables] of [
        ['query($id: ID!) { user(id: $id) { id } }', { id: p }],
        ['query($id: ID!) { node(id: $id) { id } }', { id: p }],
        ['query($f: UserOrderField!) { users(first: 1, orderBy: { field: $f }) { totalCount } }', { f: p }],
        ['query($a: String) { auditEvents(first: 1, filter: { action: $a }) { totalCount } }', { a: p }],
        ['query($c: String) { users(first: 1, after: $c) { totalCount } }', { c: p }],
        ['mutation($id: ID!) { deleteUser(id: $id) { userErrors { code } } }', { id: p }],
        [
          'mutation($u: ID!, $m: ManagerRefInput) { setManager(userId: $u, manager: $m) { userErrors { code } } }',
          { u: p, m: { externalId: p } },
        ],
        [
          'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code } } }',
          { i: { userName: p, department: p, customAttributes: { [p]: p } } },
        ],
      ] as Array<[string, Record<string, unknown>]>) {
        const res = await gql(query, variables);
        expect({ query, status: res.status < 500 ? 'ok' : `${res.status} ${res.text.slice(0, 300)}` }).toEqual({ query, status: 'ok' });
        for (const e of res.json.errors ?? []) {
          expect(e.extensions?.code).toEqual(expect.any(String));
          expect(e.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
        }
      }
    }
    // A hostile-but-valid userName is data: the user it creates is deleted again so the fingerprint holds.
    const created = await tenantSql<{ id: string }>(url(), t.id, `select id from users where user_name <> 'victim@inj.test'`);
    for (const c of created) {
      const del = await scim('DELETE', `/Users/${c.id}`);
      expect(del.status).toBe(204);
    }
    await tenantSql(url(), t.id, `delete from users where deleted_at is not null`).catch(() => undefined);
    await tenantSql(url(), t.id, `delete from teams where id not in (select team_id from users where team_id is not null)`).catch(
      () => undefined,
    );
  }, 60_000);

  it('U+0000 spelled in a document as \\u0000 or \\u{0} is refused up front (400 BAD_REQUEST)', async () => {
    for (const escape of ['\\u0000', '\\u{0}', '\\u{000}']) {
      const res = await gql(`mutation { createUser(input: { userName: "nul${escape}@inj.test" }) { user { id } userErrors { code } } }`);
      expect({ escape, status: res.status, code: res.json.errors?.[0]?.extensions?.code }).toEqual({
        escape,
        status: 400,
        code: 'BAD_REQUEST',
      });
    }
  });

  it('deeply nested variables and documents are refused with a typed error', async () => {
    const deep = `${'{"a":'.repeat(5000)}"x"${'}'.repeat(5000)}`;
    const body = `{"query":"mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code } } }","variables":{"i":{"userName":"deep@inj.test","customAttributes":{"level":${deep}}}}}`;
    const res = await request('POST', `${app.baseUrl}/graphql`, { headers: bearer(t.apiKey), body });
    expect(res.status).toBeLessThan(500);
    expect(res.json.data?.createUser?.user ?? null).toBeNull();
    const doc = `query { ${'viewer { '.repeat(3000)}slug${' }'.repeat(3000)} }`;
    const nested = await gql(doc);
    expect(nested.status).toBeLessThan(500);
    expect(nested.json.errors?.[0]?.extensions?.code).toEqual(expect.any(String));
  });
});
