/**
 * Bounded time: a request that cannot finish within ROSTER_REQUEST_TIMEOUT_MS (Okta gives up at 60 s) is
 * answered 503 with Retry-After (SCIM) or REQUEST_TIMEOUT (GraphQL), its transaction rolled back and its
 * statement cancelled; a statement running past ROSTER_DB_STATEMENT_TIMEOUT_MS fails the same way.
 * The slow statement is an insert trigger that sleeps for user names starting with "slow-".
 */
import { startTestApp, type TestApp } from '../../setup/test-app.js';
import { expectScimError, graphqlRaw, scimOf, scimUser, sleep } from './limits-support.js';

const CREATE_USER = 'mutation($u: String!) { createUser(input: { userName: $u }) { user { id } userErrors { code } } }';

async function installSlowTrigger(app: TestApp) {
  await app.sql(`create or replace function roster_test_slow_user() returns trigger language plpgsql as $$
    begin
      if new.user_name like 'slow-%' then perform pg_sleep(4); end if;
      return new;
    end $$`);
  await app.sql('drop trigger if exists roster_test_slow_user on users');
  await app.sql('create trigger roster_test_slow_user before insert on users for each row execute function roster_test_slow_user()');
}

async function removeSlowTrigger(app: TestApp) {
  await app.sql('drop trigger if exists roster_test_slow_user on users');
  await app.sql('drop function if exists roster_test_slow_user()');
}

/** Statements of this database still sleeping in the trigger (a cancelled one is gone). */
const sleeping = async (app: TestApp) =>
  Number((await app.sql<{ n: string }>(`select count(*)::text as n from pg_stat_activity where wait_event = 'PgSleep'`))[0].n);

async function expectAbsent(app: TestApp, token: string, userName: string) {
  const res = await scimOf(app, token).get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  expect(res.status).toBe(200);
  expect(res.body.totalResults).toBe(0);
}

// Tenants are made by an app with the default bounds: on a busy machine, creating one may itself take
// longer than the tight bounds under test.
let setup: TestApp;
beforeAll(async () => {
  setup = await startTestApp();
});
afterAll(() => setup.close());

describe('request deadline', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROSTER_REQUEST_TIMEOUT_MS: '1500', ROSTER_DB_STATEMENT_TIMEOUT_MS: '20000' });
    await installSlowTrigger(app);
  });
  afterAll(async () => {
    await removeSlowTrigger(app);
    await app.close();
  });

  it('SCIM: answers 503 with Retry-After in time, cancels the statement and rolls back', async () => {
    const t = await setup.createTenant();
    const started = Date.now();
    const res = await scimOf(app, t.scimToken).post('/Users', scimUser('slow-scim@timeouts.test'));
    const elapsed = Date.now() - started;
    expectScimError(res, 503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(res.body.detail).toMatch(/took too long/);
    expect(elapsed).toBeGreaterThanOrEqual(1450);
    expect(elapsed).toBeLessThan(6000);
    await sleep(200);
    expect(await sleeping(app)).toBe(0);
    await expectAbsent(app, t.scimToken, 'slow-scim@timeouts.test');
    // The service is fine afterwards.
    expect((await scimOf(app, t.scimToken).post('/Users', scimUser('fast@timeouts.test'))).status).toBe(201);
  });

  it('GraphQL: answers HTTP 503 with REQUEST_TIMEOUT and Retry-After, and rolls back', async () => {
    const t = await setup.createTenant();
    const started = Date.now();
    const res = await graphqlRaw(app.baseUrl, t.apiKey, CREATE_USER, { u: 'slow-graphql@timeouts.test' });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(res.json.errors[0].extensions).toMatchObject({ code: 'REQUEST_TIMEOUT', retryAfter: expect.any(Number) });
    await sleep(200);
    expect(await sleeping(app)).toBe(0);
    await expectAbsent(app, t.scimToken, 'slow-graphql@timeouts.test');
  });
});

describe('statement timeout', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROSTER_DB_STATEMENT_TIMEOUT_MS: '300', ROSTER_REQUEST_TIMEOUT_MS: '20000' });
    await installSlowTrigger(app);
  });
  afterAll(async () => {
    await removeSlowTrigger(app);
    await app.close();
  });

  it('SCIM: a statement past the timeout is cancelled by PostgreSQL; 503 with Retry-After, nothing written', async () => {
    const t = await setup.createTenant();
    const started = Date.now();
    const res = await scimOf(app, t.scimToken).post('/Users', scimUser('slow-stmt@timeouts.test'));
    expect(Date.now() - started).toBeLessThan(6000);
    expectScimError(res, 503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    await expectAbsent(app, t.scimToken, 'slow-stmt@timeouts.test');
  });

  it('GraphQL: the mutation fails with REQUEST_TIMEOUT (HTTP 503), nothing written', async () => {
    const t = await setup.createTenant();
    const res = await graphqlRaw(app.baseUrl, t.apiKey, CREATE_USER, { u: 'slow-stmt-gql@timeouts.test' });
    expect(res.status).toBe(503);
    expect(res.json.errors[0].extensions.code).toBe('REQUEST_TIMEOUT');
    expect(res.json.errors[0].path).toEqual(['createUser']);
    await expectAbsent(app, t.scimToken, 'slow-stmt-gql@timeouts.test');
  });
});
