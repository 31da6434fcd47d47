/**
 * Every error case of /scim/v2 answers a SCIM Error body (RFC 7644 §3.12) with application/scim+json,
 * never HTML or a stack trace, and changes nothing: credentials (missing, wrong, revoked, replaced,
 * another tenant's host, HTTP Basic), malformed bodies, unknown routes and ids, bad members, bad PATCH
 * bodies, over-long filters; and tenant isolation: tenant A's credential never reaches tenant B's data.
 */
import {
  ScimCredentialListDocument,
  ScimGenerateCredentialDocument,
  ScimRevokeCredentialDocument,
  ScimRoleListDocument,
} from '../../__generated__/graphql.js';
import { GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, patchOp, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import {
  expectListResponse,
  expectNoLeak,
  expectScimError,
  expectStatus,
  memberNames,
  roleState,
  userCount,
  userState,
} from './helpers.js';

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let scimA: ScimClient;
let scimB: ScimClient;
let userA: any;
let userB: any;
let groupA: any;
let groupB: any;

const newUserBody = (userName: string) => ({ schemas: [USER_SCHEMA], userName, name: { givenName: 'N', familyName: 'U' } });

beforeAll(async () => {
  app = await startTestApp();
  [a, b] = await Promise.all([app.createTenant(), app.createTenant()]);
  scimA = scimClient(app.baseUrl, a.scimToken);
  scimB = scimClient(app.baseUrl, b.scimToken);
  const ua = await scimA.post('/Users', { ...newUserBody('shared@x.test'), title: 'A' });
  const ub = await scimB.post('/Users', { ...newUserBody('shared@x.test'), title: 'B', externalId: 'B-EXT' });
  expectStatus(ua, 201);
  expectStatus(ub, 201);
  userA = ua.body;
  userB = ub.body;
  const ga = await scimA.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Group A', members: [{ value: userA.id }] });
  const gb = await scimB.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Group B', members: [{ value: userB.id }] });
  expectStatus(ga, 201);
  expectStatus(gb, 201);
  groupA = ga.body;
  groupB = gb.body;
});
afterAll(() => app.close());

/** A write that would change something if it got through. */
const attemptCreate = (client: ScimClient, userName = 'intruder@x.test') => client.post('/Users', newUserBody(userName));

function expect401(res: Awaited<ReturnType<ScimClient['get']>>) {
  expectScimError(res, 401);
  expect(res.body.detail).not.toMatch(/rst_|scim_/);
}

describe('authentication', () => {
  it('missing token → 401 SCIM error with a WWW-Authenticate challenge; nothing created', async () => {
    const before = await userCount(a);
    const res = await attemptCreate(scimA.with({ authorization: null }));
    expect401(res);
    expect(res.headers['www-authenticate']).toMatch(/Bearer/);
    expect401(await scimA.with({ authorization: null }).get('/Users'));
    expect401(await scimA.with({ authorization: null }).get('/ServiceProviderConfig'));
    expect(await userCount(a)).toBe(before);
  });

  it('wrong token, empty bearer, unknown scheme → 401; nothing changed', async () => {
    const before = await userState(a, userA.id);
    for (const authorization of [
      'Bearer not-a-real-token',
      `Bearer ${a.scimToken}x`,
      'Bearer ',
      'Token abc',
      a.scimToken,
      `Bearer ${a.apiKey}`,
    ]) {
      expect401(
        await scimA.with({ authorization }).patch(`/Users/${userA.id}`, patchOp({ op: 'replace', path: 'title', value: 'hacked' })),
      );
    }
    expect(await userState(a, userA.id)).toEqual(before);
  });

  it('HTTP Basic credential works; wrong password or user name → 401', async () => {
    const t = await app.createTenant();
    const res = await t.gql(ScimGenerateCredentialDocument, { input: { kind: 'BASIC' } });
    const payload = res.data!.generateScimCredential;
    expect(payload.userErrors).toEqual([]);
    expect(payload.credential!.kind).toBe('BASIC');
    const username = payload.credential!.basicUsername!;
    const password = payload.secret!;
    expect(username).toBeTruthy();
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const client = scimClient(app.baseUrl, '', { authorization: basic(username, password) });
    const created = await attemptCreate(client, 'basic.user@x.test');
    expectStatus(created, 201);
    expect((await userState(t, created.body.id))!.userName).toBe('basic.user@x.test');

    const before = await userCount(t);
    expect401(await attemptCreate(client.with({ authorization: basic(username, `${password}x`) }), 'basic.bad@x.test'));
    expect401(await attemptCreate(client.with({ authorization: basic(`${username}x`, password) }), 'basic.bad@x.test'));
    expect401(await attemptCreate(client.with({ authorization: basic(username, t.scimToken) }), 'basic.bad@x.test'));
    // The secret of a Basic credential is not a bearer token, and vice versa.
    expect401(await attemptCreate(client.with({ authorization: `Bearer ${password}` }), 'basic.bad@x.test'));
    expect(await userCount(t)).toBe(before);
    // Generating a Basic credential leaves the bearer token working.
    expectStatus(await scimClient(app.baseUrl, t.scimToken).get('/Users'), 200);
  });

  it('a revoked token → 401; a replaced token → 401 and the new one works', async () => {
    const t = await app.createTenant();
    const old = scimClient(app.baseUrl, t.scimToken);
    expectStatus(await old.get('/Users'), 200);

    const replaced = await t.gql(ScimGenerateCredentialDocument, { input: { kind: 'BEARER' } });
    const fresh = replaced.data!.generateScimCredential;
    expect(fresh.userErrors).toEqual([]);
    expect(fresh.scimBaseUrl).toContain('/scim/v2');
    const current = scimClient(app.baseUrl, fresh.secret!);
    expect401(await attemptCreate(old));
    expectStatus(await current.get('/Users'), 200);

    const creds = (await t.gql(ScimCredentialListDocument, {})).data!.scimCredentials;
    const active = creds.filter((c) => c.active);
    expect(active).toHaveLength(1);
    const revoked = await t.gql(ScimRevokeCredentialDocument, { id: active[0].id });
    expect(revoked.data!.revokeScimCredential).toMatchObject({ revoked: 1, userErrors: [] });
    const before = await userCount(t);
    expect401(await attemptCreate(current));
    expect401(await current.get('/Users'));
    expect(await userCount(t)).toBe(before);
  });

  it("tenant A's token on tenant B's host → 401; B's token there → 200; A's token on A's host or a neutral host → 200", async () => {
    const onHostB = scimA.with({ host: `${b.slug}.roster.test` });
    const before = await userCount(b);
    expect401(await onHostB.get('/Users'));
    expect401(await attemptCreate(onHostB));
    expect401(await onHostB.get(`/Users/${userA.id}`));
    expect(await userCount(b)).toBe(before);
    expect(await userCount(a)).toBe(await userCount(a));

    const bOnB = await scimB.with({ host: `${b.slug}.roster.test` }).get('/Users');
    expect(expectListResponse(bOnB).Resources.map((r) => r.id)).toEqual([userB.id]);
    const aOnA = await scimA.with({ host: `${a.slug}.ROSTER.test` }).get('/Users');
    expect(expectListResponse(aOnA).Resources.map((r) => r.id)).toEqual([userA.id]);
    expectStatus(await scimA.with({ host: `${a.slug}.roster.test:8443` }).get('/Users'), 200);
    expectStatus(await scimA.get('/Users'), 200);
    expect401(await scimA.with({ host: `nosuchtenant.roster.test` }).get('/Users'));
  });
});

describe('request errors', () => {
  it('malformed JSON → 400 invalidSyntax; nothing created', async () => {
    const before = await userCount(a);
    for (const body of ['{"userName": ', '{"userName": "x@x.test",}', 'not json', '[1, 2']) {
      expectScimError(await scimA.post('/Users', body), 400, 'invalidSyntax');
    }
    expectScimError(await scimA.patch(`/Users/${userA.id}`, '{"schemas": ['), 400, 'invalidSyntax');
    expectScimError(await scimA.post('/Users', '[{"userName": "x@x.test"}]'), 400, 'invalidSyntax');
    expectScimError(await scimA.post('/Users', '"just a string"'), 400, 'invalidSyntax');
    expect(await userCount(a)).toBe(before);
    expect((await userState(a, userA.id))!.title).toBe('A');
  });

  it('a body in another content type → 415; application/json is accepted', async () => {
    const before = await userCount(a);
    const body = JSON.stringify(newUserBody('form@x.test'));
    expectScimError(await scimA.post('/Users', body, { 'content-type': 'text/plain' }), 415);
    expectScimError(await scimA.post('/Users', 'userName=form%40x.test', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    expectScimError(await scimA.put(`/Users/${userA.id}`, '<user/>', { 'content-type': 'application/xml' }), 415);
    expectScimError(await scimA.patch(`/Users/${userA.id}`, body, { 'content-type': 'text/html' }), 415);
    expect(await userCount(a)).toBe(before);
    const ok = await scimA.post('/Users', body, { 'content-type': 'application/json; charset=utf-8' });
    expectStatus(ok, 201);
    expectStatus(await scimA.delete(`/Users/${ok.body.id}`), 204);
  });

  it('a body over 1 MB → 413; nothing created', async () => {
    const before = await userCount(a);
    const big = { ...newUserBody('big@x.test'), displayName: 'x'.repeat(1_100_000) };
    const res = await scimA.post('/Users', big);
    expectScimError(res, 413, res.body?.scimType);
    expect(await userCount(a)).toBe(before);
  });

  it('unknown routes and methods → 404 SCIM error', async () => {
    for (const path of ['/Foo', '/Users/x/y', '/Me', '/', '/Groups/.search/extra']) {
      expectScimError(await scimA.get(path), 404);
    }
    expectScimError(await scimA.delete('/ServiceProviderConfig'), 404);
    expectScimError(await scimA.post('/Schemas', {}), 404);
    expectScimError(await scimA.with({ authorization: null }).get('/NoSuchThing'), 401);
  });

  it('unknown or malformed user and group ids → 404 on GET, PUT, PATCH and DELETE', async () => {
    const unknown = '01890000-0000-7000-8000-000000000000';
    for (const id of [unknown, 'not-a-uuid', '12345', "1' or '1'='1"]) {
      const path = encodeURIComponent(id);
      expectScimError(await scimA.get(`/Users/${path}`), 404);
      expectScimError(await scimA.put(`/Users/${path}`, newUserBody('ghost@x.test')), 404);
      expectScimError(await scimA.patch(`/Users/${path}`, patchOp({ op: 'replace', path: 'title', value: 'x' })), 404);
      expectScimError(await scimA.delete(`/Users/${path}`), 404);
      expectScimError(await scimA.get(`/Groups/${path}`), 404);
      expectScimError(await scimA.put(`/Groups/${path}`, { schemas: [GROUP_SCHEMA], displayName: 'Ghost' }), 404);
      expectScimError(await scimA.patch(`/Groups/${path}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
      expectScimError(await scimA.delete(`/Groups/${path}`), 404);
    }
    const roles = (await a.gql(ScimRoleListDocument, {})).data!.roles.nodes.map((r) => r.displayName);
    expect(roles).toEqual(['Group A']);
  });

  it('a group as a member (nested groups) → 400, on POST, PUT and PATCH; nothing added or created', async () => {
    const rolesBefore = (await a.gql(ScimRoleListDocument, {})).data!.roles.totalCount;
    const other = await scimA.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Nested Target' });
    expectStatus(other, 201);
    const post = await scimA.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Nesting', members: [{ value: other.body.id }] });
    expectScimError(post, 400, 'invalidValue');
    expect(post.body.detail).toMatch(/nested|group/i);
    const typed = await scimA.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Nesting',
      members: [{ value: userA.id, type: 'Group' }],
    });
    expectScimError(typed, 400, 'invalidValue');
    expect((await a.gql(ScimRoleListDocument, {})).data!.roles.totalCount).toBe(rolesBefore + 1);

    const patch = await scimA.patch(
      `/Groups/${groupA.id}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: userA.id }, { value: other.body.id }] }),
    );
    expectScimError(patch, 400, 'invalidValue');
    const put = await scimA.put(`/Groups/${groupA.id}`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Group A',
      members: [{ value: other.body.id }],
    });
    expectScimError(put, 400, 'invalidValue');
    expect(await memberNames(a, groupA.id)).toEqual(['shared@x.test']);
    expect(await memberNames(a, other.body.id)).toEqual([]);
    expectStatus(await scimA.delete(`/Groups/${other.body.id}`), 204);
  });

  it("another tenant's user as a member → 400, and nothing is added (not even the valid members of the request)", async () => {
    const extra = await scimA.post('/Users', newUserBody('extra@x.test'));
    expectStatus(extra, 201);
    const patch = await scimA.patch(
      `/Groups/${groupA.id}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: extra.body.id }, { value: userB.id }] }),
    );
    expectScimError(patch, 400, 'invalidValue');
    expect(patch.body.detail).not.toContain('shared@x.test');
    const replace = await scimA.patch(`/Groups/${groupA.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: userB.id }] }));
    expectScimError(replace, 400, 'invalidValue');
    const post = await scimA.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Cross', members: [{ value: userB.id }] });
    expectScimError(post, 400, 'invalidValue');
    expect(await memberNames(a, groupA.id)).toEqual(['shared@x.test']);
    expect((await a.gql(ScimRoleListDocument, {})).data!.roles.nodes.map((r) => r.displayName)).not.toContain('Cross');
    expect(await memberNames(b, groupB.id)).toEqual(['shared@x.test']);
    expect((await userState(b, userB.id))!.roles.map((r) => r.scimId)).toEqual([groupB.id]);
    expectStatus(await scimA.delete(`/Users/${extra.body.id}`), 204);
  });

  it('PATCH bodies without Operations, with empty Operations, without the PatchOp schema → 400; nothing changed', async () => {
    const before = await userState(a, userA.id);
    const bodies: unknown[] = [
      { schemas: [PATCH_OP] },
      { schemas: [PATCH_OP], Operations: [] },
      { schemas: [PATCH_OP], Operations: { op: 'replace', path: 'title', value: 'x' } },
      { Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
      { schemas: [PATCH_OP], Operations: [{ path: 'title', value: 'x' }] },
      { schemas: [PATCH_OP], Operations: ['replace'] },
      {},
    ];
    for (const body of bodies) {
      const res = await scimA.patch(`/Users/${userA.id}`, body);
      expectScimError(res, 400, res.body?.scimType);
      expect(['invalidSyntax', 'invalidValue']).toContain(res.body.scimType);
      const g = await scimA.patch(`/Groups/${groupA.id}`, body);
      expectScimError(g, 400, g.body?.scimType);
    }
    expect(await userState(a, userA.id)).toEqual(before);
    expect(await roleState(a, groupA.id)).toMatchObject({ displayName: 'Group A', members: { totalCount: 1 } });
  });

  it('POST and PUT without userName / displayName → 400; wrong types → 400', async () => {
    const before = await userCount(a);
    expectScimError(await scimA.post('/Users', { schemas: [USER_SCHEMA], name: { givenName: 'No' } }), 400, 'invalidValue');
    expectScimError(await scimA.post('/Users', { schemas: [USER_SCHEMA], userName: 'typed@x.test', active: 'maybe' }), 400, 'invalidValue');
    expectScimError(
      await scimA.post('/Users', { schemas: [USER_SCHEMA], userName: 'typed@x.test', emails: [{ value: 'not an email', type: 'work' }] }),
      400,
      'invalidValue',
    );
    expectScimError(
      await scimA.post('/Users', { schemas: [USER_SCHEMA], userName: 'typed@x.test', name: 'Just A String' }),
      400,
      'invalidValue',
    );
    expectScimError(await scimA.post('/Users', { schemas: [USER_SCHEMA], userName: 'typed@x.test', shoeSize: 42 }), 400, 'invalidPath');
    expectScimError(await scimA.put(`/Users/${userA.id}`, { schemas: [USER_SCHEMA], title: 'no userName' }), 400, 'invalidValue');
    expectScimError(await scimA.post('/Groups', { schemas: [GROUP_SCHEMA], members: [] }), 400, 'invalidValue');
    expect(await userCount(a)).toBe(before);
    expect((await userState(a, userA.id))!.title).toBe('A');
  });

  it('a filter over the length limit → 400', async () => {
    const filter = `userName eq "${'a'.repeat(5000)}"`;
    expectScimError(await scimA.get(`/Users${qs({ filter })}`), 400, 'invalidFilter');
  });

  it('error bodies never carry HTML or a stack trace, even for odd input', async () => {
    const odd = [
      await scimA.get('/Users?filter=%ZZ'),
      await scimA.get(`/Users${qs({ sortBy: '"; drop table users; --' })}`),
      await scimA.get(`/Users${qs({ attributes: 'a[b' })}`),
      await scimA.post('/Users', '\u0000\u0001'),
      await scimA.get('/Users/%00'),
    ];
    for (const res of odd) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectNoLeak(res);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    }
  });
});

describe('tenant isolation', () => {
  it("A's token cannot GET, PUT, PATCH or DELETE B's user or group (404), and B is unchanged", async () => {
    const userBefore = await userState(b, userB.id);
    const groupBefore = await roleState(b, groupB.id);
    expectScimError(await scimA.get(`/Users/${userB.id}`), 404);
    expectScimError(await scimA.put(`/Users/${userB.id}`, { ...newUserBody('shared@x.test'), title: 'from A' }), 404);
    expectScimError(await scimA.patch(`/Users/${userB.id}`, patchOp({ op: 'replace', path: 'title', value: 'from A' })), 404);
    expectScimError(await scimA.delete(`/Users/${userB.id}`), 404);
    expectScimError(await scimA.get(`/Groups/${groupB.id}`), 404);
    expectScimError(await scimA.put(`/Groups/${groupB.id}`, { schemas: [GROUP_SCHEMA], displayName: 'from A', members: [] }), 404);
    expectScimError(
      await scimA.patch(`/Groups/${groupB.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: userA.id }] })),
      404,
    );
    expectScimError(await scimA.delete(`/Groups/${groupB.id}`), 404);
    expect(await userState(b, userB.id)).toEqual(userBefore);
    expect(await roleState(b, groupB.id)).toEqual(groupBefore);
    // And A's objects are untouched by all that.
    expect((await userState(a, userA.id))!.title).toBe('A');
  });

  it("A's lists and filters never return B's users or groups", async () => {
    const all = expectListResponse(await scimA.get('/Users?count=1000'));
    expect(all.Resources.map((r) => r.id)).not.toContain(userB.id);
    const byName = expectListResponse(await scimA.get(`/Users${qs({ filter: 'userName eq "shared@x.test"' })}`));
    expect(byName.Resources.map((r) => r.id)).toEqual([userA.id]);
    for (const filter of [
      `id eq "${userB.id}"`,
      'externalId eq "B-EXT"',
      'title eq "B"',
      `groups.value eq "${groupB.id}"`,
      'groups.display eq "Group B"',
    ]) {
      expect(expectListResponse(await scimA.get(`/Users${qs({ filter })}`)).totalResults).toBe(0);
    }
    const search = expectListResponse(
      await scimA.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'title pr' }),
    );
    expect(search.Resources.every((r) => r.id !== userB.id)).toBe(true);
    const cursor = expectListResponse(await scimA.get('/Users?cursor=&count=1000'));
    expect(cursor.Resources.map((r) => r.id)).not.toContain(userB.id);
    const groups = expectListResponse(await scimA.get('/Groups'));
    expect(groups.Resources.map((g) => g.id)).not.toContain(groupB.id);
    for (const filter of [`members.value eq "${userB.id}"`, 'displayName eq "Group B"', `id eq "${groupB.id}"`]) {
      expect(expectListResponse(await scimA.get(`/Groups${qs({ filter })}`)).totalResults).toBe(0);
    }
    // The manager reference of A's user cannot resolve to B's user: it stays pending.
    const mgr = await scimA.patch(
      `/Users/${userA.id}?attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
      patchOp({ op: 'add', path: 'manager', value: userB.id }),
    );
    expectStatus(mgr, 200);
    const state = await userState(a, userA.id);
    expect(state!.manager).toBeNull();
    expect(state!.pendingManagerRef).toBe(userB.id);
    expectStatus(await scimA.patch(`/Users/${userA.id}`, patchOp({ op: 'remove', path: 'manager' })), 204);
  });
});
