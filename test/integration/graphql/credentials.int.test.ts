import {
  ApiKeysFullDocument,
  AuditPageDocument,
  CreateApiKeyFullDocument,
  CreateTenantDocument,
  CreateTeamWithDescriptionDocument,
  CreateRoleFullDocument,
  DeclareCustomAttributeFullDocument,
  GenerateScimCredentialFullDocument,
  NodeLookupDocument,
  ReadUserDocument,
  RevokeApiKeyFullDocument,
  RevokeScimCredentialFullDocument,
  ScimCredentialsFullDocument,
  TenantsPageDocument,
  UserAuditTrailDocument,
  UserPageDocument,
  ViewerFullDocument,
} from '../../__generated__/graphql.js';
import { doorLimits } from '../../../src/modules/credentials/door.js';
import { passDoorAndEnter } from '../../../src/infra/orm/door-transaction.js';
import { postGraphql, startTestApp, uniqueSlug, type TestApp, type TestTenant } from '../../setup/test-app.js';
import {
  allowSlowTests,
  createUser,
  dataOf,
  expectGraphqlError,
  expectUnchanged,
  expectUserError,
  introspectMutations,
  mutationCall,
  snapshot,
  succeeded,
} from './support.js';

allowSlowTests();

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

/** Which tenant a SCIM bearer token authenticates as right now (null: refused), through the domain's own check. */
async function scimTenantOf(token: string): Promise<string | null> {
  const { door: result } = await passDoorAndEnter(
    app.orm,
    {
      request: { door: 'scim', credential: { kind: 'bearer', token }, hostSlug: null, clientIp: '127.0.0.1' },
      limits: doorLimits(app.config, 'scim'),
      operatorAllowed: false,
    },
    { statementTimeoutMs: 0 },
    async () => undefined,
  );
  return result.outcome === 'ok' ? result.tenantId : null;
}

const credentials = async (t: TestTenant) => dataOf(await t.gql(ScimCredentialsFullDocument, {})).scimCredentials;
const generate = async (t: TestTenant, input?: { overlapSeconds?: number; kind?: 'BEARER' | 'BASIC' }) =>
  dataOf(await t.gql(GenerateScimCredentialFullDocument, { input })).generateScimCredential;
const createKey = async (t: TestTenant, name: string, permissions: string[]) =>
  succeeded(dataOf(await t.gql(CreateApiKeyFullDocument, { input: { name, permissions } })).createApiKey);

describe('SCIM credentials', () => {
  it('returns the secret once; listings show only the prefix; the previous token stops working at once', async () => {
    const t = await app.createTenant();
    const tenantId = await scimTenantOf(t.scimToken);
    expect(tenantId).toEqual(expect.any(String));
    const [initial] = await credentials(t);

    const gen = succeeded(await generate(t));
    expect(gen.secret).toMatch(/^rst_scim_[A-Za-z0-9_-]{40,}$/);
    expect(gen.scimBaseUrl).toBe(t.scimBaseUrl);
    expect(gen.credential).toMatchObject({ kind: 'BEARER', active: true, revokedAt: null, expiresAt: null, basicUsername: null });
    expect(gen.secret!.startsWith(gen.credential!.prefix)).toBe(true);
    expect(gen.credential!.prefix.length).toBeLessThan(20);

    const listed = await credentials(t);
    expect(listed.map((c) => c.id)).toEqual([gen.credential!.id, initial.id]);
    expect(listed[0]).toMatchObject({ active: true, createdBy: 'admin' });
    expect(listed[1]).toMatchObject({ active: false, revokedAt: expect.any(String) });
    const everything = JSON.stringify([listed, await snapshot(t)]);
    expect(everything).not.toContain(gen.secret);
    expect(everything).not.toContain(t.scimToken);

    expect(await scimTenantOf(t.scimToken)).toBeNull();
    expect(await scimTenantOf(gen.secret!)).toBe(tenantId);
  });

  it('overlapSeconds keeps the previous token active with expiresAt set; a later rotation without overlap ends both', async () => {
    const t = await app.createTenant();
    const before = Date.now();
    const gen = succeeded(await generate(t, { overlapSeconds: 3600 }));
    const [fresh, old] = await credentials(t);
    expect(fresh.id).toBe(gen.credential!.id);
    expect(old).toMatchObject({ active: true, revokedAt: null });
    const expiresAt = Date.parse(old.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 5_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 5_000);
    expect(await scimTenantOf(t.scimToken)).not.toBeNull();
    expect(await scimTenantOf(gen.secret!)).not.toBeNull();

    const third = succeeded(await generate(t));
    const list = await credentials(t);
    expect(list.filter((c) => c.active).map((c) => c.id)).toEqual([third.credential!.id]);
    expect(await scimTenantOf(t.scimToken)).toBeNull();
    expect(await scimTenantOf(gen.secret!)).toBeNull();
    expect(await scimTenantOf(third.secret!)).not.toBeNull();
  });

  it('refuses an overlap beyond 7 days or below 0 with INVALID_INPUT and changes nothing', async () => {
    const t = await app.createTenant();
    for (const overlapSeconds of [7 * 24 * 3600 + 1, -1]) {
      const payload = await expectUnchanged(t, () => generate(t, { overlapSeconds }));
      expectUserError(payload, 'INVALID_INPUT', { field: 'overlapSeconds' });
      expect(payload.secret).toBeNull();
    }
    expect(await scimTenantOf(t.scimToken)).not.toBeNull();
  });

  it('a Basic credential has a user name and does not end the bearer token', async () => {
    const t = await app.createTenant();
    const basic = succeeded(await generate(t, { kind: 'BASIC' }));
    expect(basic.credential).toMatchObject({ kind: 'BASIC', active: true, basicUsername: expect.stringMatching(/^scim-/) });
    expect(basic.secret).toMatch(/^rst_basic_/);
    expect(await scimTenantOf(t.scimToken)).not.toBeNull();
  });

  it('revokeScimCredential revokes one by id, or all; the token stops working', async () => {
    const t = await app.createTenant();
    const [initial] = await credentials(t);
    const res = succeeded(dataOf(await t.gql(RevokeScimCredentialFullDocument, { id: initial.id })).revokeScimCredential);
    expect(res.revoked).toBe(1);
    expect((await credentials(t))[0]).toMatchObject({ id: initial.id, active: false, revokedAt: expect.any(String) });
    expect(await scimTenantOf(t.scimToken)).toBeNull();

    const a = succeeded(await generate(t, { kind: 'BASIC' }));
    const b = succeeded(await generate(t));
    expect(a.credential!.active && b.credential!.active).toBe(true);
    const all = succeeded(dataOf(await t.gql(RevokeScimCredentialFullDocument, {})).revokeScimCredential);
    expect(all.revoked).toBe(2);
    expect((await credentials(t)).every((c) => !c.active)).toBe(true);
    expect(await scimTenantOf(b.secret!)).toBeNull();
  });

  it('revoking an already revoked or unknown credential answers NOT_FOUND and changes nothing', async () => {
    const t = await app.createTenant();
    const [initial] = await credentials(t);
    succeeded(dataOf(await t.gql(RevokeScimCredentialFullDocument, { id: initial.id })).revokeScimCredential);
    for (const id of [initial.id, 'garbage']) {
      const res = await expectUnchanged(t, () => t.gql(RevokeScimCredentialFullDocument, { id }));
      expect(res.errors).toBeUndefined();
      expectUserError(res.data!.revokeScimCredential, 'NOT_FOUND', { field: 'id' });
    }
  });
});

describe('API keys and permissions', () => {
  let t: TestTenant;
  let reader: string;
  let ids: { user: string; team: string; role: string; attr: string; cred: string; key: string };

  beforeAll(async () => {
    t = await app.createTenant();
    const readerKey = await createKey(t, 'reader', ['directory:read']);
    expect(readerKey.secret).toMatch(/^rst_key_/);
    expect(readerKey.apiKey).toMatchObject({ name: 'reader', permissions: ['directory:read'], revokedAt: null });
    reader = readerKey.secret!;
    const user = await createUser(t, { userName: 'target@x.test', department: 'Target Team' });
    const role = succeeded(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'Target Role' } })).createRole).role!;
    const attr = succeeded(
      dataOf(await t.gql(DeclareCustomAttributeFullDocument, { input: { name: 'badge', type: 'string' } })).declareCustomAttribute,
    ).customAttribute!;
    const [cred] = await credentials(t);
    ids = { user: user.id, team: user.team!.id, role: role.id, attr: attr.id, cred: cred.id, key: readerKey.apiKey!.id };
  });

  it('lists keys with prefix and permissions, never the secret', async () => {
    const keys = dataOf(await t.gql(ApiKeysFullDocument, {})).apiKeys;
    expect(keys.map((k) => k.name)).toEqual(['reader', 'admin']);
    expect(keys[0]).toMatchObject({ permissions: ['directory:read'], createdBy: 'admin', prefix: expect.stringMatching(/^rst_key_/) });
    expect(reader.startsWith(keys[0].prefix)).toBe(true);
    expect(keys[1].permissions.sort()).toEqual(['audit:read', 'directory:read', 'directory:write', 'integrations:manage']);
    expect(JSON.stringify(keys)).not.toContain(reader);
    expect(JSON.stringify(keys)).not.toContain(t.apiKey);
  });

  it('a directory:read key reads the directory', async () => {
    expect(dataOf(await t.gql(UserPageDocument, { first: 10 }, reader)).users.totalCount).toBe(1);
    expect(dataOf(await t.gql(ReadUserDocument, { id: ids.user }, reader)).user!.userName).toBe('target@x.test');
    expect(dataOf(await t.gql(NodeLookupDocument, { id: ids.role }, reader)).node).toEqual({ __typename: 'Role', id: ids.role });
    // … but node() does not go around the permissions of other types.
    expect(dataOf(await t.gql(NodeLookupDocument, { id: ids.cred }, reader)).node).toBeNull();
    expect(dataOf(await t.gql(NodeLookupDocument, { id: ids.key }, reader)).node).toBeNull();
  });

  it('a directory:read key cannot run any mutation (FORBIDDEN) and nothing changes', async () => {
    const writes: Array<[string, string, Record<string, unknown>]> = [
      ['createUser', 'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', { i: { userName: 'ro@x.test' } }],
      ['updateUser', 'mutation($id: ID!) { updateUser(id: $id, input: { title: "x" }) { user { id } } }', { id: ids.user }],
      ['setManager', 'mutation($id: ID!) { setManager(userId: $id, manager: { externalId: "M" }) { user { id } } }', { id: ids.user }],
      ['moveUserToTeam', 'mutation($id: ID!) { moveUserToTeam(userId: $id, teamId: null) { user { id } } }', { id: ids.user }],
      ['deactivateUser', 'mutation($id: ID!) { deactivateUser(id: $id) { user { id } } }', { id: ids.user }],
      ['reactivateUser', 'mutation($id: ID!) { reactivateUser(id: $id) { user { id } } }', { id: ids.user }],
      ['deleteUser', 'mutation($id: ID!) { deleteUser(id: $id) { deletedId } }', { id: ids.user }],
      ['eraseUser', 'mutation($id: ID!) { eraseUser(id: $id) { deletedId } }', { id: ids.user }],
      ['createTeam', 'mutation { createTeam(input: { name: "RO team" }) { team { id } } }', {}],
      ['updateTeam', 'mutation($id: ID!) { updateTeam(id: $id, input: { name: "renamed" }) { team { id } } }', { id: ids.team }],
      ['deleteTeam', 'mutation($id: ID!) { deleteTeam(id: $id) { deletedId } }', { id: ids.team }],
      ['createRole', 'mutation { createRole(input: { displayName: "RO role" }) { role { id } } }', {}],
      ['updateRole', 'mutation($id: ID!) { updateRole(id: $id, input: { displayName: "renamed" }) { role { id } } }', { id: ids.role }],
      ['deleteRole', 'mutation($id: ID!) { deleteRole(id: $id) { deletedId } }', { id: ids.role }],
      ['assignRole', 'mutation($r: ID!, $u: ID!) { assignRole(roleId: $r, userIds: [$u]) { changed } }', { r: ids.role, u: ids.user }],
      ['unassignRole', 'mutation($r: ID!, $u: ID!) { unassignRole(roleId: $r, userIds: [$u]) { changed } }', { r: ids.role, u: ids.user }],
      ['declareCustomAttribute', 'mutation { declareCustomAttribute(input: { name: "ro", type: string }) { customAttribute { id } } }', {}],
      ['removeCustomAttribute', 'mutation($id: ID!) { removeCustomAttribute(id: $id) { deletedId } }', { id: ids.attr }],
      ['generateScimCredential', 'mutation { generateScimCredential { secret } }', {}],
      ['revokeScimCredential', 'mutation($id: ID) { revokeScimCredential(id: $id) { revoked } }', { id: ids.cred }],
      ['createApiKey', 'mutation { createApiKey(input: { name: "escalate", permissions: ["directory:write"] }) { secret } }', {}],
      ['revokeApiKey', 'mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } } }', { id: ids.key }],
      ['createTenant', 'mutation { createTenant(input: { slug: "ro-tenant" }) { apiKey } }', {}],
    ];
    // Every other mutation of the schema (added after this list was written) with schema-built arguments.
    const schema = await introspectMutations(t);
    const listed = new Set(writes.map(([name]) => name));
    for (const m of schema.mutations) if (!listed.has(m.name)) writes.push([m.name, mutationCall(schema, m, ids.user), {}]);
    expect(writes.length).toBe(schema.mutations.length);

    await expectUnchanged(t, async () => {
      for (const [name, query, vars] of writes) {
        const res = await t.raw(query, vars, reader);
        expect({ name, status: res.status, data: res.data }).toEqual({ name, status: 200, data: null });
        expect({ name, codes: res.errors?.map((e) => e.extensions?.code) }).toEqual({ name, codes: ['FORBIDDEN'] });
      }
    });
    // The key itself still works (it was not revoked by the attempt).
    expect(dataOf(await t.gql(UserPageDocument, { first: 1 }, reader)).users.totalCount).toBe(1);
  });

  it('a key without audit:read cannot read auditEvents or user.auditTrail; without integrations:manage no credentials', async () => {
    const audit = await t.gql(AuditPageDocument, { first: 5 }, reader);
    expectGraphqlError(audit, 'FORBIDDEN');
    expect(audit.data).toBeNull();
    const trail = await t.gql(UserAuditTrailDocument, { id: ids.user, first: 5 }, reader);
    expectGraphqlError(trail, 'FORBIDDEN');
    expect(trail.data?.user ?? null).toBeNull();
    expectGraphqlError(await t.gql(ApiKeysFullDocument, {}, reader), 'FORBIDDEN');
    expectGraphqlError(await t.gql(ScimCredentialsFullDocument, {}, reader), 'FORBIDDEN');
    // With audit:read it can.
    const auditor = await createKey(t, 'auditor', ['audit:read', 'directory:read']);
    expect(dataOf(await t.gql(AuditPageDocument, { first: 5 }, auditor.secret!)).auditEvents.totalCount).toBeGreaterThan(0);
    expect(
      dataOf(await t.gql(UserAuditTrailDocument, { id: ids.user, first: 5 }, auditor.secret!)).user!.auditTrail.totalCount,
    ).toBeGreaterThan(0);
  });

  it('a directory:write key writes the directory but cannot mint keys or SCIM tokens', async () => {
    const writer = (await createKey(t, 'writer', ['directory:read', 'directory:write'])).secret!;
    const u = await createUser(t, { userName: 'written@x.test' }, writer);
    expect(u.userName).toBe('written@x.test');
    await expectUnchanged(t, async () => {
      expectGraphqlError(
        await t.gql(CreateApiKeyFullDocument, { input: { name: 'more', permissions: ['integrations:manage'] } }, writer),
        'FORBIDDEN',
      );
      expectGraphqlError(await t.gql(GenerateScimCredentialFullDocument, {}, writer), 'FORBIDDEN');
      expectGraphqlError(await t.gql(DeclareCustomAttributeFullDocument, { input: { name: 'nope', type: 'string' } }, writer), 'FORBIDDEN');
    });
  });

  it('an integrations:manage key mints keys only with permissions it holds itself (no escalation)', async () => {
    const manager = (await createKey(t, 'integrations only', ['integrations:manage'])).secret!;
    await expectUnchanged(t, async () => {
      const res = await t.gql(
        CreateApiKeyFullDocument,
        { input: { name: 'escalated', permissions: ['integrations:manage', 'directory:write', 'audit:read'] } },
        manager,
      );
      const code = res.errors?.[0]?.extensions?.code ?? res.data?.createApiKey.userErrors[0]?.code;
      expect(code).toBe('FORBIDDEN');
      expect(res.data?.createApiKey.secret ?? null).toBeNull();
    });
    expect((await createKey(t, 'same reach', ['integrations:manage'])).secret).toEqual(expect.any(String));
  });

  it.each([
    ['an operator permission', { name: 'escalate', permissions: ['tenants:manage'] }, 'permissions.0'],
    ['an unknown permission', { name: 'bogus', permissions: ['directory:read', 'everything'] }, 'permissions.1'],
    ['no permission at all', { name: 'empty', permissions: [] }, 'permissions'],
    ['a blank name', { name: '  ', permissions: ['directory:read'] }, 'name'],
  ])('createApiKey refuses %s with INVALID_INPUT and creates nothing', async (_label, input, field) => {
    const payload = await expectUnchanged(t, async () => dataOf(await t.gql(CreateApiKeyFullDocument, { input })).createApiKey);
    expectUserError(payload, 'INVALID_INPUT', { field });
    expect(payload.secret).toBeNull();
  });

  it('a revoked key gets HTTP 401 UNAUTHENTICATED; revoking twice is a CONFLICT; unknown keys are NOT_FOUND', async () => {
    const doomed = await createKey(t, 'doomed', ['directory:read']);
    expect((await t.gql(UserPageDocument, { first: 1 }, doomed.secret!)).status).toBe(200);
    const revoked = succeeded(dataOf(await t.gql(RevokeApiKeyFullDocument, { id: doomed.apiKey!.id })).revokeApiKey);
    expect(revoked.apiKey).toMatchObject({ id: doomed.apiKey!.id, name: 'doomed', revokedAt: expect.any(String) });

    const res = await t.gql(UserPageDocument, { first: 1 }, doomed.secret!);
    expect(res.status).toBe(401);
    expect(res.data).toBeNull();
    expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(RevokeApiKeyFullDocument, { id: doomed.apiKey!.id })).revokeApiKey, 'CONFLICT');
      expectUserError(dataOf(await t.gql(RevokeApiKeyFullDocument, { id: ids.user })).revokeApiKey, 'NOT_FOUND');
    });
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a garbage bearer token', { authorization: 'Bearer garbage' }],
    ['a well-formed but unknown key', { authorization: 'Bearer rst_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a Basic header', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a bearer without token', { authorization: 'Bearer ' }],
  ])('refuses %s with HTTP 401 and extensions.code UNAUTHENTICATED', async (_label, headers) => {
    const res = await fetch(`${app.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await res.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a SCIM token is not an API key', async () => {
    const t = await app.createTenant();
    const res = await t.gql(ViewerFullDocument, {}, t.scimToken);
    expect(res.status).toBe(401);
  });
});

describe('operator key', () => {
  it('creates tenants and lists them, but sees nothing inside a tenant', async () => {
    const slug = uniqueSlug('op');
    const created = await postGraphql<{
      createTenant: { tenant: { id: string; slug: string }; apiKey: string; scimToken: string; userErrors: unknown[] };
    }>(
      app.baseUrl,
      app.operatorKey,
      `mutation($slug: String!) { createTenant(input: { slug: $slug, displayName: "Operated" }) { tenant { id slug } apiKey scimToken userErrors { code } } }`,
      { slug },
    );
    const payload = dataOf(created).createTenant;
    expect(payload.userErrors).toEqual([]);
    expect(payload.apiKey).toMatch(/^rst_key_/);
    expect(payload.scimToken).toMatch(/^rst_scim_/);

    const tenants = await postGraphql<{ tenants: Array<{ slug: string; displayName: string }> }>(
      app.baseUrl,
      app.operatorKey,
      `{ tenants(first: 1000) { slug displayName } }`,
    );
    expect(dataOf(tenants).tenants).toContainEqual({ slug, displayName: 'Operated' });

    // The new tenant's admin key works for the new tenant.
    const viewer = await postGraphql<{ viewer: { slug: string } }>(app.baseUrl, payload.apiKey, '{ viewer { slug } }');
    expect(dataOf(viewer).viewer.slug).toBe(slug);
    const user = await postGraphql<{ createUser: { user: { id: string } } }>(
      app.baseUrl,
      payload.apiKey,
      'mutation { createUser(input: { userName: "in@op.test" }) { user { id } } }',
    );
    const userId = dataOf(user).createUser.user.id;

    const asOperator = (query: string, variables?: Record<string, unknown>) =>
      postGraphql<Record<string, unknown>>(app.baseUrl, app.operatorKey, query, variables);
    const users = await asOperator('{ users(first: 10) { totalCount } }');
    expect(users.data).toBeNull();
    expect(users.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(dataOf(await asOperator('{ viewer { id } }')).viewer).toBeNull();
    expect(dataOf(await asOperator('query($id: ID!) { node(id: $id) { id } }', { id: userId })).node).toBeNull();
    expectGraphqlError(await asOperator('query($id: ID!) { user(id: $id) { id } }', { id: userId }), 'FORBIDDEN');
    expectGraphqlError(await asOperator('mutation { createUser(input: { userName: "op@x.test" }) { user { id } } }'), 'FORBIDDEN');
    expectGraphqlError(await asOperator('{ auditEvents(first: 1) { totalCount } }'), 'FORBIDDEN');
    expectGraphqlError(await asOperator('{ apiKeys { id } }'), 'FORBIDDEN');
  });

  it('refuses an invalid or taken slug with userErrors and creates nothing', async () => {
    const t = await app.createTenant();
    const count = async () =>
      dataOf(await postGraphql<{ tenants: unknown[] }>(app.baseUrl, app.operatorKey, '{ tenants(first: 1000) { id } }')).tenants.length;
    const before = await count();
    const call = async (slug: string) =>
      dataOf(
        await postGraphql<{
          createTenant: {
            tenant: unknown;
            apiKey: unknown;
            userErrors: Array<{ code: string; field: string; reason: string; message: string }>;
          };
        }>(
          app.baseUrl,
          app.operatorKey,
          'mutation($slug: String!) { createTenant(input: { slug: $slug }) { tenant { id } apiKey userErrors { code field reason message } } }',
          { slug },
        ),
      ).createTenant;
    const invalid = await call('Not A Slug!');
    expectUserError(invalid, 'INVALID_INPUT', { field: 'slug' });
    expect(invalid.apiKey).toBeNull();
    expectUserError(await call(t.slug), 'CONFLICT', { reason: 'SLUG_TAKEN' });
    expect(await count()).toBe(before);
  });

  it('a tenant key cannot create or list tenants (FORBIDDEN)', async () => {
    const t = await app.createTenant();
    await expectUnchanged(t, async () => {
      const created = await t.gql(CreateTenantDocument, { input: { slug: uniqueSlug('nope') } });
      expect(created.data).toBeNull();
      expect(created.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      const listed = await t.gql(TenantsPageDocument, {});
      expect(listed.data).toBeNull();
      expect(listed.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    });
    // A team is not a tenant: sanity check that the key otherwise works.
    succeeded(dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input: { name: 'still works' } })).createTeam);
  });
});
