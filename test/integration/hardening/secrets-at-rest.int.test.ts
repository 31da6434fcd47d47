/**
 * Every secret Roster generates is stored only as a digest: the tenant's first SCIM token and admin key,
 * generated SCIM bearer and Basic credentials, API keys, OAuth client secrets (also after rotation) and
 * access tokens, and secrets presented in failed authentications. The whole database is dumped as text
 * (row-level security opened for the tenant and for every cross-tenant reader) and searched.
 */
import {
  CreateApiKeyFullDocument,
  GenerateScimCredentialFullDocument,
  RotateOAuthClientSecretDocument,
} from '../../__generated__/graphql.js';
import { hashSecret } from '../../../src/modules/credentials/secrets.js';
import { startTestApp, type TestApp } from '../../setup/test-app.js';
import { accessToken, createOAuthClient, freshIp, scimOf, sqlWith, tenantUuid, tokenRequest } from './limits-support.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const OPEN_EVERY_POLICY = [
  'roster.operator',
  'roster.credential_lookup',
  'roster.rate_limit',
  'roster.auth_audit',
  'roster.webhook_dispatch',
  'roster.bulk_scheduler',
];

async function dumpDatabase(tenantId: string): Promise<{ text: string; tables: string[] }> {
  const tables = (
    await app.sql<{ tablename: string }>(`select tablename from pg_tables where schemaname = current_schema() order by 1`)
  ).map((r) => r.tablename);
  const settings = Object.fromEntries([['roster.tenant_id', tenantId], ...OPEN_EVERY_POLICY.map((k) => [k, 'on'])]);
  const rows = await sqlWith<{ dump: string | null }>(app, settings, [
    [
      `select string_agg(d, E'\\n') as dump from (${tables.map((t) => `select '${t}: ' || x::text as d from "${t}" x`).join(' union all ')}) s`,
    ],
  ]);
  return { text: rows[0].dump ?? '', tables };
}

it('no generated or presented secret appears anywhere in the database; their SHA-256 digests do', async () => {
  const t = await app.createTenant();
  const basic = (await t.gql(GenerateScimCredentialFullDocument, { input: { kind: 'BASIC', overlapSeconds: 3600 } })).data!
    .generateScimCredential;
  const bearer = (await t.gql(GenerateScimCredentialFullDocument, { input: { overlapSeconds: 3600 } })).data!.generateScimCredential;
  const key = (await t.gql(CreateApiKeyFullDocument, { input: { name: 'reader', permissions: ['directory:read'] } })).data!.createApiKey;
  const oauth = await createOAuthClient(t);
  const rotated = (await t.gql(RotateOAuthClientSecretDocument, { input: { id: oauth.client.id, overlapSeconds: 600 } })).data!
    .rotateOAuthClientSecret.clientSecret!;
  const token = await accessToken(app, oauth.client.clientId, rotated);
  // Used, so last-used and the audit are written too.
  expect((await scimOf(app, token).get('/Users')).status).toBe(200);
  expect((await scimOf(app, bearer.secret!).get('/Users')).status).toBe(200);
  const basicAuth = `Basic ${Buffer.from(`${basic.credential!.basicUsername}:${basic.secret}`).toString('base64')}`;
  expect((await scimOf(app, '', {}).with({ authorization: basicAuth }).get('/Users')).status).toBe(200);
  // Presented and refused: a valid secret on another tenant's URL, and an invalid one.
  const other = await app.createTenant();
  const presentedWrongHost = await scimOf(app, bearer.secret!, { host: `${other.slug}.roster.test` }).get('/Users', {
    'x-forwarded-for': freshIp(),
  });
  expect(presentedWrongHost.status).toBe(401);
  const refusedSecret = 'rst_oauth_ThisIsAPresentedButWrongSecret0123456789abcdef';
  expect(
    (await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: oauth.client.clientId, secret: refusedSecret } })).status,
  ).toBe(401);

  const secrets = {
    scimToken: t.scimToken,
    apiKey: t.apiKey,
    basic: basic.secret!,
    bearer: bearer.secret!,
    key: key.secret!,
    oauth: oauth.secret,
    rotated,
    token,
    refusedSecret,
  };
  const { text, tables } = await dumpDatabase(tenantUuid(t));
  expect(tables).toEqual(
    expect.arrayContaining([
      'scim_credentials',
      'api_keys',
      'oauth_client_secrets',
      'oauth_access_tokens',
      'auth_failures',
      'audit_events',
    ]),
  );
  for (const [name, secret] of Object.entries(secrets)) {
    const random = secret.slice(secret.indexOf('_', 4) + 1);
    expect({ name, found: text.includes(random.slice(8)) }).toEqual({ name, found: false });
  }
  for (const [name, secret] of Object.entries(secrets)) {
    if (name === 'refusedSecret') continue;
    expect({ name, digestStored: text.includes(hashSecret(secret).toString('hex')) }).toEqual({ name, digestStored: true });
  }
});
