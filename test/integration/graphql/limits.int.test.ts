import { UserPageDocument } from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, snapshot } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  const boss = await createUser(t, { userName: 'boss@limits.test' });
  await createUser(t, { userName: 'report@limits.test', manager: { id: boss.id } });
});
afterAll(() => app.close());

/** `{ users(first: 1) { nodes { manager { … { id } } } } }` with `managers` nested managers: depth managers + 3. */
const managerChainQuery = (managers: number) =>
  `{ users(first: 1) { nodes { ${'manager { '.repeat(managers)}id${' }'.repeat(managers)} } } }`;

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}`, ...headers },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text) as {
      data?: unknown;
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
      extensions?: Record<string, unknown>;
    },
  };
}

describe('query depth', () => {
  it('accepts a query at the depth limit (12)', async () => {
    const res = await t.raw(managerChainQuery(9));
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
  });

  it('refuses a query deeper than 12 with QUERY_TOO_DEEP', async () => {
    const res = await t.raw(managerChainQuery(10));
    expect(res.status).toBe(400);
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', depth: 13, maxDepth: 12 });
    expect(res.errors![0].message).toMatch(/depth 13 exceeds the limit of 12/);
  });

  it('counts depth through fragments', async () => {
    const query = `
      fragment M on User { manager { manager { manager { manager { manager { manager { id } } } } } } }
      query { users(first: 1) { nodes { manager { manager { manager { manager { ...M } } } } } } }`;
    const res = await t.raw(query);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_DEEP');
  });

  it('refuses before execution: a too-deep mutation creates nothing', async () => {
    const before = await snapshot(t);
    const res = await t.raw(
      `mutation { createUser(input: { userName: "deep@limits.test" }) { user { ${'manager { '.repeat(12)}id${' }'.repeat(12)} } } }`,
    );
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_DEEP');
    expect(await snapshot(t)).toEqual(before);
  });
});

describe('query cost', () => {
  const nested = (levels: number, first = 100) => {
    let inner = 'id';
    for (let i = 0; i < levels; i++) inner = `directReports(first: ${first}) { nodes { ${inner} } }`;
    return inner;
  };

  it('refuses nested connections of 100 several levels deep with QUERY_TOO_COMPLEX, reporting the cost', async () => {
    const res = await t.raw(`{ users(first: 100) { nodes { ${nested(2)} } } }`);
    expect(res.status).toBe(400);
    expect(res.data).toBeNull();
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 20000 });
    expect(res.errors![0].extensions!.cost as number).toBeGreaterThan(20000);
  });

  it('uses variables when estimating page sizes', async () => {
    const query = `query($n: Int) { users(first: $n) { nodes { directReports(first: $n) { nodes { directReports(first: $n) { nodes { id } } } } } } }`;
    expect((await t.raw(query, { n: 100 })).errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const small = await t.raw(query, { n: 5 });
    expect(small.errors).toBeUndefined();
    expect(small.extensions?.cost).toEqual({ requested: expect.any(Number), maximum: 20000 });
  });

  it('refuses before execution: a too-costly mutation creates nothing', async () => {
    const before = await snapshot(t);
    const res = await t.raw(`mutation { createUser(input: { userName: "costly@limits.test" }) { user { ${nested(3)} } } }`);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(await snapshot(t)).toEqual(before);
  });

  it('every response carries extensions.cost: queries, mutations, refused and invalid operations', async () => {
    const query = await t.gql(UserPageDocument, { first: 10 });
    expect(query.extensions?.cost).toEqual({ requested: expect.any(Number), maximum: 20000 });
    expect((query.extensions!.cost as { requested: number }).requested).toBeGreaterThan(10);

    const bigger = await t.gql(UserPageDocument, { first: 50 });
    expect((bigger.extensions!.cost as { requested: number }).requested).toBeGreaterThan(
      (query.extensions!.cost as { requested: number }).requested,
    );

    const mutation = await t.raw('mutation { createUser(input: { userName: "" }) { userErrors { code } } }');
    expect(mutation.data).toEqual({ createUser: { userErrors: [{ code: 'INVALID_INPUT' }] } });
    expect(mutation.extensions?.cost).toEqual({ requested: expect.any(Number), maximum: 20000 });

    for (const bad of [
      managerChainQuery(20),
      `{ users(first: 100) { nodes { ${nested(2)} } } }`,
      '{ noSuchField }',
      '{ users(first: 101) { totalCount } }',
      '{ users(',
    ]) {
      const res = await t.raw(bad);
      expect({ bad, cost: res.extensions?.cost }).toEqual({ bad, cost: { requested: expect.any(Number), maximum: 20000 } });
    }
  });
});

describe('request body', () => {
  it('malformed JSON → 400 with errors[0].extensions.code BAD_REQUEST', async () => {
    const res = await post('{"query": "{ viewer { id } }"');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    expect(res.body.data).toBeUndefined();
  });

  it('a body over 1 MB → 413 with errors[0].extensions.code PAYLOAD_TOO_LARGE', async () => {
    const huge = JSON.stringify({ query: '{ viewer { id } }', variables: { padding: 'x'.repeat(1024 * 1024 + 16) } });
    const res = await post(huge);
    expect(res.status).toBe(413);
    expect(res.body.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a GraphQL syntax error is a 400 with GRAPHQL_PARSE_FAILED, not a 500', async () => {
    const res = await post(JSON.stringify({ query: '{ users(' }));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('an argument of the wrong type is a 400 naming the problem, without internals', async () => {
    const res = await t.raw('{ users(first: "ten") { totalCount } }');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.errors)).not.toMatch(/at .*\.ts:\d+|node_modules|stacktrace/i);
    expect(dataOf(await t.gql(UserPageDocument, { first: 1 })).users.totalCount).toBe(2);
  });
});
