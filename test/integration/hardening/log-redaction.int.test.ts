/**
 * Secrets and personal data never appear in the logs. The service's log output is captured at the most
 * verbose level while requests carry tokens, keys, client secrets, Basic passwords and personal data
 * through both doors and the token endpoint, including failed authentications and requests that fail
 * inside the database with the personal data in the error (message, detail) — and then searched.
 */
import { Writable } from 'node:stream';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { accessToken, createOAuthClient, graphqlRaw, scimOf, scimUser, tokenRequest } from './limits-support.js';

const lines: string[] = [];
const destination = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let app: TestApp;
let t: TestTenant;

const PERSON = {
  userName: 'ada.lovelace@example.org',
  givenName: 'Augusta',
  familyName: 'Byron-King',
  phone: '+44 20 7946 0018',
  externalId: 'EXT-AL-1815',
  email: 'countess.of.lovelace@example.net',
};
const FAILING = { userName: 'boom-marie.curie@example.org', givenName: 'Maria', familyName: 'Sklodowska' };
const GRAPHQL_PERSON = { userName: 'grace.hopper@example.org', displayName: 'Grace Brewster Hopper' };

beforeAll(async () => {
  app = await startTestApp({}, { logDestination: destination, logLevel: 'trace' });
  t = await app.createTenant();
  // A failure inside the database that carries the row's personal data in its message and detail, the
  // way PostgreSQL's own constraint errors do ("Failing row contains (…)").
  await app.sql(`create or replace function roster_test_boom() returns trigger language plpgsql as $$
    begin
      if new.user_name like 'boom-%' then
        raise exception using message = format('check failed for %L', new.user_name),
          detail = format('Failing row contains (%s, %s, %s).', new.user_name, new.given_name, new.family_name);
      end if;
      return new;
    end $$`);
  await app.sql('drop trigger if exists roster_test_boom on users');
  await app.sql('create trigger roster_test_boom before insert on users for each row execute function roster_test_boom()');
});
afterAll(async () => {
  await app.sql('drop trigger if exists roster_test_boom on users');
  await app.sql('drop function if exists roster_test_boom()');
  await app.close();
});

it('no secret and no personal data reaches the log, while the failures are logged', async () => {
  const scim = scimOf(app, t.scimToken);
  // Personal data in, through SCIM (POST, PATCH, filter) and GraphQL.
  const created = await scim.post(
    '/Users',
    scimUser(PERSON.userName, {
      externalId: PERSON.externalId,
      name: { givenName: PERSON.givenName, familyName: PERSON.familyName },
      phoneNumbers: [{ value: PERSON.phone, type: 'work' }],
    }),
  );
  expect(created.status).toBe(201);
  expect(
    (
      await scim.patch(`/Users/${created.body.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'emails', value: [{ value: PERSON.email, type: 'work' }] }],
      })
    ).status,
  ).toBeLessThan(300);
  expect((await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${PERSON.userName}"`)}`)).body.totalResults).toBe(1);
  const gql = await graphqlRaw(
    app.baseUrl,
    t.apiKey,
    'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code } } }',
    { i: GRAPHQL_PERSON },
  );
  expect(gql.json.data.createUser.userErrors).toEqual([]);

  // Credentials: OAuth client secret and access token, a wrong static token, a wrong Basic password, a wrong key.
  const oauth = await createOAuthClient(t);
  const token = await accessToken(app, oauth.client.clientId, oauth.secret);
  expect((await scimOf(app, token).get(`/Users?filter=${encodeURIComponent(`emails.value eq "${PERSON.email}"`)}`)).status).toBe(200);
  const wrongToken = 'rst_scim_WrongTokenWrongTokenWrongTokenWrongToken123';
  const wrongPassword = 'rst_basic_WrongPasswordWrongPasswordWrongPassword12';
  const wrongKey = 'rst_key_WrongKeyWrongKeyWrongKeyWrongKeyWrongKey1234';
  const wrongClientSecret = 'rst_oauth_WrongClientSecretWrongClientSecretWrong1';
  expect((await scimOf(app, wrongToken).get('/Users')).status).toBe(401);
  expect(
    (
      await scimOf(app, '')
        .with({ authorization: `Basic ${Buffer.from(`scim-someone:${wrongPassword}`).toString('base64')}` })
        .get('/Users')
    ).status,
  ).toBe(401);
  expect((await graphqlRaw(app.baseUrl, wrongKey, '{ viewer { slug } }')).status).toBe(401);
  expect(
    (await tokenRequest(app, { grant_type: 'client_credentials', client_id: oauth.client.clientId, client_secret: wrongClientSecret }))
      .status,
  ).toBe(401);

  // Deliberately failing requests: the database refuses the row and says why, with the row's data.
  const failedScim = await scim.post(
    '/Users',
    scimUser(FAILING.userName, { name: { givenName: FAILING.givenName, familyName: FAILING.familyName } }),
  );
  expect(failedScim.status).toBe(500);
  const failedGql = await graphqlRaw(app.baseUrl, t.apiKey, 'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', {
    i: { userName: FAILING.userName, name: { givenName: FAILING.givenName, familyName: FAILING.familyName } },
  });
  expect(failedGql.json.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
  // And a client mistake whose error message quotes the personal data it was given.
  const badInput = await graphqlRaw(app.baseUrl, t.apiKey, 'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', {
    i: { userName: FAILING.userName, givenName: FAILING.givenName, familyName: FAILING.familyName },
  });
  expect(badInput.status).toBe(400);

  const log = lines.join('\n');
  // The capture works and the failures were logged (with what an operator needs: type, code, request id).
  expect(lines.length).toBeGreaterThan(10);
  const failures = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => /request failed|resolver failed/.test(l.msg));
  expect(failures.length).toBeGreaterThanOrEqual(2);
  const databaseFailures = failures.filter((f) => f.err?.code === 'P0001');
  expect(databaseFailures.map((f) => f.door).sort()).toEqual(['graphql', 'scim']);
  for (const f of databaseFailures)
    expect(f.err).toMatchObject({
      type: 'DriverException',
      message: expect.stringMatching(/^check failed for/),
      routine: expect.any(String),
      stack: expect.any(String),
    });
  expect(databaseFailures.some((f) => f.requestId === failedScim.headers['x-request-id'])).toBe(true);
  expect(lines.filter((l) => l.includes('authentication failed')).length).toBeGreaterThanOrEqual(4);

  const forbidden: Record<string, string> = {
    scimToken: t.scimToken,
    apiKey: t.apiKey,
    operatorKey: app.operatorKey,
    clientSecret: oauth.secret,
    accessToken: token,
    wrongToken,
    wrongPassword,
    wrongKey,
    wrongClientSecret,
    ...Object.fromEntries(Object.entries(PERSON).map(([k, v]) => [`person.${k}`, v])),
    ...Object.fromEntries(Object.entries(FAILING).map(([k, v]) => [`failing.${k}`, v])),
    ...Object.fromEntries(Object.entries(GRAPHQL_PERSON).map(([k, v]) => [`graphql.${k}`, v])),
  };
  for (const [name, value] of Object.entries(forbidden)) {
    // The secrets' random part: a display prefix (rst_scim_AbCd) may be logged, nothing beyond it.
    const needle = value.startsWith('rst_') ? value.slice(value.indexOf('_', 4) + 5) : value;
    expect({ name, leaked: log.toLowerCase().includes(needle.toLowerCase()) }).toEqual({ name, leaked: false });
  }
});
