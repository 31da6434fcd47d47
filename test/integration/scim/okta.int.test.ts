/**
 * Replays of what Okta sends (shared/docs/idp-behaviour.md, O1–O4): the OIN integration (PATCH for
 * activation, Group Push) and an App-Integration-Wizard app (PUT for every change). Each step asserts the
 * HTTP answer and the state it left, over GraphQL and over SCIM.
 */
import { ScimRoleListDocument } from '../../__generated__/graphql.js';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, patchOp, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import {
  expectListResponse,
  expectScimError,
  expectStatus,
  expectVersioned,
  memberNames,
  roleState,
  tenantSql,
  userCount,
  userState,
} from './helpers.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const oktaHeaders = { 'user-agent': 'Okta SCIM Client 1.0.0' };

/** Okta's create body (O1), for a given user name. */
const oktaUser = (userName: string, given: string, family: string, externalId: string) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: given, familyName: family },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: `${given} ${family}`,
  locale: 'en-US',
  externalId,
  groups: [],
  password: '1mz050nq',
  active: true,
});

const lookup = (scim: ScimClient, userName: string) =>
  scim.get(`/Users${qs({ filter: `userName eq "${userName}"`, startIndex: 1, count: 100 })}`, oktaHeaders);

describe('Okta OIN integration (PATCH)', () => {
  let t: TestTenant;
  let scim: ScimClient;
  let userId: string;
  let managerId: string;
  let preGroupId: string;
  const userName = 'test.user@okta.local';

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken);
  });

  it('lookup by userName before create: 200 with an empty ListResponse and integer fields', async () => {
    const res = await lookup(scim, userName);
    const list = expectListResponse(res);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
    expect(list.totalResults).toBe(0);
  });

  it('POST /Users with password and groups:[] → 201 with Location and ETag; the password is neither returned nor stored', async () => {
    const res = await scim.post('/Users', oktaUser(userName, 'Test', 'User', '00ujl29u0le5T6Aj10h7'), oktaHeaders);
    expectStatus(res, 201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    userId = res.body.id;
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.location).toBe(`${app.baseUrl}/scim/v2/Users/${userId}`);
    expect(res.body.meta.location).toBe(res.headers.location);
    expectVersioned(res);
    expect(res.body).toMatchObject({
      userName,
      externalId: '00ujl29u0le5T6Aj10h7',
      name: { givenName: 'Test', familyName: 'User' },
      displayName: 'Test User',
      locale: 'en-US',
      active: true,
      emails: [{ primary: true, value: userName, type: 'work' }],
      meta: { resourceType: 'User' },
    });
    expect(res.body.password).toBeUndefined();
    expect(res.text).not.toContain('1mz050nq');
    expect(res.text.toLowerCase()).not.toContain('password');

    const rows = await tenantSql<{ row: string }>(t.id, `select row_to_json(u)::text as row from users u where id = $1`, [userId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].row).toContain(userName);
    expect(rows[0].row).not.toContain('1mz050nq');
    const audit = await tenantSql<{ n: string }>(
      t.id,
      `select count(*)::text as n from audit_events where changes::text like '%1mz050nq%'`,
    );
    expect(audit[0].n).toBe('0');

    const gq = await userState(t, userId);
    expect(gq).toMatchObject({
      userName,
      externalId: '00ujl29u0le5T6Aj10h7',
      active: true,
      displayName: 'Test User',
      name: { givenName: 'Test', familyName: 'User' },
      roles: [],
    });

    const get = await scim.get(`/Users/${userId}`);
    expectStatus(get, 200);
    expect(get.text).not.toContain('1mz050nq');
  });

  it('a duplicate POST → 409 uniqueness with the Error schema, and no second user', async () => {
    const before = await userCount(t);
    const res = await scim.post('/Users', oktaUser(userName, 'Test', 'User', 'another-okta-id'), oktaHeaders);
    expectScimError(res, 409, 'uniqueness');
    const caseVariant = await scim.post('/Users', oktaUser('TEST.USER@OKTA.LOCAL', 'Test', 'User', 'yet-another'), oktaHeaders);
    expectScimError(caseVariant, 409, 'uniqueness');
    expect(await userCount(t)).toBe(before);
  });

  it('the lookup with the userName upper-cased finds the user (userName is case-insensitive)', async () => {
    const res = await lookup(scim, userName.toUpperCase());
    const list = expectListResponse(res);
    expect(list.totalResults).toBe(1);
    expect(list.Resources.map((r) => r.id)).toEqual([userId]);
  });

  it('a profile update (PUT) sets department and manager; a group pushed with the user as member', async () => {
    const mgr = await scim.post('/Users', oktaUser('boss@okta.local', 'Big', 'Boss', 'okta-boss'));
    expectStatus(mgr, 201);
    managerId = mgr.body.id;
    const current = await scim.get(`/Users/${userId}`);
    const res = await scim.put(`/Users/${userId}`, {
      ...current.body,
      schemas: [USER_SCHEMA, ENTERPRISE],
      title: 'Engineer',
      [ENTERPRISE]: { department: 'Engineering', manager: { value: managerId } },
      password: 'anotherPlaceholder',
    });
    expectStatus(res, 200);
    expect(res.body[ENTERPRISE]).toMatchObject({ department: 'Engineering', manager: { value: managerId } });
    const group = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Okta Everyone',
      members: [{ value: userId, display: userName }],
    });
    expectStatus(group, 201);
    preGroupId = group.body.id;
    const gq = await userState(t, userId);
    expect(gq).toMatchObject({
      title: 'Engineer',
      team: { name: 'Engineering' },
      manager: { scimId: managerId },
      roles: [{ scimId: preGroupId, displayName: 'Okta Everyone' }],
    });
  });

  it('deactivate: path-less {"op":"replace","value":{"active":false}} → user inactive, team, manager and memberships kept', async () => {
    const res = await scim.patch(`/Users/${userId}`, patchOp({ op: 'replace', value: { active: false } }), oktaHeaders);
    expectStatus(res, [200, 204]);
    const gq = await userState(t, userId);
    expect(gq).toMatchObject({
      active: false,
      team: { name: 'Engineering' },
      manager: { scimId: managerId },
      roles: [{ scimId: preGroupId }],
    });
    expect(gq!.deactivatedAt).not.toBeNull();
    const get = await scim.get(`/Users/${userId}`);
    expectStatus(get, 200);
    expect(get.body.active).toBe(false);
    expect(get.body.groups.map((g: any) => g.value)).toEqual([preGroupId]);
    // A deactivated user is still found by the lookup (Okta links instead of creating again).
    const found = expectListResponse(await lookup(scim, userName));
    expect(found.Resources.map((r) => [r.id, r.active])).toEqual([[userId, false]]);
    expect(await memberNames(t, preGroupId)).toEqual([userName]);
  });

  it('reactivate: the lookup finds the user, then {"op":"replace","value":{"active":true}}', async () => {
    const found = expectListResponse(await lookup(scim, userName));
    expect(found.totalResults).toBe(1);
    const res = await scim.patch(`/Users/${found.Resources[0].id}`, patchOp({ op: 'replace', value: { active: true } }), oktaHeaders);
    expectStatus(res, [200, 204]);
    const gq = await userState(t, userId);
    expect(gq).toMatchObject({
      active: true,
      deactivatedAt: null,
      team: { name: 'Engineering' },
      manager: { scimId: managerId },
      roles: [{ scimId: preGroupId }],
    });
  });

  describe('Group Push', () => {
    let groupId: string;
    let u2: string;
    let u3: string;

    beforeAll(async () => {
      const a = await scim.post('/Users', oktaUser('second@okta.local', 'Second', 'User', 'okta-2'));
      const b = await scim.post('/Users', oktaUser('third@okta.local', 'Third', 'User', 'okta-3'));
      expectStatus(a, 201);
      expectStatus(b, 201);
      u2 = a.body.id;
      u3 = b.body.id;
    });

    it('find by displayName → 200 empty; POST /Groups → 201 with Location and ETag; the role exists without members', async () => {
      const find = await scim.get(`/Groups${qs({ filter: 'displayName eq "Test SCIMv2"', startIndex: 1, count: 100 })}`, oktaHeaders);
      expect(expectListResponse(find).totalResults).toBe(0);
      const res = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Test SCIMv2', members: [] }, oktaHeaders);
      expectStatus(res, 201);
      groupId = res.body.id;
      expect(res.headers.location).toBe(`${app.baseUrl}/scim/v2/Groups/${groupId}`);
      expectVersioned(res);
      expect(res.body).toMatchObject({ schemas: [GROUP_SCHEMA], displayName: 'Test SCIMv2', meta: { resourceType: 'Group' } });
      const role = await roleState(t, groupId);
      expect(role).toMatchObject({ displayName: 'Test SCIMv2', members: { totalCount: 0 } });
      const again = await scim.get(`/Groups${qs({ filter: 'displayName eq "Test SCIMv2"', startIndex: 1, count: 100 })}`);
      expect(expectListResponse(again).Resources.map((g) => g.id)).toEqual([groupId]);
    });

    it('PATCH add members → both are role holders', async () => {
      const res = await scim.patch(
        `/Groups/${groupId}`,
        patchOp({
          op: 'add',
          path: 'members',
          value: [
            { value: userId, display: userName },
            { value: u2, display: 'second@okta.local' },
          ],
        }),
        oktaHeaders,
      );
      expectStatus(res, [200, 204]);
      expect(await memberNames(t, groupId)).toEqual(['second@okta.local', userName]);
      expect((await userState(t, u2))!.roles.map((r) => r.scimId)).toEqual([groupId]);
    });

    it('PATCH remove members[value eq "…"] together with an add, in one request', async () => {
      const res = await scim.patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'remove', path: `members[value eq "${userId}"]` },
          { op: 'add', path: 'members', value: [{ value: u3, display: 'third@okta.local' }] },
        ),
        oktaHeaders,
      );
      expectStatus(res, [200, 204]);
      expect(await memberNames(t, groupId)).toEqual(['second@okta.local', 'third@okta.local']);
      expect((await userState(t, userId))!.roles.map((r) => r.scimId)).toEqual([preGroupId]);
    });

    it('path-less rename {"op":"replace","value":{"id":"…","displayName":"New"}} (re-sent with membership updates)', async () => {
      const res = await scim.patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'replace', value: { id: groupId, displayName: 'Test SCIMv2 renamed' } }),
        oktaHeaders,
      );
      expectStatus(res, [200, 204]);
      expect(await roleState(t, groupId)).toMatchObject({ displayName: 'Test SCIMv2 renamed', members: { totalCount: 2 } });
      const again = await scim.patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'replace', value: { id: groupId, displayName: 'Test SCIMv2 renamed' } },
          { op: 'add', path: 'members', value: [{ value: userId }] },
        ),
      );
      expectStatus(again, [200, 204]);
      expect(await roleState(t, groupId)).toMatchObject({ displayName: 'Test SCIMv2 renamed', members: { totalCount: 3 } });
      const get = await scim.get(`/Groups/${groupId}`);
      expect(get.body.displayName).toBe('Test SCIMv2 renamed');
    });

    it('replace the whole member list', async () => {
      const res = await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', path: 'members', value: [{ value: u2 }] }), oktaHeaders);
      expectStatus(res, [200, 204]);
      expect(await memberNames(t, groupId)).toEqual(['second@okta.local']);
      const get = await scim.get(`/Groups/${groupId}`);
      expectStatus(get, 200);
      expect(get.body.members.map((m: any) => m.value)).toEqual([u2]);
      expectVersioned(get);
    });

    it('DELETE /Groups/{id} → 204; the role is gone in GraphQL, the users stay', async () => {
      const res = await scim.delete(`/Groups/${groupId}`, oktaHeaders);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      expect(await roleState(t, groupId)).toBeNull();
      const roles = await t.gql(ScimRoleListDocument, {});
      expect(roles.data!.roles.nodes.map((r) => r.scimId)).not.toContain(groupId);
      const u = await userState(t, u2);
      expect(u).toMatchObject({ active: true, roles: [] });
      expect(await userState(t, userId)).toMatchObject({ active: true, roles: [{ scimId: preGroupId }] });
      expectScimError(await scim.get(`/Groups/${groupId}`), 404);
    });
  });
});

describe('Okta App Integration Wizard app (PUT only)', () => {
  let t: TestTenant;
  let scim: ScimClient;
  let userId: string;
  let otherId: string;
  let groupId: string;
  const userName = 'aiw.user@okta.local';

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken, { host: `${t.slug}.roster.test` });
  });

  it('lookup, create, and a group pushed with PUT and the whole member list', async () => {
    expect(expectListResponse(await lookup(scim, userName)).totalResults).toBe(0);
    const res = await scim.post('/Users', oktaUser(userName, 'Aiw', 'User', 'aiw-1'));
    expectStatus(res, 201);
    userId = res.body.id;
    // Addressed by the tenant's own host name: locations use it.
    expect(res.headers.location).toMatch(new RegExp(`^http://${t.slug}\\.roster\\.test(:\\d+)?/scim/v2/Users/${userId}$`));
    const other = await scim.post('/Users', oktaUser('aiw.other@okta.local', 'Other', 'User', 'aiw-2'));
    expectStatus(other, 201);
    otherId = other.body.id;

    const g = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'AIW Group', members: [] });
    expectStatus(g, 201);
    groupId = g.body.id;
    const put = await scim.put(`/Groups/${groupId}`, {
      schemas: [GROUP_SCHEMA],
      id: groupId,
      displayName: 'AIW Group',
      members: [{ value: userId, display: userName }, { value: otherId }],
    });
    expectStatus(put, 200);
    expect(put.body.members.map((m: any) => m.value).sort()).toEqual([userId, otherId].sort());
    expectVersioned(put);
    expect(await memberNames(t, groupId)).toEqual(['aiw.other@okta.local', userName]);
  });

  it('GET then PUT of the whole user with read-only fields echoed (id, meta, groups) → 200; memberships untouched', async () => {
    const current = await scim.get(`/Users/${userId}`);
    expectStatus(current, 200);
    expect(current.body.groups.map((g: any) => g.value)).toEqual([groupId]);
    const body = {
      ...current.body,
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      emails: [{ primary: true, value: userName, type: 'work', display: userName }],
      active: true,
      meta: { resourceType: 'User' },
    };
    const res = await scim.put(`/Users/${userId}`, body);
    expectStatus(res, 200);
    expectVersioned(res);
    expect(res.body).toMatchObject({
      id: userId,
      userName,
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      active: true,
    });
    expect(res.body.meta.version).not.toBe(current.body.meta.version);
    expect(await userState(t, userId)).toMatchObject({
      name: { givenName: 'Another', familyName: 'User' },
      active: true,
      roles: [{ scimId: groupId }],
    });

    // Okta's own example sends "groups": [] — read-only, so it must not take the user out of its groups.
    const withEmptyGroups = await scim.put(`/Users/${userId}`, {
      ...oktaUser(userName, 'Another', 'User', 'aiw-1'),
      id: userId,
      groups: [],
      meta: { resourceType: 'User' },
    });
    expectStatus(withEmptyGroups, 200);
    expect((await userState(t, userId))!.roles.map((r) => r.scimId)).toEqual([groupId]);
  });

  it("Okta's documented PUT, which leaves externalId out, keeps the user's externalId; a null one clears it", async () => {
    // The anchor manager references resolve against (product.md): a PUT that does not assert it leaves it be
    // (RFC 7644 §3.5.1 lets a service take an omitted attribute as not asserted). It was cleared, and a
    // report created afterwards naming this user by externalId stayed pending for good (found by replaying O1).
    const boss = await scim.post('/Users', oktaUser('aiw.boss@okta.local', 'Aiw', 'Boss', '00uAIWBOSS'));
    expectStatus(boss, 201);
    const put = await scim.put(`/Users/${boss.body.id}`, {
      schemas: [USER_SCHEMA],
      id: boss.body.id,
      userName: 'aiw.boss@okta.local',
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'Boss' },
      emails: [{ primary: true, value: 'aiw.boss@okta.local', type: 'work', display: 'aiw.boss@okta.local' }],
      active: true,
      groups: [],
      meta: { resourceType: 'User' },
    });
    expectStatus(put, 200);
    expect(put.body.externalId).toBe('00uAIWBOSS');
    const report = await scim.post('/Users', {
      ...oktaUser('aiw.report@okta.local', 'Aiw', 'Report', '00uAIWREPORT'),
      schemas: [USER_SCHEMA, ENTERPRISE],
      [ENTERPRISE]: { manager: { value: '00uAIWBOSS' } },
    });
    expectStatus(report, 201);
    expect(report.body[ENTERPRISE].manager.value).toBe(boss.body.id);
    // asserted as null: cleared
    const cleared = await scim.put(`/Users/${boss.body.id}`, { ...put.body, externalId: null });
    expectStatus(cleared, 200);
    expect(cleared.body.externalId).toBeUndefined();
  });

  it('PUT with active:false deactivates (memberships kept), PUT with active:true reactivates', async () => {
    const current = await scim.get(`/Users/${userId}`);
    const off = await scim.put(`/Users/${userId}`, { ...current.body, active: false });
    expectStatus(off, 200);
    expect(off.body.active).toBe(false);
    expect(await userState(t, userId)).toMatchObject({ active: false, roles: [{ scimId: groupId }], name: { givenName: 'Another' } });
    const on = await scim.put(`/Users/${userId}`, { ...off.body, active: true });
    expectStatus(on, 200);
    expect(await userState(t, userId)).toMatchObject({ active: true, roles: [{ scimId: groupId }] });
  });

  it('PUT /Groups with the whole member list removes the members left out', async () => {
    const res = await scim.put(`/Groups/${groupId}`, {
      schemas: [GROUP_SCHEMA],
      id: groupId,
      displayName: 'AIW Group',
      members: [{ value: otherId }],
    });
    expectStatus(res, 200);
    expect(res.body.members.map((m: any) => m.value)).toEqual([otherId]);
    expect(await memberNames(t, groupId)).toEqual(['aiw.other@okta.local']);
    expect((await userState(t, userId))!.roles).toEqual([]);
    const rename = await scim.put(`/Groups/${groupId}`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'AIW Group 2',
      members: [{ value: otherId }, { value: userId }],
    });
    expectStatus(rename, 200);
    expect(await roleState(t, groupId)).toMatchObject({ displayName: 'AIW Group 2', members: { totalCount: 2 } });
    const del = await scim.delete(`/Groups/${groupId}`);
    expectStatus(del, 204);
    expect(await roleState(t, groupId)).toBeNull();
    expect(await userState(t, userId)).toMatchObject({ active: true, roles: [] });
  });
});
