/**
 * Per-tenant rate limits on both doors, shared through PostgreSQL by every Roster process: SCIM answers
 * 429 with an integer Retry-After and a SCIM error body; GraphQL answers HTTP 429 with
 * extensions.code RATE_LIMITED and retryAfter, and charges expensive operations by their cost.
 */
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectScimError, graphqlRaw, scimOf, scimUser, sleep } from './limits-support.js';

const USERS = '{ users(first: 1) { totalCount } }';

describe('SCIM door', () => {
  let app: TestApp;
  let t: TestTenant;
  beforeAll(async () => {
    app = await startTestApp({
      ROSTER_RATE_LIMIT_SCIM_RPS: '0.5',
      ROSTER_RATE_LIMIT_SCIM_BURST: '3',
      ROSTER_RATE_LIMIT_GRAPHQL_RPS: '100',
      ROSTER_RATE_LIMIT_GRAPHQL_BURST: '100',
    });
    t = await app.createTenant();
  });
  afterAll(() => app.close());

  it('admits a burst, then answers 429 with an integer Retry-After and a SCIM error; honouring it works', async () => {
    const scim = scimOf(app, t.scimToken);
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await scim.get('/Users?count=1');
      statuses.push(res.status);
      remaining.push(res.headers['x-ratelimit-remaining']);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
    }
    expect(statuses).toEqual([200, 200, 200]);
    expect(remaining.map(Number)).toEqual([2, 1, 0]);

    const refused = await scim.post('/Users', scimUser('refused@limits.test'));
    expectScimError(refused, 429);
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(refused.body.detail).toMatch(/rate limit/);
    // A refused request did nothing.
    await sleep(Number(refused.headers['retry-after']) * 1000);
    const list = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "refused@limits.test"')}`);
    expect(list.status).toBe(200);
    expect(list.body.totalResults).toBe(0);
  });

  it("counts requests that fail and roll back: the door commits before the request's transaction", async () => {
    const other = await app.createTenant();
    const scim = scimOf(app, other.scimToken);
    // the second create of the same userName is refused (409) and its transaction rolls back
    expect((await scim.post('/Users', scimUser('twice@limits.test'))).status).toBe(201);
    for (let i = 0; i < 2; i++) expectScimError(await scim.post('/Users', scimUser('twice@limits.test')), 409);
    expectScimError(await scim.get('/Users?count=1'), 429);
  });

  it('is per tenant and per door: another tenant, and the same tenant over GraphQL, are not affected', async () => {
    const other = await app.createTenant();
    const scim = scimOf(app, t.scimToken);
    for (let i = 0; i < 4; i++) await scim.get('/Users?count=1');
    expect((await scim.get('/Users?count=1')).status).toBe(429);
    expect((await scimOf(app, other.scimToken).get('/Users?count=1')).status).toBe(200);
    expect((await t.raw(USERS)).status).toBe(200);
  });
});

describe('GraphQL door', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      ROSTER_RATE_LIMIT_GRAPHQL_RPS: '0.05',
      ROSTER_RATE_LIMIT_GRAPHQL_BURST: '3',
      ROSTER_RATE_LIMIT_GRAPHQL_COST_PER_TOKEN: '10',
    });
  });
  afterAll(() => app.close());

  it('answers HTTP 429 with extensions.code RATE_LIMITED, retryAfter and Retry-After once the burst is spent', async () => {
    const t = await app.createTenant();
    for (let i = 0; i < 3; i++) {
      const res = await graphqlRaw(app.baseUrl, t.apiKey, USERS);
      expect(res.status).toBe(200);
      expect(res.json.extensions.rateLimit).toMatchObject({ limit: 3, remaining: 2 - i, charged: 1 });
    }
    const refused = await graphqlRaw(app.baseUrl, t.apiKey, USERS);
    expect(refused.status).toBe(429);
    expect(refused.json.errors).toHaveLength(1);
    expect(refused.json.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(Number.isInteger(refused.json.errors[0].extensions.retryAfter)).toBe(true);
    expect(refused.headers['retry-after']).toBe(String(refused.json.errors[0].extensions.retryAfter));
    expect(refused.json.data).toBeUndefined();
  });

  it('charges an operation by its cost (extensions.cost), after the fact: the next request waits', async () => {
    const t = await app.createTenant();
    // cost = 1 + first * (nodes + userName + id) = 1 + 2 * 2 + … ; with 10 per token it costs more than one token.
    const query = '{ users(first: 10) { nodes { id userName } } }';
    const res = await graphqlRaw(app.baseUrl, t.apiKey, query);
    expect(res.status).toBe(200);
    const cost = res.json.extensions.cost.requested as number;
    expect(cost).toBeGreaterThan(20);
    const charged = Math.ceil(cost / 10);
    expect(res.json.extensions.rateLimit).toMatchObject({ limit: 3, charged });
    const next = await graphqlRaw(app.baseUrl, t.apiKey, USERS);
    expect(next.status).toBe(429);
    expect(next.json.errors[0].extensions.code).toBe('RATE_LIMITED');
    // The debt is paid off at 0.05 tokens a second.
    expect(next.json.errors[0].extensions.retryAfter).toBeGreaterThan(10);
  });
});

describe('several Roster processes on one database', () => {
  let a: TestApp;
  let b: TestApp;
  const env = {
    ROSTER_RATE_LIMIT_SCIM_RPS: '0.01',
    ROSTER_RATE_LIMIT_SCIM_BURST: '5',
    ROSTER_RATE_LIMIT_GRAPHQL_RPS: '0.01',
    ROSTER_RATE_LIMIT_GRAPHQL_BURST: '5',
  };
  beforeAll(async () => {
    [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
  });
  afterAll(() => Promise.all([a.close(), b.close()]));

  it('share one budget per tenant: requests alternating between two instances get the burst, not twice it', async () => {
    const t = await a.createTenant();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await scimOf(i % 2 ? b : a, t.scimToken).get('/Users?count=1')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
  });

  it('take tokens atomically: 30 concurrent requests over both instances, exactly the burst passes', async () => {
    const t = await a.createTenant();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => graphqlRaw(i % 2 ? b.baseUrl : a.baseUrl, t.apiKey, USERS)));
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429 && r.json.errors[0].extensions.code === 'RATE_LIMITED').length;
    expect(ok).toBe(5);
    expect(limited).toBe(25);
  });
});

describe('SCIM /Bulk', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROSTER_RATE_LIMIT_SCIM_RPS: '0.01', ROSTER_RATE_LIMIT_SCIM_BURST: '10' });
  });
  afterAll(() => app.close());

  it('pays one token per operation', async () => {
    const t = await app.createTenant();
    const scim = scimOf(app, t.scimToken);
    const Operations = Array.from({ length: 5 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `u${i}`,
      data: scimUser(`bulk-${i}@limits.test`),
    }));
    const bulk = await scim.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations });
    expect(bulk.status).toBe(200);
    expect(bulk.headers['x-ratelimit-remaining']).toBe('9');
    // 10 - 5 tokens used: the next request leaves 4.
    expect((await scim.get('/Users?count=1')).headers['x-ratelimit-remaining']).toBe('4');
  });
});
