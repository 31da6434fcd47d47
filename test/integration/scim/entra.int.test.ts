/**
 * Replays of what Microsoft Entra ID sends (shared/docs/idp-behaviour.md, M1–M8, I1): the default
 * behaviour (capitalised ops, "True"/"False" strings, manager as a string or [{$ref,value}], Remove with
 * a value array) and the `aadOptscim062020` flag (lower-case ops, path-less replace with dotted and
 * URN-qualified keys, booleans, members[value eq "…"]), plus pending managers, departments as teams, and
 * app roles on the user. Each step asserts the HTTP answer and the state in GraphQL and SCIM.
 */
import { randomUUID } from 'node:crypto';
import { ScimRoleListDocument, ScimTeamListDocument } from '../../__generated__/graphql.js';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, patchOp, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectListResponse, expectScimError, expectStatus, memberNames, roleState, userState } from './helpers.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

/** Entra's create body (M1, M8): client-side meta, roles: [], "active" possibly a string. */
const entraUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA, ENTERPRISE],
  externalId: randomUUID(),
  userName,
  active: true,
  displayName: 'Joy Young',
  emails: [{ primary: true, type: 'work', value: `${userName.split('@')[0]}@testuser.com` }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
  ...extra,
});

async function create(scim: ScimClient, body: Record<string, unknown>): Promise<any> {
  const res = await scim.post('/Users', body);
  expectStatus(res, 201);
  return res.body;
}

describe('Microsoft Entra ID, default behaviour', () => {
  let t: TestTenant;
  let scim: ScimClient;
  let mgr: any;
  let mgr2: any;
  let user: any;

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken);
  });

  it('Test Connection: a filter with a random GUID → 200 with an empty ListResponse', async () => {
    const res = await scim.get(`/Users${qs({ filter: `userName eq "${randomUUID()}"` })}`);
    const list = expectListResponse(res);
    expect(list.totalResults).toBe(0);
    expect(list.Resources).toEqual([]);
    const byExternalId = expectListResponse(await scim.get(`/Users${qs({ filter: `externalId eq "${randomUUID()}"` })}`));
    expect(byExternalId.totalResults).toBe(0);
    // The matching attribute switched to externalId, written unquoted as in Microsoft's tutorial.
    const unquoted = expectListResponse(await scim.get(`/Users${qs({ filter: 'externalId eq jyoung' })}`));
    expect(unquoted.totalResults).toBe(0);
  });

  it('lookup then POST with the enterprise extension (department, manager as a plain string), meta, roles:[] and "active":"True" → 201, active true', async () => {
    mgr = await create(scim, entraUser('Manager_00aa@contoso.test', { active: 'True' }));
    expect(mgr.active).toBe(true);
    const userName = 'Test_User_00aa1d5b@contoso.test';
    expect(expectListResponse(await scim.get(`/Users${qs({ filter: `userName eq "${userName}"` })}`)).totalResults).toBe(0);
    const res = await scim.post('/Users', entraUser(userName, { active: 'True', [ENTERPRISE]: { department: 'Sales', manager: mgr.id } }));
    expectStatus(res, 201);
    user = res.body;
    expect(user.active).toBe(true);
    expect(user.roles).toBeUndefined();
    expect(user[ENTERPRISE]).toMatchObject({
      department: 'Sales',
      manager: { value: mgr.id, $ref: `${app.baseUrl}/scim/v2/Users/${mgr.id}` },
    });
    expect(res.headers.location).toBe(`${app.baseUrl}/scim/v2/Users/${user.id}`);
    const gq = await userState(t, user.id);
    expect(gq).toMatchObject({
      userName,
      active: true,
      team: { name: 'Sales' },
      manager: { scimId: mgr.id },
      pendingManagerRef: null,
      roles: [],
      name: { givenName: 'givenName', familyName: 'familyName' },
    });
    const byNickname = await create(scim, entraUser('jyoung@contoso.test', { externalId: 'jyoung' }));
    const found = expectListResponse(await scim.get(`/Users${qs({ filter: 'externalId eq jyoung' })}`));
    expect(found.Resources.map((r) => r.id)).toEqual([byNickname.id]);
  });

  it('PATCH with capitalised Replace ops on emails[type eq "work"].value, name.familyName and the URN employeeNumber', async () => {
    const res = await scim.patch(
      `/Users/${user.id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '701984' },
      ),
    );
    expectStatus(res, [200, 204]);
    const gq = await userState(t, user.id);
    expect(gq!.name.familyName).toBe('updatedFamilyName');
    expect(gq!.employeeNumber).toBe('701984');
    expect(gq!.emails).toHaveLength(1);
    expect(gq!.emails[0]).toMatchObject({ type: 'work', primary: true });
    expect(gq!.emails[0].value.toLowerCase()).toBe('updatedemail@microsoft.com');
    const get = await scim.get(`/Users/${user.id}`);
    expect(get.body.name).toMatchObject({ familyName: 'updatedFamilyName', givenName: 'givenName' });
    expect(get.body[ENTERPRISE]).toMatchObject({ employeeNumber: '701984', department: 'Sales', manager: { value: mgr.id } });
    // Entra matches users by the work email too.
    const byEmail = expectListResponse(
      await scim.get(`/Users${qs({ filter: 'emails[type eq "work"].value eq "updatedEmail@microsoft.com"' })}`),
    );
    expect(byEmail.Resources.map((r) => r.id)).toEqual([user.id]);
  });

  it('a single-value Add ({"op":"Add","path":"nickName"}) and a "null update" with empty strings', async () => {
    expectStatus(
      await scim.patch(
        `/Users/${user.id}`,
        patchOp({ op: 'Add', path: 'nickName', value: 'Babs' }, { op: 'Add', path: 'title', value: 'Seller' }),
      ),
      [200, 204],
    );
    let get = await scim.get(`/Users/${user.id}`);
    expect(get.body).toMatchObject({ nickName: 'Babs', title: 'Seller' });
    expectStatus(
      await scim.patch(
        `/Users/${user.id}`,
        patchOp({ op: 'Replace', path: 'nickName', value: '' }, { op: 'Replace', path: 'title', value: '' }),
      ),
      [200, 204],
    );
    get = await scim.get(`/Users/${user.id}`);
    expect(get.body.nickName).toBeUndefined();
    expect(get.body.title).toBeUndefined();
    expect((await userState(t, user.id))!.title).toBeNull();
  });

  it('manager: set by a separate PATCH Add [{$ref,value}], changed by Replace, removed by Replace with an empty value', async () => {
    mgr2 = await create(scim, entraUser('Manager_2@contoso.test'));
    const report = await create(scim, entraUser('Report_1@contoso.test'));
    expect(report[ENTERPRISE]).toBeUndefined();
    expect((await userState(t, report.id))!.manager).toBeNull();

    const add = await scim.patch(
      `/Users/${report.id}`,
      patchOp({ op: 'Add', path: 'manager', value: [{ $ref: `${app.baseUrl}/scim/v2/Users/${mgr.id}`, value: mgr.id }] }),
    );
    expectStatus(add, [200, 204]);
    expect((await userState(t, report.id))!.manager).toMatchObject({ scimId: mgr.id });

    const change = await scim.patch(
      `/Users/${report.id}`,
      patchOp({ op: 'Replace', path: 'manager', value: [{ $ref: `${app.baseUrl}/scim/v2/Users/${mgr2.id}`, value: mgr2.id }] }),
    );
    expectStatus(change, [200, 204]);
    expect((await userState(t, report.id))!.manager).toMatchObject({ scimId: mgr2.id });
    const get = await scim.get(`/Users/${report.id}`);
    expect(get.body[ENTERPRISE].manager).toMatchObject({ value: mgr2.id, $ref: `${app.baseUrl}/scim/v2/Users/${mgr2.id}` });

    const remove = await scim.patch(`/Users/${report.id}`, patchOp({ op: 'Replace', path: 'manager', value: '' }));
    expectStatus(remove, [200, 204]);
    const gq = await userState(t, report.id);
    expect(gq!.manager).toBeNull();
    expect(gq!.pendingManagerRef).toBeNull();
    expect((await scim.get(`/Users/${report.id}`)).body[ENTERPRISE]).toBeUndefined();

    // The string form on the URN path (I1).
    expectStatus(await scim.patch(`/Users/${report.id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: mgr.id })), [200, 204]);
    expect((await userState(t, report.id))!.manager).toMatchObject({ scimId: mgr.id });
  });

  it('deactivate with "active":"False", reactivate with "True" (memberships and team kept)', async () => {
    const g = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Keepers', members: [{ value: user.id }] });
    expectStatus(g, 201);
    const off = await scim.patch(`/Users/${user.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expectStatus(off, [200, 204]);
    expect(await userState(t, user.id)).toMatchObject({
      active: false,
      team: { name: 'Sales' },
      manager: { scimId: mgr.id },
      roles: [{ scimId: g.body.id }],
    });
    const get = await scim.get(`/Users/${user.id}`);
    expect(get.body.active).toBe(false);
    const filtered = expectListResponse(await scim.get(`/Users${qs({ filter: `userName eq "${user.userName}"` })}`));
    expect(filtered.Resources.map((r) => r.id)).toEqual([user.id]);
    const on = await scim.patch(`/Users/${user.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expectStatus(on, [200, 204]);
    expect(await userState(t, user.id)).toMatchObject({ active: true, roles: [{ scimId: g.body.id }] });
  });

  it('groups: find with excludedAttributes=members, create, Add/Remove members with value arrays → 204, rename → 204', async () => {
    const find = await scim.get(`/Groups${qs({ excludedAttributes: 'members', filter: 'displayName eq "Entra Group"' })}`);
    expect(expectListResponse(find).totalResults).toBe(0);
    const objectId = randomUUID();
    const created = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA, ADSCIM_GROUP],
      externalId: objectId,
      displayName: 'Entra Group',
      meta: { resourceType: 'Group' },
    });
    expectStatus(created, 201);
    const groupId = created.body.id;
    expect(created.body.externalId).toBe(objectId);
    expect(await roleState(t, groupId)).toMatchObject({ displayName: 'Entra Group', externalId: objectId, members: { totalCount: 0 } });

    const found = expectListResponse(
      await scim.get(`/Groups${qs({ excludedAttributes: 'members', filter: 'displayName eq "Entra Group"' })}`),
    );
    expect(found.Resources.map((g) => g.id)).toEqual([groupId]);
    expect(found.Resources[0].members).toBeUndefined();

    const add = await scim.patch(
      `/Groups/${groupId}`,
      patchOp({
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: user.id },
          { $ref: null, value: mgr.id },
          { $ref: null, value: mgr2.id },
        ],
      }),
    );
    expectStatus(add, 204);
    expect(add.text).toBe('');
    expect(await memberNames(t, groupId)).toEqual(
      ['Manager_00aa@contoso.test', 'Manager_2@contoso.test', 'Test_User_00aa1d5b@contoso.test'].sort(),
    );

    const remove = await scim.patch(
      `/Groups/${groupId}`,
      patchOp({
        op: 'Remove',
        path: 'members',
        value: [
          { $ref: null, value: mgr.id },
          { $ref: null, value: mgr2.id },
        ],
      }),
    );
    expectStatus(remove, 204);
    expect(await memberNames(t, groupId)).toEqual(['Test_User_00aa1d5b@contoso.test']);

    const rename = await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Entra Group Renamed' }));
    expectStatus(rename, 204);
    expect(await roleState(t, groupId)).toMatchObject({ displayName: 'Entra Group Renamed', members: { totalCount: 1 } });

    const read = await scim.get(`/Groups/${groupId}?excludedAttributes=members`);
    expectStatus(read, 200);
    expect(read.body).toMatchObject({ id: groupId, displayName: 'Entra Group Renamed', externalId: objectId });
    expect(read.body.members).toBeUndefined();
    expect((await scim.get(`/Groups/${groupId}`)).body.members.map((m: any) => m.value)).toEqual([user.id]);

    expectStatus(await scim.delete(`/Groups/${groupId}`), 204);
    expect(await roleState(t, groupId)).toBeNull();
  });

  it('DELETE /Users/{id} → 204, then GET → 404 and GraphQL no longer has the user', async () => {
    const victim = await create(scim, entraUser('Leaver@contoso.test', { [ENTERPRISE]: { department: 'Sales' } }));
    const g = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Leavers',
      members: [{ value: victim.id }, { value: mgr.id }],
    });
    expectStatus(g, 201);
    const res = await scim.delete(`/Users/${victim.id}`);
    expectStatus(res, 204);
    expect(res.text).toBe('');
    expectScimError(await scim.get(`/Users/${victim.id}`), 404);
    expect(await userState(t, victim.id)).toBeNull();
    expect(expectListResponse(await scim.get(`/Users${qs({ filter: 'userName eq "Leaver@contoso.test"' })}`)).totalResults).toBe(0);
    expect(await memberNames(t, g.body.id)).toEqual(['Manager_00aa@contoso.test']);
    expectScimError(await scim.delete(`/Users/${victim.id}`), 404);
    // The userName is free again.
    expectStatus(await scim.post('/Users', entraUser('Leaver@contoso.test')), 201);
  });
});

describe('Microsoft Entra ID with aadOptscim062020', () => {
  let t: TestTenant;
  let scim: ScimClient;
  let user: any;
  let mgr: any;

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken);
    mgr = await create(scim, entraUser('flag.manager@contoso.test', { active: true }));
    user = await create(scim, entraUser('flag.user@contoso.test', { active: true }));
  });

  it('a path-less replace with dotted and URN-qualified keys, lower-case op', async () => {
    const res = await scim.patch(
      `/Users/${user.id}`,
      patchOp({
        op: 'replace',
        value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' },
      }),
    );
    expectStatus(res, [200, 204]);
    expect(await userState(t, user.id)).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom', familyName: 'Unua' },
      employeeNumber: 'Aklq',
    });
    const get = await scim.get(`/Users/${user.id}`);
    expect(get.body).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom', familyName: 'Unua', formatted: 'givenName familyName' },
      [ENTERPRISE]: { employeeNumber: 'Aklq' },
    });
  });

  it('"add" of a single value, and the manager as a string on the URN path', async () => {
    expectStatus(await scim.patch(`/Users/${user.id}`, patchOp({ op: 'add', path: 'nickName', value: 'Babs' })), [200, 204]);
    expectStatus(await scim.patch(`/Users/${user.id}`, patchOp({ op: 'add', path: `${ENTERPRISE}:manager`, value: mgr.id })), [200, 204]);
    expect(await userState(t, user.id)).toMatchObject({ manager: { scimId: mgr.id } });
    expect((await scim.get(`/Users/${user.id}`)).body.nickName).toBe('Babs');
  });

  it('boolean false / true on "active"', async () => {
    expectStatus(await scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: false })), [200, 204]);
    expect(await userState(t, user.id)).toMatchObject({ active: false, manager: { scimId: mgr.id } });
    expectStatus(await scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: true })), [200, 204]);
    expect((await userState(t, user.id))!.active).toBe(true);
  });

  it('group membership: add, then remove with members[value eq "…"] → 204', async () => {
    const g = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA, ADSCIM_GROUP],
      externalId: randomUUID(),
      displayName: 'Flag Group',
      meta: { resourceType: 'Group' },
    });
    expectStatus(g, 201);
    expectStatus(
      await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: user.id }, { value: mgr.id }] })),
      204,
    );
    expect(await memberNames(t, g.body.id)).toEqual(['flag.manager@contoso.test', 'flag.user@contoso.test']);
    const res = await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'remove', path: `members[value eq "${user.id}"]` }));
    expectStatus(res, 204);
    expect(await memberNames(t, g.body.id)).toEqual(['flag.manager@contoso.test']);
    expect((await userState(t, user.id))!.roles).toEqual([]);
    // A retried removal is a no-op, not an error.
    expectStatus(await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'remove', path: `members[value eq "${user.id}"]` })), 204);
    expect(await memberNames(t, g.body.id)).toEqual(['flag.manager@contoso.test']);
  });
});

describe('manager pending and backfill, departments as teams (over SCIM)', () => {
  let t: TestTenant;
  let scim: ScimClient;

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken);
  });

  it('a report whose manager (by externalId) is not provisioned yet is linked when the manager arrives', async () => {
    const report = await create(
      scim,
      entraUser('early.report@contoso.test', { [ENTERPRISE]: { department: 'Sales', manager: { value: 'EXT-MGR-9' } } }),
    );
    let gq = await userState(t, report.id);
    expect(gq!.manager).toBeNull();
    expect(gq!.pendingManagerRef).toBe('EXT-MGR-9');
    expect((await scim.get(`/Users/${report.id}`)).body[ENTERPRISE].manager).toEqual({ value: 'EXT-MGR-9' });

    const report2 = await create(scim, entraUser('early.report2@contoso.test', { [ENTERPRISE]: { manager: 'EXT-MGR-9' } }));
    const mgr = await create(
      scim,
      entraUser('late.manager@contoso.test', { externalId: 'EXT-MGR-9', [ENTERPRISE]: { department: 'sales' } }),
    );

    gq = await userState(t, report.id);
    expect(gq!.manager).toMatchObject({ scimId: mgr.id });
    expect(gq!.pendingManagerRef).toBeNull();
    expect((await userState(t, report2.id))!.manager).toMatchObject({ scimId: mgr.id });
    const get = await scim.get(`/Users/${report.id}`);
    expect(get.body[ENTERPRISE].manager).toMatchObject({ value: mgr.id, $ref: `${app.baseUrl}/scim/v2/Users/${mgr.id}` });
    const byManager = expectListResponse(await scim.get(`/Users${qs({ filter: `${ENTERPRISE}:manager.value eq "${mgr.id}"` })}`));
    expect(byManager.Resources.map((r) => r.id).sort()).toEqual([report.id, report2.id].sort());

    // "Sales" and "sales" are one team.
    expect((await userState(t, mgr.id))!.team!.id).toBe(gq!.team!.id);
    const teams = await t.gql(ScimTeamListDocument, {});
    const sales = teams.data!.teams.nodes.filter((n) => n.name.toLowerCase() === 'sales');
    expect(sales).toHaveLength(1);
    expect(sales[0]).toMatchObject({ name: 'Sales', memberCount: 2 });
  });

  it('a department that is new creates its team; changing it moves the user', async () => {
    const u = await create(scim, entraUser('mover@contoso.test', { [ENTERPRISE]: { department: 'Research' } }));
    expect((await userState(t, u.id))!.team!.name).toBe('Research');
    expectStatus(
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'Replace', path: `${ENTERPRISE}:department`, value: 'SALES' })),
      [200, 204],
    );
    expect((await userState(t, u.id))!.team!.name).toBe('Sales');
    const names = (await t.gql(ScimTeamListDocument, {})).data!.teams.nodes.map((n) => n.name).sort();
    expect(names).toEqual(['Research', 'Sales']);
  });
});

describe('Entra app roles on the user', () => {
  let t: TestTenant;
  let scim: ScimClient;
  let user: any;

  beforeAll(async () => {
    t = await app.createTenant();
    scim = scimClient(app.baseUrl, t.scimToken);
  });

  const roleNames = async (id: string) => (await userState(t, id))!.roles.map((r) => r.displayName).sort();

  it('POST with roles [{primary,type:WindowsAzureActiveDirectoryRole,value:"Admin"}] → the user holds the role "Admin"', async () => {
    user = await create(
      scim,
      entraUser('role.holder@contoso.test', { roles: [{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }] }),
    );
    expect(await roleNames(user.id)).toEqual(['Admin']);
    const get = await scim.get(`/Users/${user.id}`);
    expect(get.body.roles.map((r: any) => r.value)).toEqual(['Admin']);
    const admin = (await t.gql(ScimRoleListDocument, {})).data!.roles.nodes.find((r) => r.displayName === 'Admin')!;
    expect(get.body.groups.map((g: any) => g.value)).toEqual([admin.scimId]);
    expect(await memberNames(t, admin.scimId)).toEqual(['role.holder@contoso.test']);
  });

  it('PATCH Add roles with a JSON-encoded string value (SingleAppRoleAssignment) adds the role named by its value', async () => {
    const encoded = JSON.stringify({ id: '06b07648-ecfe-589f-9d2f-6f2a9ec6d3c5', value: 'Editor', displayName: 'Role1234' });
    const res = await scim.patch(`/Users/${user.id}`, patchOp({ op: 'Add', path: 'roles', value: [{ value: encoded }] }));
    expectStatus(res, [200, 204]);
    expect(await roleNames(user.id)).toEqual(['Admin', 'Editor']);
    const get = await scim.get(`/Users/${user.id}`);
    expect(get.body.roles.map((r: any) => r.value).sort()).toEqual(['Admin', 'Editor']);
  });

  it('AppRoleAssignmentsComplex: Add of several roles keeps the others', async () => {
    const res = await scim.patch(
      `/Users/${user.id}`,
      patchOp({
        op: 'Add',
        path: 'roles',
        value: [
          { primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'Viewer' },
          { primary: false, value: 'Auditor' },
        ],
      }),
    );
    expectStatus(res, [200, 204]);
    expect(await roleNames(user.id)).toEqual(['Admin', 'Auditor', 'Editor', 'Viewer']);
  });

  it('AssertiveAppRoleAssignmentsComplex: replace of the roles list removes the roles not listed', async () => {
    const res = await scim.patch(
      `/Users/${user.id}`,
      patchOp({
        op: 'replace',
        path: 'roles',
        value: [
          { primary: false, value: 'Viewer' },
          { primary: false, value: 'Reader' },
        ],
      }),
    );
    expectStatus(res, [200, 204]);
    expect(await roleNames(user.id)).toEqual(['Reader', 'Viewer']);
    // The roles themselves stay (as groups); only the assignments went.
    const all = (await t.gql(ScimRoleListDocument, {})).data!.roles.nodes.map((r) => r.displayName).sort();
    expect(all).toEqual(['Admin', 'Auditor', 'Editor', 'Reader', 'Viewer']);
  });
});
