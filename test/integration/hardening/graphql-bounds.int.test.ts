/**
 * The GraphQL bounds added to depth and cost: aliases, field selections (fragments expanded) and the
 * size of the document itself (lexical tokens, bounding parsing and validation of hostile documents).
 * Refused before execution: a refused mutation changes nothing.
 */
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { graphqlRaw } from './limits-support.js';

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp({ ROSTER_GRAPHQL_MAX_ALIASES: '10', ROSTER_GRAPHQL_MAX_FIELDS: '200', ROSTER_GRAPHQL_MAX_TOKENS: '2000' });
  t = await app.createTenant();
});
afterAll(() => app.close());

const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { slug }`).join(' ')} }`;

it('accepts aliases up to the limit and refuses more with QUERY_TOO_MANY_ALIASES (400), before execution', async () => {
  const ok = await graphqlRaw(app.baseUrl, t.apiKey, aliased(10));
  expect(ok.status).toBe(200);
  expect(ok.json.data.a9.slug).toBe(t.slug);
  const refused = await graphqlRaw(app.baseUrl, t.apiKey, aliased(11));
  expect(refused.status).toBe(400);
  expect(refused.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_MANY_ALIASES', aliases: 11, maxAliases: 10 });
  expect(refused.json.data).toBeUndefined();

  const mutations = `mutation { ${Array.from({ length: 11 }, (_, i) => `m${i}: createTeam(input: { name: "alias-team-${i}" }) { team { id } }`).join(' ')} }`;
  const refusedWrite = await graphqlRaw(app.baseUrl, t.apiKey, mutations);
  expect(refusedWrite.json.errors[0].extensions.code).toBe('QUERY_TOO_MANY_ALIASES');
  const teams = await graphqlRaw(app.baseUrl, t.apiKey, '{ teams(first: 50) { totalCount } }');
  expect(teams.json.data.teams.totalCount).toBe(0);
});

it('counts fields with fragments expanded: a fragment fan-out is refused with QUERY_TOO_MANY_FIELDS', async () => {
  // Each level spreads the one below four times: 4^4 = 256 copies of { slug displayName }.
  const query = `
    fragment L0 on Tenant { slug displayName }
    fragment L1 on Tenant { ...L0 ...L0 ...L0 ...L0 }
    fragment L2 on Tenant { ...L1 ...L1 ...L1 ...L1 }
    fragment L3 on Tenant { ...L2 ...L2 ...L2 ...L2 }
    fragment L4 on Tenant { ...L3 ...L3 ...L3 ...L3 }
    { viewer { ...L4 } }`;
  const res = await graphqlRaw(app.baseUrl, t.apiKey, query);
  expect(res.status).toBe(400);
  expect(res.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_MANY_FIELDS', maxFields: 200 });
  expect(res.json.errors[0].extensions.fields).toBeGreaterThan(500);
});

it('refuses a document of more lexical tokens than the limit at parsing (400 GRAPHQL_PARSE_FAILED)', async () => {
  const huge = `{ viewer { ${'slug '.repeat(3000)} } }`;
  const res = await graphqlRaw(app.baseUrl, t.apiKey, huge);
  expect(res.status).toBe(400);
  expect(res.json.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  expect(res.json.errors[0].message).toMatch(/tokens/);
});

it('refuses more than 100 ids in nodes(ids:) with INVALID_INPUT instead of answering the first 100', async () => {
  const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }';
  const viewer = (await graphqlRaw(app.baseUrl, t.apiKey, '{ viewer { id } }')).json.data.viewer.id;
  const ok = await graphqlRaw(app.baseUrl, t.apiKey, query, { ids: Array(100).fill(viewer) });
  expect(ok.json.data.nodes).toHaveLength(100);
  const refused = await graphqlRaw(app.baseUrl, t.apiKey, query, { ids: Array(101).fill(viewer) });
  expect(refused.json.errors[0].extensions).toMatchObject({ code: 'INVALID_INPUT' });
  expect(refused.json.errors[0].message).toMatch(/at most 100/);
  expect(refused.json.data).toBeNull();
});

it('answers a subscription, which the API does not offer, with a validation error (400), not an internal one', async () => {
  for (const query of ['subscription { __typename }', 'subscription S { users { totalCount } }']) {
    const res = await graphqlRaw(app.baseUrl, t.apiKey, query);
    expect(res.status).toBe(400);
    expect(res.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.json.errors[0].message).toMatch(/subscriptions/i);
  }
});
