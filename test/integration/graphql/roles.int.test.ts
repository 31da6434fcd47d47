import {
  AssignRoleFullDocument,
  CreateRoleFullDocument,
  DeleteRoleFullDocument,
  ReadRoleDocument,
  ReadUserDocument,
  RolesPageDocument,
  UnassignRoleFullDocument,
  UpdateRoleFullDocument,
  UserPageDocument,
  type CreateRoleInput,
} from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, expectUnchanged, expectUserError, succeeded } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

const createRole = async (input: CreateRoleInput, tenant = t) =>
  succeeded(dataOf(await tenant.gql(CreateRoleFullDocument, { input })).createRole).role!;
const readRole = async (id: string) => dataOf(await t.gql(ReadRoleDocument, { id })).role;
const memberNames = async (id: string) => (await readRole(id))!.members.nodes.map((n) => n.userName);
const rolesOf = async (userId: string) => dataOf(await t.gql(ReadUserDocument, { id: userId })).user!.roles.map((r) => r.displayName);
const assign = async (roleId: string, userIds: string[]) => dataOf(await t.gql(AssignRoleFullDocument, { roleId, userIds })).assignRole;
const unassign = async (roleId: string, userIds: string[]) =>
  dataOf(await t.gql(UnassignRoleFullDocument, { roleId, userIds })).unassignRole;

describe('createRole / updateRole', () => {
  it('creates a role with externalId and description, and reads it back', async () => {
    const role = await createRole({ displayName: 'Auditors', externalId: 'grp-auditors', description: 'Read the books' });
    expect(role).toMatchObject({ displayName: 'Auditors', externalId: 'grp-auditors', description: 'Read the books' });
    expect(role.scimId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await readRole(role.id)).toMatchObject({ ...role, members: { totalCount: 0, nodes: [] } });
  });

  it('renames a role and bumps its version; omitted fields stay', async () => {
    const role = await createRole({ displayName: 'Old Name', externalId: 'grp-rename', description: 'keep me' });
    const renamed = succeeded(
      dataOf(await t.gql(UpdateRoleFullDocument, { id: role.id, input: { displayName: 'New Name' } })).updateRole,
    ).role!;
    expect(renamed).toMatchObject({ displayName: 'New Name', externalId: 'grp-rename', description: 'keep me' });
    expect(renamed.version).toBeGreaterThan(role.version);
    const readBack = await readRole(role.id);
    expect(readBack).toMatchObject({ displayName: 'New Name' });
    // The old name is free again.
    await createRole({ displayName: 'Old Name' });
  });

  it('refuses a duplicate name (case-insensitive) or externalId with CONFLICT and changes nothing', async () => {
    const a = await createRole({ displayName: 'Engineers', externalId: 'grp-eng' });
    const b = await createRole({ displayName: 'Designers' });
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'engineers' } })).createRole, 'CONFLICT', {
        reason: 'ROLE_NAME_TAKEN',
        field: 'displayName',
      });
      expectUserError(
        dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'Other', externalId: 'grp-eng' } })).createRole,
        'CONFLICT',
        { reason: 'ROLE_EXTERNAL_ID_TAKEN' },
      );
      expectUserError(
        dataOf(await t.gql(UpdateRoleFullDocument, { id: b.id, input: { displayName: 'ENGINEERS', description: 'changed' } })).updateRole,
        'CONFLICT',
        { reason: 'ROLE_NAME_TAKEN' },
      );
      expectUserError(dataOf(await t.gql(UpdateRoleFullDocument, { id: b.id, input: { externalId: 'grp-eng' } })).updateRole, 'CONFLICT', {
        reason: 'ROLE_EXTERNAL_ID_TAKEN',
      });
    });
    expect(await readRole(a.id)).toMatchObject({ displayName: 'Engineers', externalId: 'grp-eng' });
  });

  it('refuses a blank name with INVALID_INPUT and an unknown role with NOT_FOUND, changing nothing', async () => {
    const u = await createUser(t, { userName: 'not-a-role@x.test' });
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: '  ' } })).createRole, 'INVALID_INPUT', {
        field: 'displayName',
      });
      expectUserError(dataOf(await t.gql(UpdateRoleFullDocument, { id: u.id, input: { displayName: 'x' } })).updateRole, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(UpdateRoleFullDocument, { id: 'garbage', input: { displayName: 'x' } })).updateRole, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(DeleteRoleFullDocument, { id: u.id })).deleteRole, 'NOT_FOUND');
    });
  });
});

describe('assignRole / unassignRole', () => {
  it('assigns and unassigns idempotently, reporting how many changed; user.roles and role.members agree', async () => {
    const role = await createRole({ displayName: 'Pilots' });
    const u1 = await createUser(t, { userName: 'pilot1@x.test' });
    const u2 = await createUser(t, { userName: 'pilot2@x.test' });
    const u3 = await createUser(t, { userName: 'pilot3@x.test' });

    const first = succeeded(await assign(role.id, [u1.id, u2.id]));
    expect(first.changed).toBe(2);
    expect(first.role!.version).toBeGreaterThan(role.version);
    const again = succeeded(await assign(role.id, [u1.id, u2.id]));
    expect(again.changed).toBe(0);
    expect(again.role!.version).toBe(first.role!.version);
    expect(succeeded(await assign(role.id, [u2.id, u3.id, u3.id])).changed).toBe(1);

    expect(await memberNames(role.id)).toEqual(['pilot1@x.test', 'pilot2@x.test', 'pilot3@x.test']);
    expect(await rolesOf(u1.id)).toEqual(['Pilots']);
    expect(dataOf(await t.gql(UserPageDocument, { first: 100, filter: { roleId: role.id } })).users.totalCount).toBe(3);

    expect(succeeded(await unassign(role.id, [u1.id])).changed).toBe(1);
    expect(succeeded(await unassign(role.id, [u1.id])).changed).toBe(0);
    expect(await memberNames(role.id)).toEqual(['pilot2@x.test', 'pilot3@x.test']);
    expect(await rolesOf(u1.id)).toEqual([]);
  });

  it('a user holds several roles', async () => {
    const r1 = await createRole({ displayName: 'Multi A' });
    const r2 = await createRole({ displayName: 'Multi B' });
    const u = await createUser(t, { userName: 'multi@x.test' });
    succeeded(await assign(r1.id, [u.id]));
    succeeded(await assign(r2.id, [u.id]));
    expect((await rolesOf(u.id)).sort()).toEqual(['Multi A', 'Multi B']);
  });

  it('is atomic: one unknown user id refuses the whole call with NOT_FOUND and assigns nobody', async () => {
    const role = await createRole({ displayName: 'Atomic' });
    const u = await createUser(t, { userName: 'atomic@x.test' });
    const otherRole = await createRole({ displayName: 'Not A User' });
    for (const bad of [otherRole.id, 'garbage', '0190a0b0-4444-7000-8000-000000000004']) {
      const payload = await expectUnchanged(t, () => assign(role.id, [u.id, bad]));
      expectUserError(payload, 'NOT_FOUND', { field: 'members', reason: 'MEMBER_NOT_FOUND' });
      expect(payload.changed).toBeNull();
    }
    expect(await memberNames(role.id)).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown role and changes nothing', async () => {
    const u = await createUser(t, { userName: 'no-role@x.test' });
    await expectUnchanged(t, async () => {
      expectUserError(await assign(u.id, [u.id]), 'NOT_FOUND', { field: 'roleId' });
      expectUserError(await unassign('garbage', [u.id]), 'NOT_FOUND');
    });
  });
});

describe('deleteRole', () => {
  it('removes the role and its assignments; the users stay', async () => {
    const role = await createRole({ displayName: 'Temporary', externalId: 'grp-temp' });
    const keep = await createRole({ displayName: 'Permanent' });
    const u = await createUser(t, { userName: 'holder@x.test' });
    succeeded(await assign(role.id, [u.id]));
    succeeded(await assign(keep.id, [u.id]));

    const res = succeeded(dataOf(await t.gql(DeleteRoleFullDocument, { id: role.id })).deleteRole);
    expect(res.deletedId).toBe(role.id);
    expect(await readRole(role.id)).toBeNull();
    const user = dataOf(await t.gql(ReadUserDocument, { id: u.id })).user!;
    expect(user).toMatchObject({ userName: 'holder@x.test', active: true });
    expect(user.roles.map((r) => r.displayName)).toEqual(['Permanent']);
    // Name and externalId are free again.
    await createRole({ displayName: 'temporary', externalId: 'grp-temp' });
    const again = await expectUnchanged(t, async () => dataOf(await t.gql(DeleteRoleFullDocument, { id: role.id })).deleteRole);
    expectUserError(again, 'NOT_FOUND');
  });
});

describe('roles query', () => {
  it('lists roles by name and pages both ways', async () => {
    const tr = await app.createTenant();
    for (const name of ['delta', 'Alpha', 'charlie', 'Bravo']) await createRole({ displayName: name }, tr);
    const list = async (vars: Record<string, unknown>) => dataOf(await tr.gql(RolesPageDocument, vars)).roles;
    const all = await list({ first: 100 });
    expect(all.totalCount).toBe(4);
    expect(all.nodes.map((n) => n.displayName)).toEqual(['Alpha', 'Bravo', 'charlie', 'delta']);
    const p1 = await list({ first: 2 });
    const p2 = await list({ first: 2, after: p1.pageInfo.endCursor });
    expect(p2.nodes.map((n) => n.displayName)).toEqual(['charlie', 'delta']);
    expect(p2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = await list({ last: 3 });
    expect(back.nodes.map((n) => n.displayName)).toEqual(['Bravo', 'charlie', 'delta']);
    expect(back.pageInfo.hasPreviousPage).toBe(true);
  });
});
