import {
  AssignRoleFullDocument,
  AuditPageDocument,
  CreateApiKeyFullDocument,
  CreateFullUserDocument,
  CreateRoleFullDocument,
  CreateTeamWithDescriptionDocument,
  DeactivateUserDocument,
  DeclareCustomAttributeFullDocument,
  DeleteRoleFullDocument,
  DeleteTeamFullDocument,
  DeleteUserDocument,
  EraseUserDocument,
  GenerateScimCredentialFullDocument,
  MoveUserToTeamFullDocument,
  ReactivateUserDocument,
  RemoveCustomAttributeDocument,
  RevokeApiKeyFullDocument,
  RevokeScimCredentialFullDocument,
  SetManagerFullDocument,
  UnassignRoleFullDocument,
  UpdateFullUserDocument,
  UpdateRoleFullDocument,
  UpdateTeamFullDocument,
  UserAuditTrailDocument,
  type AuditPageQueryVariables,
  type FullAuditEventFragment,
} from '../../__generated__/graphql.js';
import { postGraphql, startTestApp, uniqueSlug, type GqlResult, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, expectUnchanged, expectUserError, postWithHeaders, succeeded } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;
let bot: string;

const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  const key = succeeded(
    dataOf(
      await t.gql(CreateApiKeyFullDocument, {
        input: { name: 'audit-bot', permissions: ['directory:read', 'directory:write', 'integrations:manage', 'audit:read'] },
      }),
    ).createApiKey,
  );
  bot = key.secret!;
});
afterAll(() => app.close());

const audit = async (vars: AuditPageQueryVariables, tenant = t) => dataOf(await tenant.gql(AuditPageDocument, vars)).auditEvents;

/** Runs a mutation and returns the audit events it produced, newest first. */
async function eventsOf(act: () => Promise<unknown>): Promise<FullAuditEventFragment[]> {
  const before = (await audit({ first: 0 })).totalCount;
  await act();
  const after = await audit({ first: 100 });
  return after.nodes.slice(0, after.totalCount - before);
}

/** Exactly one event with this action, from the audit-bot key through GraphQL, about this target. */
function expectOne(
  events: FullAuditEventFragment[],
  action: string,
  targetType: string,
  targetId: string | null,
  changes?: Record<string, unknown>,
) {
  const matching = events.filter((e) => e.action === action);
  expect({ action, count: matching.length }).toEqual({ action, count: 1 });
  const e = matching[0];
  expect(e).toMatchObject({
    door: 'GRAPHQL',
    targetType,
    actor: { kind: 'api_key', label: 'audit-bot', id: UUID },
    requestId: expect.any(String),
  });
  if (targetId !== null) expect(e.targetId).toBe(targetId);
  if (changes) expect(e.changes).toEqual(changes);
  expect(Date.parse(e.occurredAt)).toBeLessThanOrEqual(Date.now() + 1000);
  return e;
}

const run = async <T>(p: Promise<GqlResult<T>>) => dataOf(await p);

describe('every mutation records who, which door, what, the changed fields and a request id', () => {
  it('users, teams, roles, custom attributes, credentials and keys', async () => {
    // Custom attribute
    let attrId = '';
    let events = await eventsOf(async () => {
      attrId = succeeded(
        (await run(t.gql(DeclareCustomAttributeFullDocument, { input: { name: 'tier', type: 'integer' } }, bot))).declareCustomAttribute,
      ).customAttribute!.id;
    });
    expectOne(events, 'custom_attribute.declared', 'custom_attribute', attrId, {
      name: { before: null, after: 'tier' },
      type: { before: null, after: 'integer' },
      multiValued: { before: null, after: false },
    });

    // Team
    let teamId = '';
    events = await eventsOf(async () => {
      teamId = succeeded(
        (await run(t.gql(CreateTeamWithDescriptionDocument, { input: { name: 'Audit Team', description: 'watched' } }, bot))).createTeam,
      ).team!.id;
    });
    expectOne(events, 'team.created', 'team', teamId, {
      name: { before: null, after: 'Audit Team' },
      description: { before: null, after: 'watched' },
    });
    events = await eventsOf(() => t.gql(UpdateTeamFullDocument, { id: teamId, input: { name: 'Audited Team' } }, bot));
    expectOne(events, 'team.updated', 'team', teamId, { name: { before: 'Audit Team', after: 'Audited Team' } });

    // User created with a new department: the team and the user are both recorded.
    let user = { id: '', scimId: '' };
    events = await eventsOf(async () => {
      user = succeeded(
        (
          await run(
            t.gql(
              CreateFullUserDocument,
              {
                input: {
                  userName: 'watched@x.test',
                  department: 'Audit Dept',
                  customAttributes: { tier: 2 },
                  emails: [{ value: 'W@X.test' }],
                },
              },
              bot,
            ),
          )
        ).createUser,
      ).user!;
    });
    expect(events).toHaveLength(2);
    expectOne(events, 'team.created', 'team', null, { name: { before: null, after: 'Audit Dept' } });
    const created = expectOne(events, 'user.created', 'user', user.id);
    expect(created.changes).toMatchObject({
      userName: { before: null, after: 'watched@x.test' },
      active: { before: null, after: true },
      teamId: { before: null, after: UUID },
      custom: { before: null, after: { tier: 2 } },
      emails: { before: null, after: [{ value: 'w@x.test' }] },
    });

    events = await eventsOf(() =>
      t.gql(UpdateFullUserDocument, { id: user.id, input: { title: 'Boss', name: { givenName: 'Wat' } } }, bot),
    );
    expectOne(events, 'user.updated', 'user', user.id, {
      title: { before: null, after: 'Boss' },
      givenName: { before: null, after: 'Wat' },
    });

    const mgr = await createUser(t, { userName: 'audit-mgr@x.test' });
    events = await eventsOf(() => t.gql(SetManagerFullDocument, { userId: user.id, manager: { id: mgr.id } }, bot));
    expectOne(events, 'user.updated', 'user', user.id, { managerId: { before: null, after: mgr.scimId } });

    events = await eventsOf(() => t.gql(MoveUserToTeamFullDocument, { userId: user.id, teamId }, bot));
    const moved = expectOne(events, 'user.updated', 'user', user.id);
    expect(Object.keys(moved.changes)).toEqual(['teamId']);
    expect(moved.changes.teamId).toEqual({
      before: created.changes.teamId && (created.changes.teamId as { after: string }).after,
      after: UUID,
    });

    events = await eventsOf(() => t.gql(DeactivateUserDocument, { id: user.id }, bot));
    expectOne(events, 'user.deactivated', 'user', user.id, { active: { before: true, after: false } });
    events = await eventsOf(() => t.gql(ReactivateUserDocument, { id: user.id }, bot));
    expectOne(events, 'user.reactivated', 'user', user.id, { active: { before: false, after: true } });

    // Role
    let roleId = '';
    events = await eventsOf(async () => {
      roleId = succeeded(
        (await run(t.gql(CreateRoleFullDocument, { input: { displayName: 'Audit Role', externalId: 'ar' } }, bot))).createRole,
      ).role!.id;
    });
    expectOne(events, 'role.created', 'role', roleId, {
      displayName: { before: null, after: 'Audit Role' },
      externalId: { before: null, after: 'ar' },
    });
    events = await eventsOf(() => t.gql(UpdateRoleFullDocument, { id: roleId, input: { displayName: 'Audited Role' } }, bot));
    expectOne(events, 'role.updated', 'role', roleId, { displayName: { before: 'Audit Role', after: 'Audited Role' } });
    events = await eventsOf(() => t.gql(AssignRoleFullDocument, { roleId, userIds: [user.id, mgr.id] }, bot));
    expectOne(events, 'role.members_changed', 'role', roleId, {
      members: { before: { removed: 0, userIds: [] }, after: { added: 2, userIds: expect.arrayContaining([user.scimId, mgr.scimId]) } },
    });
    events = await eventsOf(() => t.gql(UnassignRoleFullDocument, { roleId, userIds: [mgr.id] }, bot));
    // who joined and who left, not only how many (an access review asks when someone gained a role)
    expectOne(events, 'role.members_changed', 'role', roleId, {
      members: { before: { removed: 1, userIds: [mgr.scimId] }, after: { added: 0, userIds: [] } },
    });
    // A no-op changes nothing and records nothing.
    expect(await eventsOf(() => t.gql(AssignRoleFullDocument, { roleId, userIds: [user.id] }, bot))).toEqual([]);
    events = await eventsOf(() => t.gql(DeleteRoleFullDocument, { id: roleId }, bot));
    expectOne(events, 'role.deleted', 'role', roleId, { displayName: { before: 'Audited Role', after: null } });

    events = await eventsOf(() => t.gql(DeleteTeamFullDocument, { id: teamId }, bot));
    expectOne(events, 'team.deleted', 'team', teamId, { name: { before: 'Audited Team', after: null } });

    // Credentials and keys
    let credId = '';
    events = await eventsOf(async () => {
      credId = succeeded(
        (await run(t.gql(GenerateScimCredentialFullDocument, { input: { overlapSeconds: 60 } }, bot))).generateScimCredential,
      ).credential!.id;
    });
    expectOne(events, 'scim_credential.generated', 'credential', credId, {
      kind: { before: null, after: 'bearer' },
      overlapSeconds: { before: null, after: 60 },
    });
    events = await eventsOf(() => t.gql(RevokeScimCredentialFullDocument, { id: credId }, bot));
    expectOne(events, 'scim_credential.revoked', 'credential', credId);

    let keyId = '';
    events = await eventsOf(async () => {
      keyId = succeeded(
        (await run(t.gql(CreateApiKeyFullDocument, { input: { name: 'short-lived', permissions: ['directory:read'] } }, bot))).createApiKey,
      ).apiKey!.id;
    });
    const keyEvent = expectOne(events, 'api_key.created', 'api_key', keyId, {
      name: { before: null, after: 'short-lived' },
      permissions: { before: null, after: ['directory:read'] },
    });
    expect(JSON.stringify(keyEvent)).not.toMatch(/rst_key_[A-Za-z0-9_-]{20}/);
    events = await eventsOf(() => t.gql(RevokeApiKeyFullDocument, { id: keyId }, bot));
    expectOne(events, 'api_key.revoked', 'api_key', keyId);

    events = await eventsOf(() => t.gql(RemoveCustomAttributeDocument, { id: attrId }, bot));
    expectOne(events, 'custom_attribute.removed', 'custom_attribute', attrId, { name: { before: 'tier', after: null } });

    // Delete and erase
    events = await eventsOf(() => t.gql(DeleteUserDocument, { id: mgr.id }, bot));
    expectOne(events, 'user.deleted', 'user', mgr.id, { deleted: { before: false, after: true } });
    events = await eventsOf(() => t.gql(EraseUserDocument, { id: user.id }, bot));
    expect(events.map((e) => e.action).sort()).toEqual(['user.deleted', 'user.erased']);
    expectOne(events, 'user.erased', 'user', user.id, {});
  });

  it('a backfill records user.manager_backfilled for every linked report', async () => {
    const r1 = await createUser(t, { userName: 'bf1@audit.test', manager: { externalId: 'AUDIT-BF' } });
    const r2 = await createUser(t, { userName: 'bf2@audit.test', manager: { externalId: 'AUDIT-BF' } });
    let mgr = { id: '', scimId: '' };
    const events = await eventsOf(async () => {
      mgr = await createUser(t, { userName: 'bf-mgr@audit.test', externalId: 'AUDIT-BF' }, bot);
    });
    expect(events.map((e) => e.action).sort()).toEqual(['user.created', 'user.manager_backfilled', 'user.manager_backfilled']);
    const backfills = events.filter((e) => e.action === 'user.manager_backfilled');
    expect(backfills.map((e) => e.targetId).sort()).toEqual([r1.id, r2.id].sort());
    for (const e of backfills)
      expect(e).toMatchObject({
        door: 'GRAPHQL',
        actor: { kind: 'api_key', label: 'audit-bot' },
        changes: { managerId: { before: null, after: mgr.scimId } },
      });
  });

  it('records the x-request-id the caller sent, and echoes it', async () => {
    const requestId = `audit-req-${Date.now()}`;
    const res = await postWithHeaders(
      app,
      bot,
      CreateFullUserDocument,
      { input: { userName: 'traced@x.test' } },
      { 'x-request-id': requestId },
    );
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const user = succeeded(dataOf(res).createUser).user!;
    const [event] = (await audit({ first: 1, filter: { targetId: user.id } })).nodes;
    expect(event).toMatchObject({ action: 'user.created', requestId });

    // Without one, the server makes one up, and every event of one request shares it.
    const r2 = await postWithHeaders(
      app,
      bot,
      CreateFullUserDocument,
      { input: { userName: 'untraced@x.test', department: 'Traced Dept' } },
      {},
    );
    const generated = r2.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const events = (await audit({ first: 2 })).nodes;
    expect(events.map((e) => e.requestId)).toEqual([generated, generated]);
  });

  it('operator-created tenants record their first credentials with the operator as actor', async () => {
    const slug = uniqueSlug('aud');
    const res = await postGraphql<{ createTenant: { apiKey: string } }>(
      app.baseUrl,
      app.operatorKey,
      'mutation($slug: String!) { createTenant(input: { slug: $slug }) { apiKey } }',
      { slug },
    );
    const key = dataOf(res).createTenant.apiKey;
    const events = dataOf(
      await postGraphql<{ auditEvents: { nodes: FullAuditEventFragment[] } }>(
        app.baseUrl,
        key,
        '{ auditEvents(first: 10) { nodes { action door actor { kind label } } } }',
      ),
    ).auditEvents.nodes;
    expect(events.map((e) => e.action).sort()).toEqual(['api_key.created', 'scim_credential.generated', 'tenant.created']);
    for (const e of events) expect(e).toMatchObject({ door: 'GRAPHQL', actor: { kind: 'operator' } });
  });

  it('a refused mutation records nothing', async () => {
    const u = await createUser(t, { userName: 'refused@x.test' });
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'REFUSED@x.test' } }, bot)).createUser, 'CONFLICT');
      expectUserError(
        dataOf(await t.gql(SetManagerFullDocument, { userId: u.id, manager: { id: u.id } }, bot)).setManager,
        'MANAGER_CYCLE',
      );
    });
  });
});

describe('an audit row written with the transaction’s next statement (a deferred write)', () => {
  it('is there for a read later in the same document; a refused mutation in between records nothing', async () => {
    const u = await createUser(t, { userName: 'same-doc@x.test' });
    const res = dataOf(
      await t.raw<any>(
        `mutation ($id: ID!) {
           a: updateUser(id: $id, input: { title: "First" }) { user { auditTrail(first: 5) { nodes { action changes } } } userErrors { code } }
           b: updateUser(id: $id, input: { title: "Second", manager: { id: $id } }) { user { title } userErrors { code } }
           c: updateUser(id: $id, input: { nickName: "Third" }) { user { title auditTrail(first: 5) { nodes { action changes } } } userErrors { code } }
         }`,
        { id: u.id },
      ),
    );
    expect(res.a.user.auditTrail.nodes.map((n: any) => [n.action, n.changes])).toEqual([
      ['user.updated', { title: { before: null, after: 'First' } }],
      ['user.created', expect.any(Object)],
    ]);
    expect(res.b.userErrors).toEqual([{ code: 'MANAGER_CYCLE' }]);
    expect(res.c.user.title).toBe('First');
    expect(res.c.user.auditTrail.nodes.map((n: any) => [n.action, n.changes])).toEqual([
      ['user.updated', { nickName: { before: null, after: 'Third' } }],
      ['user.updated', { title: { before: null, after: 'First' } }],
      ['user.created', expect.any(Object)],
    ]);
  });
});

describe('auditEvents filters and paging', () => {
  let ta: TestTenant;
  let userId: string;
  let middle: string;

  beforeAll(async () => {
    ta = await app.createTenant();
    const u = await createUser(ta, { userName: 'filter@x.test' });
    userId = u.id;
    for (const title of ['one', 'two', 'three'])
      succeeded(dataOf(await ta.gql(UpdateFullUserDocument, { id: u.id, input: { title } })).updateUser);
    await new Promise((r) => setTimeout(r, 5));
    middle = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    succeeded(dataOf(await ta.gql(DeactivateUserDocument, { id: u.id })).deactivateUser);
    succeeded(dataOf(await ta.gql(CreateRoleFullDocument, { input: { displayName: 'Late Role' } })).createRole);
  });

  it('lists newest first and pages forward without overlap', async () => {
    const all = await audit({ first: 100 }, ta);
    // tenant creation: tenant.created + scim_credential.generated + api_key.created; then 1 create, 3 updates, 1 deactivate, 1 role
    expect(all.totalCount).toBe(9);
    expect(all.nodes.slice(0, 6).map((e) => e.action)).toEqual([
      'role.created',
      'user.deactivated',
      'user.updated',
      'user.updated',
      'user.updated',
      'user.created',
    ]);
    const times = all.nodes.map((e) => Date.parse(e.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const p1 = await audit({ first: 3 }, ta);
    const p2 = await audit({ first: 3, after: p1.pageInfo.endCursor }, ta);
    const p3 = await audit({ first: 3, after: p2.pageInfo.endCursor }, ta);
    expect([...p1.nodes, ...p2.nodes, ...p3.nodes].map((e) => e.id)).toEqual(all.nodes.map((e) => e.id));
    expect(p3.pageInfo.hasNextPage).toBe(false);
    const back = await audit({ last: 3, before: p2.pageInfo.startCursor }, ta);
    expect(back.nodes.map((e) => e.id)).toEqual(p1.nodes.map((e) => e.id));
  });

  it('filters by door, action, target and time', async () => {
    expect((await audit({ first: 100, filter: { door: 'GRAPHQL' } }, ta)).totalCount).toBe(9);
    for (const door of ['SCIM', 'CLI', 'SYSTEM'] as const) expect((await audit({ first: 100, filter: { door } }, ta)).totalCount).toBe(0);

    const updates = await audit({ first: 100, filter: { action: 'user.updated' } }, ta);
    expect(updates.totalCount).toBe(3);
    expect(updates.nodes.map((e) => (e.changes.title as { after: string }).after)).toEqual(['three', 'two', 'one']);
    expect((await audit({ first: 100, filter: { action: 'no.such.action' } }, ta)).totalCount).toBe(0);

    const since = await audit({ first: 100, filter: { since: middle } }, ta);
    expect(since.nodes.map((e) => e.action)).toEqual(['role.created', 'user.deactivated']);
    const until = await audit({ first: 100, filter: { until: middle } }, ta);
    expect(until.totalCount).toBe(7);
    const combined = await audit(
      { first: 100, filter: { since: middle, action: 'user.deactivated', targetId: userId, door: 'GRAPHQL' } },
      ta,
    );
    expect(combined.nodes.map((e) => e.action)).toEqual(['user.deactivated']);
    expect((await audit({ first: 100, filter: { targetId: userId } }, ta)).totalCount).toBe(5);
  });

  it('user.auditTrail lists the changes to one user, newest first', async () => {
    const trail = dataOf(await ta.gql(UserAuditTrailDocument, { id: userId, first: 100 })).user!.auditTrail;
    expect(trail.totalCount).toBe(5);
    expect(trail.nodes.map((e) => e.action)).toEqual(['user.deactivated', 'user.updated', 'user.updated', 'user.updated', 'user.created']);
    expect(trail.nodes.every((e) => e.targetId === userId && e.door === 'GRAPHQL' && e.actor.label === 'admin')).toBe(true);
    const page = dataOf(await ta.gql(UserAuditTrailDocument, { id: userId, first: 2 })).user!.auditTrail;
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = dataOf(await ta.gql(UserAuditTrailDocument, { id: userId, first: 10, after: page.pageInfo.endCursor })).user!.auditTrail;
    expect(next.nodes.map((e) => e.action)).toEqual(['user.updated', 'user.updated', 'user.created']);
  });
});
