/**
 * Failed authentications are rate limited per client address (and per tenant URL, so a misconfigured
 * tenant behind an IdP's shared address blocks only itself) and audited in auth_failures, readable by
 * operators, and by a tenant for the failures attributed to it. Nothing of a presented secret beyond
 * its display prefix is kept.
 */
import { AuthFailuresDocument, GenerateScimCredentialFullDocument } from '../../__generated__/graphql.js';
import { postGraphql, startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectScimError, freshIp, graphqlRaw, scimOf } from './limits-support.js';
import { print } from 'graphql';

let app: TestApp;
let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  app = await startTestApp({ ROSTER_AUTH_FAILURE_RATE_PER_MINUTE: '6', ROSTER_AUTH_FAILURE_BURST: '3' });
  [a, b] = [await app.createTenant(), await app.createTenant()];
});
afterAll(() => app.close());

const BAD_TOKEN = 'rst_scim_AAAAthisIsNotARealTokenAtAll0123456789abcdefgh';
const hostOf = (t: TestTenant) => `${t.slug}.roster.test`;

async function operatorFailures(ip: string) {
  const res = await postGraphql<{ authFailures: Array<Record<string, any>> }>(app.baseUrl, app.operatorKey, print(AuthFailuresDocument), {
    first: 1000,
  });
  expect(res.errors).toBeUndefined();
  return res.data!.authFailures.filter((f) => f.clientIp === ip);
}

describe('failed-authentication limit', () => {
  it('after the burst of failures an address is refused with 429 and Retry-After, even with a valid token; other addresses are not', async () => {
    const ip = freshIp();
    const scim = scimOf(app, BAD_TOKEN);
    for (let i = 0; i < 3; i++) expectScimError(await scim.get('/Users', { 'x-forwarded-for': ip }), 401);
    const blocked = await scimOf(app, a.scimToken).get('/Users', { 'x-forwarded-for': ip });
    expectScimError(blocked, 429);
    expect(blocked.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(blocked.body.detail).toMatch(/failed authentications/);
    expect((await scimOf(app, a.scimToken).get('/Users', { 'x-forwarded-for': freshIp() })).status).toBe(200);
  });

  it('counts per tenant URL: failures on one tenant host do not block another tenant from the same address', async () => {
    const ip = freshIp();
    const onA = scimOf(app, BAD_TOKEN, { host: hostOf(a) });
    for (let i = 0; i < 3; i++) expectScimError(await onA.get('/Users', { 'x-forwarded-for': ip }), 401);
    expectScimError(await scimOf(app, a.scimToken, { host: hostOf(a) }).get('/Users', { 'x-forwarded-for': ip }), 429);
    expect((await scimOf(app, b.scimToken, { host: hostOf(b) }).get('/Users', { 'x-forwarded-for': ip })).status).toBe(200);
    // A host naming no tenant shares the address's generic bucket (no fresh bucket per invented name).
    const invented = scimOf(app, BAD_TOKEN, { host: 'no-such-tenant-xyz.roster.test' });
    for (let i = 0; i < 3; i++) expectScimError(await invented.get('/Users', { 'x-forwarded-for': ip }), 401);
    expectScimError(await scimOf(app, BAD_TOKEN, { host: 'another-invented.roster.test' }).get('/Users', { 'x-forwarded-for': ip }), 429);
  });

  it('a forwarded address that is not an IP address is one bucket, whatever its size or content', async () => {
    const garbage = (n: number) => `x${n}-${'y'.repeat(5000)}`;
    for (let i = 0; i < 3; i++) expectScimError(await scimOf(app, BAD_TOKEN).get('/Users', { 'x-forwarded-for': garbage(i) }), 401);
    expectScimError(await scimOf(app, a.scimToken).get('/Users', { 'x-forwarded-for': garbage(99) }), 429);
  });

  it('applies to the GraphQL door: 429 RATE_LIMITED with reason AUTHENTICATION_FAILURES', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) {
      const res = await graphqlRaw(app.baseUrl, `rst_key_bogus${i}xxxxxxxxxxxxxxxxxxxxxxxx`, '{ viewer { slug } }', undefined, {
        'x-forwarded-for': ip,
      });
      expect(res.status).toBe(401);
      expect(res.json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const blocked = await graphqlRaw(app.baseUrl, a.apiKey, '{ viewer { slug } }', undefined, { 'x-forwarded-for': ip });
    expect(blocked.status).toBe(429);
    expect(blocked.json.errors[0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'AUTHENTICATION_FAILURES',
      retryAfter: expect.any(Number),
    });
    expect(blocked.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  });
});

describe('audit of failed authentications', () => {
  it('records each failure (aggregated per minute) with door, address, display prefix and reason, never the secret', async () => {
    const ip = freshIp();
    await scimOf(app, BAD_TOKEN).get('/Users', { 'x-forwarded-for': ip, 'user-agent': 'Okta SCIM Client 1.0.0' });
    await scimOf(app, BAD_TOKEN).get('/Users', { 'x-forwarded-for': ip, 'user-agent': 'Okta SCIM Client 1.0.0' });
    await scimOf(app, 'not-even-a-roster-token').get('/Users', { 'x-forwarded-for': ip });
    const rows = await operatorFailures(ip);
    // One row per minute: the attempts may straddle a minute boundary.
    const byPrefix: Record<string, Record<string, any>> = {};
    for (const r of rows) byPrefix[r.credentialPrefix] = { ...r, attempts: (byPrefix[r.credentialPrefix]?.attempts ?? 0) + r.attempts };
    expect(byPrefix['rst_scim_AAAA']).toMatchObject({
      door: 'scim',
      reason: 'unknown_credential',
      attempts: 2,
      tenantSlug: null,
      userAgent: 'Okta SCIM Client 1.0.0',
    });
    expect(byPrefix['rst_scim_AAAA'].lastRequestId).toEqual(expect.any(String));
    expect(byPrefix['unrecognised']).toMatchObject({ door: 'scim', reason: 'unknown_credential', attempts: 1 });
    expect(JSON.stringify(rows)).not.toContain(BAD_TOKEN.slice(14));
    expect(JSON.stringify(rows)).not.toContain('not-even-a-roster-token');
  });

  it('attributes a revoked credential, and one presented on another tenant URL, to its tenant; the tenant sees only its own', async () => {
    const t = await app.createTenant();
    const old = t.scimToken;
    const gen = await t.gql(GenerateScimCredentialFullDocument, {});
    expect(gen.data!.generateScimCredential.userErrors).toEqual([]);
    const ip = freshIp();
    expectScimError(await scimOf(app, old).get('/Users', { 'x-forwarded-for': ip }), 401);
    const misdirected = await scimOf(app, gen.data!.generateScimCredential.secret!, { host: hostOf(b) }).get('/Users', {
      'x-forwarded-for': ip,
    });
    expectScimError(misdirected, 401);
    expect(misdirected.body.detail).toMatch(/another tenant/);

    const own = await t.gql(AuthFailuresDocument, { first: 100 });
    expect(own.errors).toBeUndefined();
    expect(own.data!.authFailures.map((f) => [f.reason, f.tenantSlug, f.clientIp]).sort()).toEqual([
      ['revoked', t.slug, ip],
      ['wrong_tenant', t.slug, ip],
    ]);
    const others = await b.gql(AuthFailuresDocument, { first: 100 });
    expect(others.data!.authFailures.filter((f) => f.clientIp === ip)).toEqual([]);
  });

  it('is readable by operators and by tenant keys with audit:read only', async () => {
    const res = await postGraphql(app.baseUrl, app.operatorKey, print(AuthFailuresDocument), { first: 1 });
    expect(res.errors).toBeUndefined();
    const key = await a.raw<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "reader", permissions: ["directory:read"] }) { secret } }',
    );
    const denied = await a.raw(print(AuthFailuresDocument), { first: 1 }, key.data!.createApiKey.secret);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
