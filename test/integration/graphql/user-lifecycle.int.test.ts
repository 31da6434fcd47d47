import {
  AssignRoleFullDocument,
  AuditPageDocument,
  CreateFullUserDocument,
  CreateRoleFullDocument,
  DeactivateUserDocument,
  DeleteUserDocument,
  EraseUserDocument,
  ReactivateUserDocument,
  ReadRoleDocument,
  ReadUserDocument,
  UpdateFullUserDocument,
  UserPageDocument,
} from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, asTenant, createUser, dataOf, expectUnchanged, expectUserError, succeeded, tenantUuid } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

const readUser = async (id: string) => dataOf(await t.gql(ReadUserDocument, { id })).user;
const listed = async (filter = {}) => dataOf(await t.gql(UserPageDocument, { first: 100, filter })).users.edges.map((e) => e.node.id);

async function userWithTeamManagerAndRoles(prefix: string) {
  const manager = await createUser(t, { userName: `${prefix}-mgr@x.test` });
  const user = await createUser(t, {
    userName: `${prefix}@x.test`,
    externalId: `${prefix}-ext`,
    department: `${prefix} team`,
    manager: { id: manager.id },
  });
  const role = succeeded(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: `${prefix} role` } })).createRole).role!;
  succeeded(dataOf(await t.gql(AssignRoleFullDocument, { roleId: role.id, userIds: [user.id] })).assignRole);
  return { manager, user: (await readUser(user.id))!, role };
}

describe('deactivateUser / reactivateUser', () => {
  it('deactivating keeps team, manager and roles, and the user stays readable and listed', async () => {
    const { manager, user, role } = await userWithTeamManagerAndRoles('deact');
    const res = succeeded(dataOf(await t.gql(DeactivateUserDocument, { id: user.id })).deactivateUser);
    expect(res.user).toMatchObject({
      id: user.id,
      active: false,
      team: { id: user.team!.id },
      manager: { id: manager.id },
      roles: [{ id: role.id }],
    });
    expect(res.user!.deactivatedAt).toEqual(expect.any(String));

    const read = await readUser(user.id);
    expect(read).toMatchObject({ active: false, team: user.team, manager: user.manager, roles: user.roles, externalId: 'deact-ext' });
    expect(read!.version).toBeGreaterThan(user.version);
    expect(await listed({ active: false })).toContain(user.id);
    expect(await listed({ active: true })).not.toContain(user.id);
    expect(dataOf(await t.gql(ReadRoleDocument, { id: role.id })).role!.members.nodes.map((n) => n.id)).toEqual([user.id]);
  });

  it('reactivating restores access and clears deactivatedAt, keeping everything else', async () => {
    const { user } = await userWithTeamManagerAndRoles('react');
    succeeded(dataOf(await t.gql(DeactivateUserDocument, { id: user.id })).deactivateUser);
    const res = succeeded(dataOf(await t.gql(ReactivateUserDocument, { id: user.id })).reactivateUser);
    expect(res.user).toMatchObject({ active: true, deactivatedAt: null, team: user.team, manager: user.manager, roles: user.roles });
    expect(await listed({ active: true })).toContain(user.id);
  });

  it('deactivating an inactive user is a no-op that changes nothing', async () => {
    const u = await createUser(t, { userName: 'already-inactive@x.test', active: false });
    const res = await expectUnchanged(t, async () => dataOf(await t.gql(DeactivateUserDocument, { id: u.id })).deactivateUser);
    expect(res.userErrors).toEqual([]);
    expect(res.user).toMatchObject({ id: u.id, active: false, version: u.version, deactivatedAt: u.deactivatedAt });
  });

  it('answers NOT_FOUND for unknown users and changes nothing', async () => {
    const role = succeeded(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'Id of another type' } })).createRole).role!;
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(DeactivateUserDocument, { id: role.id })).deactivateUser, 'NOT_FOUND', { field: 'id' });
      expectUserError(dataOf(await t.gql(ReactivateUserDocument, { id: role.id })).reactivateUser, 'NOT_FOUND', { field: 'id' });
      expectUserError(dataOf(await t.gql(DeactivateUserDocument, { id: 'garbage' })).deactivateUser, 'NOT_FOUND');
    });
  });
});

describe('deleteUser', () => {
  it('removes the user from user(id) and users, and frees userName and externalId for a new user', async () => {
    const { user, role } = await userWithTeamManagerAndRoles('del');
    const res = succeeded(dataOf(await t.gql(DeleteUserDocument, { id: user.id })).deleteUser);
    expect(res.deletedId).toBe(user.id);

    expect(await readUser(user.id)).toBeNull();
    expect(await listed()).not.toContain(user.id);
    expect(await listed({ active: false })).not.toContain(user.id);
    // Its role assignments went with it; the role stays.
    const roleAfter = dataOf(await t.gql(ReadRoleDocument, { id: role.id })).role!;
    expect(roleAfter.members.totalCount).toBe(0);

    const successor = await createUser(t, { userName: 'DEL@x.test', externalId: 'del-ext' });
    expect(successor.id).not.toBe(user.id);
    expect(successor).toMatchObject({ userName: 'DEL@x.test', externalId: 'del-ext', roles: [] });
  });

  it('gives its direct reports a pendingManagerRef equal to its externalId, which re-links when that externalId returns', async () => {
    const mgr = await createUser(t, { userName: 'leaving-mgr@x.test', externalId: 'EXT-LEAVING' });
    const r1 = await createUser(t, { userName: 'r1@x.test', manager: { id: mgr.id } });
    const r2 = await createUser(t, { userName: 'r2@x.test', manager: { externalId: 'EXT-LEAVING' } });
    expect(r2.manager?.id).toBe(mgr.id);

    succeeded(dataOf(await t.gql(DeleteUserDocument, { id: mgr.id })).deleteUser);
    for (const r of [r1, r2]) {
      const after = await readUser(r.id);
      expect(after).toMatchObject({ manager: null, pendingManagerRef: 'EXT-LEAVING' });
    }
    const back = await createUser(t, { userName: 'returning-mgr@x.test', externalId: 'EXT-LEAVING' });
    for (const r of [r1, r2]) expect(await readUser(r.id)).toMatchObject({ manager: { id: back.id }, pendingManagerRef: null });
  });

  it('a user without externalId leaves its reports without manager and without pending reference', async () => {
    const mgr = await createUser(t, { userName: 'no-ext-mgr@x.test' });
    const r = await createUser(t, { userName: 'no-ext-report@x.test', manager: { id: mgr.id } });
    succeeded(dataOf(await t.gql(DeleteUserDocument, { id: mgr.id })).deleteUser);
    expect(await readUser(r.id)).toMatchObject({ manager: null, pendingManagerRef: null });
  });

  it('a deleted user cannot be updated, deactivated or deleted again (NOT_FOUND) and nothing changes', async () => {
    const u = await createUser(t, { userName: 'gone@x.test' });
    succeeded(dataOf(await t.gql(DeleteUserDocument, { id: u.id })).deleteUser);
    const roleId = await anyRoleId();
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(DeleteUserDocument, { id: u.id })).deleteUser, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(UpdateFullUserDocument, { id: u.id, input: { title: 'x' } })).updateUser, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(DeactivateUserDocument, { id: u.id })).deactivateUser, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(ReactivateUserDocument, { id: u.id })).reactivateUser, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(AssignRoleFullDocument, { roleId, userIds: [u.id] })).assignRole, 'NOT_FOUND');
    });
  });

  it('deleting a user that does not exist answers NOT_FOUND and changes nothing', async () => {
    const payload = await expectUnchanged(t, async () => dataOf(await t.gql(DeleteUserDocument, { id: 'bm9wZQ' })).deleteUser);
    expectUserError(payload, 'NOT_FOUND');
    expect(payload.deletedId).toBeNull();
  });
});

let sharedRole: string | undefined;
async function anyRoleId() {
  sharedRole ??= succeeded(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'shared role' } })).createRole).role!.id;
  return sharedRole;
}

describe('eraseUser', () => {
  it('scrubs personal data from the row and the audit changes about the user, keeping who/what/when', async () => {
    const personal = {
      userName: 'erase.me@x.test',
      externalId: 'EXT-ERASE-ME',
      displayName: 'Erin Erasable',
      email: 'erin.private@home.test',
      phone: '+1 555 0199',
    };
    const u = await createUser(t, {
      userName: personal.userName,
      externalId: personal.externalId,
      displayName: personal.displayName,
      name: { givenName: 'Erin', familyName: 'Erasable' },
      emails: [{ value: personal.email, primary: true }],
      phoneNumbers: [{ value: personal.phone }],
      addresses: [{ streetAddress: '1 Secret Lane' }],
      title: 'Privacy Officer',
    });
    succeeded(dataOf(await t.gql(UpdateFullUserDocument, { id: u.id, input: { title: 'Chief Privacy Officer' } })).updateUser);
    const eventsBefore = dataOf(await t.gql(AuditPageDocument, { first: 100, filter: { targetId: u.id } })).auditEvents;
    expect(eventsBefore.nodes.map((e) => e.action)).toEqual(['user.updated', 'user.created']);
    expect(JSON.stringify(eventsBefore.nodes)).toContain(personal.email);

    const res = succeeded(dataOf(await t.gql(EraseUserDocument, { id: u.id })).eraseUser);
    expect(res.deletedId).toBe(u.id);
    expect(await readUser(u.id)).toBeNull();

    const events = dataOf(await t.gql(AuditPageDocument, { first: 100, filter: { targetId: u.id } })).auditEvents.nodes;
    expect(events.map((e) => e.action)).toEqual(['user.erased', 'user.deleted', 'user.updated', 'user.created']);
    for (const e of events) {
      expect(e.changes).toEqual({});
      expect(e.actor).toMatchObject({ kind: 'api_key', label: 'admin' });
      expect(e.occurredAt).toEqual(expect.any(String));
    }
    // Nothing personal is left anywhere in the tenant's audit trail.
    const whole = JSON.stringify(dataOf(await t.gql(AuditPageDocument, { first: 100 })).auditEvents.nodes);
    for (const value of Object.values(personal)) expect(whole).not.toContain(value);

    // The row itself is an anonymous tombstone (read with the tenant's row-level security setting).
    const tid = await tenantUuid(t.slug);
    const [row] = await asTenant(tid, async (c) => (await c.query('select * from users where id = $1', [u.scimId])).rows);
    expect(row).toMatchObject({
      user_name: `erased-${u.scimId}`,
      external_id: null,
      display_name: null,
      given_name: null,
      family_name: null,
      title: null,
      emails: [],
      phone_numbers: [],
      addresses: [],
      custom: {},
      active: false,
    });
    expect(row.erased_at).not.toBeNull();
    expect(row.deleted_at).not.toBeNull();
    expect(JSON.stringify(row)).not.toContain('Erin');

    // The userName and externalId are free again.
    await createUser(t, { userName: personal.userName, externalId: personal.externalId });
  });

  it('erases an already deleted user, and refuses a second erasure with NOT_FOUND (nothing changed)', async () => {
    const u = await createUser(t, { userName: 'deleted-then-erased@x.test', externalId: 'EXT-DTE' });
    succeeded(dataOf(await t.gql(DeleteUserDocument, { id: u.id })).deleteUser);
    succeeded(dataOf(await t.gql(EraseUserDocument, { id: u.id })).eraseUser);
    const again = await expectUnchanged(t, async () => dataOf(await t.gql(EraseUserDocument, { id: u.id })).eraseUser);
    expectUserError(again, 'NOT_FOUND');
  });

  it('refuses an unknown user with NOT_FOUND and changes nothing', async () => {
    const roleId = await anyRoleId();
    const payload = await expectUnchanged(t, async () => dataOf(await t.gql(EraseUserDocument, { id: roleId })).eraseUser);
    expectUserError(payload, 'NOT_FOUND');
  });
});

it('createUser with active: false creates a deactivated user', async () => {
  const res = succeeded(
    dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'born-inactive@x.test', active: false } })).createUser,
  );
  expect(res.user).toMatchObject({ active: false, deactivatedAt: expect.any(String) });
});
