/**
 * OAuth 2.0 client credentials for the SCIM door (Microsoft Entra gallery apps): a client id and a
 * secret generated over GraphQL (shown once, stored hashed), POST /oauth/token (RFC 6749 §4.4, errors per
 * §5.2), access tokens that expire and are accepted by /scim/v2 as bearer tokens, secret rotation with an
 * overlap, revocation (of a client over GraphQL; of an access token by its client, POST /oauth/revoke, RFC
 * 7009). The static SCIM token keeps working alongside.
 */
import { OAuthClientsDocument, RevokeOAuthClientDocument, RotateOAuthClientSecretDocument } from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import {
  accessToken,
  createOAuthClient,
  expectScimError,
  freshIp,
  httpRequest,
  scimOf,
  sleep,
  sqlWith,
  tenantUuid,
  tokenRequest,
} from './limits-support.js';

const TTL_SECONDS = 2;
let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp({ ROSTER_OAUTH_TOKEN_TTL_SECONDS: String(TTL_SECONDS) });
  t = await app.createTenant();
});
afterAll(() => app.close());

describe('client management over GraphQL', () => {
  it('creates a client: public id, a secret shown once with a recognisable prefix, the token endpoint; listings never show the secret', async () => {
    const { client, secret, tokenEndpoint, scimBaseUrl } = await createOAuthClient(t);
    expect(client.clientId).toMatch(/^roster-client-[0-9a-f]{24}$/);
    expect(secret).toMatch(/^rst_oauth_[A-Za-z0-9_-]{43}$/);
    expect(tokenEndpoint).toBe(`https://${t.slug}.roster.test/oauth/token`);
    expect(client.tokenEndpoint).toBe(tokenEndpoint);
    expect(scimBaseUrl).toBe(t.scimBaseUrl);
    expect(client).toMatchObject({ active: true, name: 'Entra gallery app', createdBy: 'admin', revokedAt: null });
    expect(client.secrets).toHaveLength(1);
    expect(secret.startsWith(client.secrets[0].prefix)).toBe(true);
    expect(client.secrets[0].prefix.length).toBeLessThan(16);
    const listed = await t.gql(OAuthClientsDocument, {});
    expect(JSON.stringify(listed.data)).not.toContain(secret);
    // Stored as a SHA-256 digest only.
    const rows = await sqlWith<{ n: string; plain: string }>(app, { 'roster.tenant_id': tenantUuid(t) }, [
      [
        `select (select count(*) from oauth_client_secrets where secret_hash = sha256(convert_to($1, 'UTF8')))::text as n,
                (select count(*) from oauth_client_secrets s where s::text like '%' || $2 || '%')::text as plain`,
        [secret, secret.slice(14)],
      ],
    ]);
    expect(rows[0]).toEqual({ n: '1', plain: '0' });
  });
});

describe('POST /oauth/token', () => {
  let clientId: string;
  let secret: string;
  beforeAll(async () => {
    const created = await createOAuthClient(t);
    clientId = created.client.clientId;
    secret = created.secret;
  });

  it('issues an expiring bearer token to HTTP Basic client authentication; SCIM accepts it; the static token still works', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: clientId, secret } });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.json).toEqual({
      access_token: expect.stringMatching(/^rst_at_[A-Za-z0-9_-]{43}$/),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      scope: 'scim',
    });
    expect(res.json.expires_in).toBeGreaterThan(0);
    expect(res.json.expires_in).toBeLessThanOrEqual(TTL_SECONDS);
    const users = await scimOf(app, res.json.access_token).get('/Users?count=1');
    expect(users.status).toBe(200);
    expect((await scimOf(app, t.scimToken).get('/Users?count=1')).status).toBe(200);
  });

  it('accepts client_id and client_secret in the form body', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'scim' });
    expect(res.status).toBe(200);
    expect(
      (
        await scimOf(app, res.json.access_token).post('/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: 'via-oauth@oauth.test',
        })
      ).status,
    ).toBe(201);
  });

  it('access tokens expire: after the TTL the SCIM door answers 401 and a new token works', async () => {
    const token = await accessToken(app, clientId, secret);
    expect((await scimOf(app, token).get('/Users?count=1')).status).toBe(200);
    await sleep(TTL_SECONDS * 1000 + 300);
    const expired = await scimOf(app, token).get('/Users?count=1');
    expectScimError(expired, 401);
    expect(expired.body.detail).toMatch(/expired/);
    expect((await scimOf(app, await accessToken(app, clientId, secret)).get('/Users?count=1')).status).toBe(200);
  });

  it('answers RFC 6749 §5.2 errors', async () => {
    const basic = { id: clientId, secret };
    const wrongGrant = await tokenRequest(app, { grant_type: 'password', username: 'x', password: 'y' }, { basic });
    expect(wrongGrant.status).toBe(400);
    expect(wrongGrant.json).toMatchObject({ error: 'unsupported_grant_type', error_description: expect.any(String) });
    expect(wrongGrant.headers['cache-control']).toBe('no-store');
    expect((await tokenRequest(app, {}, { basic })).json.error).toBe('invalid_request');
    const json = await httpRequest(app.baseUrl, 'POST', '/oauth/token', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect(json.status).toBe(400);
    expect(json.json.error).toBe('invalid_request');
    const both = await tokenRequest(app, { grant_type: 'client_credentials', client_secret: secret }, { basic });
    expect(both.json.error).toBe('invalid_request');
    const repeated = await httpRequest(app.baseUrl, 'POST', '/oauth/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${clientId}&client_id=${clientId}&client_secret=${secret}`,
    });
    expect(repeated.json.error).toBe('invalid_request');
    const get = await httpRequest(app.baseUrl, 'GET', '/oauth/token');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');

    for (const bad of [
      await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: clientId, secret: `${secret.slice(0, -2)}xx` } }),
      await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: 'roster-client-000000000000000000000000', secret } }),
      await tokenRequest(app, { grant_type: 'client_credentials', client_id: clientId, client_secret: t.scimToken }),
      await tokenRequest(app, { grant_type: 'client_credentials' }),
    ]) {
      expect(bad.status).toBe(401);
      expect(bad.json.error).toBe('invalid_client');
      expect(bad.headers['www-authenticate']).toMatch(/^Basic /);
    }
  });

  it('refuses a client on another tenant URL, and its access token on another tenant URL', async () => {
    const other = await app.createTenant();
    const onOther = await httpRequest(app.baseUrl, 'POST', '/oauth/token', {
      headers: { host: `${other.slug}.roster.test`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
    });
    expect(onOther.status).toBe(401);
    const onOwn = await httpRequest(app.baseUrl, 'POST', '/oauth/token', {
      headers: { host: `${t.slug}.roster.test`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
    });
    expect(onOwn.status).toBe(200);
    expectScimError(await scimOf(app, onOwn.json.access_token, { host: `${other.slug}.roster.test` }).get('/Users'), 401);
    expect((await scimOf(app, onOwn.json.access_token, { host: `${t.slug}.roster.test` }).get('/Users')).status).toBe(200);
  });

  it('stores access tokens hashed, and audits failed client authentications', async () => {
    const token = await accessToken(app, clientId, secret);
    const rows = await sqlWith<{ n: string; plain: string }>(app, { 'roster.tenant_id': tenantUuid(t) }, [
      [
        `select (select count(*) from oauth_access_tokens where token_hash = sha256(convert_to($1, 'UTF8')))::text as n,
                (select count(*) from oauth_access_tokens t where t::text like '%' || $2 || '%')::text as plain`,
        [token, token.slice(7)],
      ],
    ]);
    expect(rows[0]).toEqual({ n: '1', plain: '0' });
    const ip = freshIp();
    await tokenRequest(
      app,
      { grant_type: 'client_credentials' },
      { basic: { id: clientId, secret: 'rst_oauth_wrongwrongwrongwrongwrong' }, headers: { 'x-forwarded-for': ip } },
    );
    const audit = await sqlWith<{ door: string; reason: string; credential_prefix: string }>(app, { 'roster.operator': 'on' }, [
      ['select door, reason, credential_prefix from auth_failures where client_ip = $1', [ip]],
    ]);
    expect(audit).toEqual([{ door: 'oauth', reason: 'invalid_secret', credential_prefix: clientId }]);
  });
});

describe('rotation and revocation', () => {
  it('rotation with an overlap keeps the previous secret and its tokens until the overlap ends; without one, ends them now', async () => {
    const { client, secret: first } = await createOAuthClient(t, 'rotating');
    const firstToken = await accessToken(app, client.clientId, first);

    const rotated = await t.gql(RotateOAuthClientSecretDocument, { input: { id: client.id, overlapSeconds: 3600 } });
    const second = rotated.data!.rotateOAuthClientSecret.clientSecret!;
    expect(rotated.data!.rotateOAuthClientSecret.userErrors).toEqual([]);
    expect(second).not.toBe(first);
    const secrets = rotated.data!.rotateOAuthClientSecret.client!.secrets;
    expect(secrets.map((s) => s.active)).toEqual([true, true]);
    expect(secrets[1].expiresAt).toEqual(expect.any(String));
    // During the overlap both secrets issue tokens, and the earlier token still works.
    expect((await scimOf(app, firstToken).get('/Users?count=1')).status).toBe(200);
    const secondToken = await accessToken(app, client.clientId, second);
    const viaFirst = await accessToken(app, client.clientId, first);

    const again = await t.gql(RotateOAuthClientSecretDocument, { input: { id: client.id, overlapSeconds: 0 } });
    const third = again.data!.rotateOAuthClientSecret.clientSecret!;
    expect(again.data!.rotateOAuthClientSecret.client!.secrets.map((s) => s.active)).toEqual([true, false, false]);
    for (const old of [first, second])
      expect((await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: client.clientId, secret: old } })).status).toBe(
        401,
      );
    for (const tok of [firstToken, secondToken, viaFirst]) expectScimError(await scimOf(app, tok).get('/Users?count=1'), 401);
    expect((await scimOf(app, await accessToken(app, client.clientId, third)).get('/Users?count=1')).status).toBe(200);
  });

  it('an overlap caps the expiry of tokens issued with the previous secret at the end of the overlap', async () => {
    const { client, secret } = await createOAuthClient(t, 'short overlap');
    await t.gql(RotateOAuthClientSecretDocument, { input: { id: client.id, overlapSeconds: 1 } });
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: client.clientId, secret } });
    expect(res.status).toBe(200);
    expect(res.json.expires_in).toBeLessThanOrEqual(1);
    await sleep(1300);
    expectScimError(await scimOf(app, res.json.access_token).get('/Users?count=1'), 401);
    expect((await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: client.clientId, secret } })).status).toBe(401);
  });

  it('revoking a client ends its secrets and tokens at once; the mutation is audited', async () => {
    const { client, secret } = await createOAuthClient(t, 'to revoke');
    const token = await accessToken(app, client.clientId, secret);
    const revoked = await t.gql(RevokeOAuthClientDocument, { id: client.id });
    expect(revoked.data!.revokeOAuthClient.client).toMatchObject({ active: false, revokedAt: expect.any(String) });
    expectScimError(await scimOf(app, token).get('/Users?count=1'), 401);
    expect((await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: client.clientId, secret } })).status).toBe(401);
    const again = await t.gql(RevokeOAuthClientDocument, { id: client.id });
    expect(again.data!.revokeOAuthClient.userErrors[0].code).toBe('CONFLICT');
    const audit = await t.raw<{ auditEvents: { nodes: Array<{ action: string }> } }>('{ auditEvents(first: 20) { nodes { action } } }');
    expect(audit.data!.auditEvents.nodes.map((n) => n.action)).toEqual(
      expect.arrayContaining(['oauth_client.created', 'oauth_client.secret_rotated', 'oauth_client.revoked']),
    );
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  const revoke = (form: Record<string, string>, opts: Parameters<typeof tokenRequest>[2] = {}) =>
    tokenRequest(app, form, { ...opts, path: '/oauth/revoke' });

  it('revokes an access token of the authenticated client at once; its other tokens keep working', async () => {
    const { client, secret } = await createOAuthClient(t, 'revoking its token');
    const basic = { id: client.clientId, secret };
    const [token, kept] = [await accessToken(app, client.clientId, secret), await accessToken(app, client.clientId, secret)];
    expect((await scimOf(app, token).get('/Users?count=1')).status).toBe(200);
    const res = await revoke({ token, token_type_hint: 'access_token' }, { basic });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers['cache-control']).toBe('no-store');
    expectScimError(await scimOf(app, token).get('/Users?count=1'), 401);
    expect((await scimOf(app, kept).get('/Users?count=1')).status).toBe(200);
    // client_secret in the body, and a hint naming a type Roster does not issue: the search still covers access tokens
    const bodyAuth = await revoke({ token: kept, token_type_hint: 'refresh_token', client_id: client.clientId, client_secret: secret });
    expect(bodyAuth.status).toBe(200);
    expectScimError(await scimOf(app, kept).get('/Users?count=1'), 401);
    // revoking again, or a token that never existed: the same answer (RFC 7009 §2.2)
    expect((await revoke({ token }, { basic })).status).toBe(200);
    expect((await revoke({ token: 'rst_at_not-a-token' }, { basic })).status).toBe(200);
  });

  it("answers 200 for another client's token, another tenant's, or the static SCIM token, and revokes none of them", async () => {
    const mine = await createOAuthClient(t, 'asking');
    const theirs = await createOAuthClient(t, 'same tenant, other client');
    const other = await app.createTenant();
    const elsewhere = await createOAuthClient(other, 'other tenant');
    const sameTenant = await accessToken(app, theirs.client.clientId, theirs.secret);
    const otherTenant = await accessToken(app, elsewhere.client.clientId, elsewhere.secret);
    const basic = { id: mine.client.clientId, secret: mine.secret };
    const unknown = await revoke({ token: 'rst_at_unknownunknownunknownunknownunknownunkno' }, { basic });
    for (const token of [sameTenant, otherTenant, t.scimToken]) {
      const res = await revoke({ token }, { basic });
      expect({ status: res.status, text: res.text }).toEqual({ status: unknown.status, text: unknown.text });
    }
    expect((await scimOf(app, sameTenant).get('/Users?count=1')).status).toBe(200);
    expect((await scimOf(app, otherTenant).get('/Users?count=1')).status).toBe(200);
    expect((await scimOf(app, t.scimToken).get('/Users?count=1')).status).toBe(200);
  });

  it("shares the failed-authentication limit with the token endpoint; revocations do not spend the tenant's SCIM budget", async () => {
    // the limits on, small: 3 failures per address (then 6 a minute), 3 SCIM requests per tenant (then one in 100 s)
    const limited = await startTestApp({
      ROSTER_AUTH_FAILURE_RATE_PER_MINUTE: '6',
      ROSTER_AUTH_FAILURE_BURST: '3',
      ROSTER_RATE_LIMIT_SCIM_RPS: '0.01',
      ROSTER_RATE_LIMIT_SCIM_BURST: '3',
    });
    try {
      const own = await limited.createTenant();
      const { client, secret } = await createOAuthClient(own, 'limits');
      const basic = { id: client.clientId, secret };
      const headers = { 'x-forwarded-for': freshIp() };
      const bad = { id: client.clientId, secret: `${secret.slice(0, -2)}xx` };
      const revokeOn = (form: Record<string, string>, opts: Parameters<typeof tokenRequest>[2]) =>
        tokenRequest(limited, form, { ...opts, path: '/oauth/revoke' });
      for (let i = 0; i < 3; i++) expect((await revokeOn({ token: 'x' }, { basic: bad, headers })).status).toBe(401);
      // the address is now refused at either endpoint, even with the right secret
      for (const res of [
        await revokeOn({ token: 'x' }, { basic, headers }),
        await tokenRequest(limited, { grant_type: 'client_credentials' }, { basic, headers }),
      ]) {
        expect(res.status).toBe(429);
        expect(res.json.error).toBe('temporarily_unavailable');
        expect(res.json.error_description).toMatch(/failed authentications/);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      // from another address: three tokens empty the tenant's SCIM bucket; a fourth is refused, a revocation is not
      const token = await accessToken(limited, client.clientId, secret);
      await accessToken(limited, client.clientId, secret);
      await accessToken(limited, client.clientId, secret);
      const refused = await tokenRequest(limited, { grant_type: 'client_credentials' }, { basic });
      expect(refused.status).toBe(429);
      expect(refused.json.error_description).toMatch(/rate limit of this tenant/);
      expect((await revokeOn({ token }, { basic })).status).toBe(200);
      const revoked = await sqlWith<{ n: string }>(limited, { 'roster.tenant_id': tenantUuid(own) }, [
        [`select count(*)::text as n from oauth_access_tokens where token_hash = sha256(convert_to($1, 'UTF8'))`, [token]],
      ]);
      expect(revoked).toEqual([{ n: '0' }]);
    } finally {
      await limited.close();
    }
  });

  it('authenticates the client as the token endpoint does, and answers RFC 6749 §5.2 errors', async () => {
    const { client, secret } = await createOAuthClient(t, 'revocation errors');
    const token = await accessToken(app, client.clientId, secret);
    const ip = freshIp();
    const wrong = await revoke(
      { token },
      { basic: { id: client.clientId, secret: `${secret.slice(0, -2)}xx` }, headers: { 'x-forwarded-for': ip } },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_client');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await revoke({ token })).status).toBe(401);
    const audit = await sqlWith<{ door: string; reason: string }>(app, { 'roster.operator': 'on' }, [
      ['select door, reason from auth_failures where client_ip = $1', [ip]],
    ]);
    expect(audit).toEqual([{ door: 'oauth', reason: 'invalid_secret' }]);
    const basic = { id: client.clientId, secret };
    const missing = await revoke({}, { basic });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe('invalid_request');
    const get = await httpRequest(app.baseUrl, 'GET', '/oauth/revoke');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    // on another tenant's URL the client is refused, as at the token endpoint
    const other = await app.createTenant();
    const misdirected = await revoke({ token }, { basic, headers: { host: `${other.slug}.roster.test` } });
    expect(misdirected.status).toBe(401);
    // none of the refused requests revoked anything
    expect((await scimOf(app, token).get('/Users?count=1')).status).toBe(200);
    // and a revoked client can no longer revoke
    await t.gql(RevokeOAuthClientDocument, { id: client.id });
    expect((await revoke({ token }, { basic })).status).toBe(401);
  });
});
