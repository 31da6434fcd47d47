import {
  CreateTeamWithDescriptionDocument,
  DeleteTeamFullDocument,
  MoveUserToTeamFullDocument,
  ReadTeamDocument,
  ReadUserDocument,
  TeamsPageDocument,
  UpdateFullUserDocument,
  UpdateTeamFullDocument,
  type CreateTeamInput,
  type TeamsPageQueryVariables,
} from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, expectUnchanged, expectUserError, succeeded } from './support.js';

allowSlowTests();

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const createTeam = async (t: TestTenant, input: CreateTeamInput) =>
  succeeded(dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input })).createTeam).team!;
const readTeam = async (t: TestTenant, id: string) => dataOf(await t.gql(ReadTeamDocument, { id })).team;
const teams = async (t: TestTenant, vars: TeamsPageQueryVariables = { first: 100 }) => dataOf(await t.gql(TeamsPageDocument, vars)).teams;

describe('teams from department names', () => {
  it('creates a team for a new department and reuses it case-insensitively (Sales and sales are one team)', async () => {
    const t = await app.createTenant();
    const a = await createUser(t, { userName: 'a@x.test', department: 'Sales' });
    const b = await createUser(t, { userName: 'b@x.test', department: 'sales' });
    const c = await createUser(t, { userName: 'c@x.test' });
    succeeded(dataOf(await t.gql(UpdateFullUserDocument, { id: c.id, input: { department: '  SALES ' } })).updateUser);
    expect(a.team).toEqual({ id: expect.any(String), name: 'Sales' });
    expect(b.team).toEqual(a.team);
    expect(dataOf(await t.gql(ReadUserDocument, { id: c.id })).user!.team).toEqual(a.team);

    const all = await teams(t);
    expect(all.totalCount).toBe(1);
    expect(all.nodes[0]).toMatchObject({ name: 'Sales', memberCount: 3 });
    // createTeam with the same name in another case is a conflict.
    const dup = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input: { name: 'SALES' } })).createTeam,
    );
    expectUserError(dup, 'CONFLICT', { reason: 'TEAM_NAME_TAKEN', field: 'name' });
  });

  it('department null takes the user out of the team, and the team stays', async () => {
    const t = await app.createTenant();
    const u = await createUser(t, { userName: 'u@x.test', department: 'Ops' });
    const out = succeeded(dataOf(await t.gql(UpdateFullUserDocument, { id: u.id, input: { department: null } })).updateUser);
    expect(out.user!.team).toBeNull();
    expect((await teams(t)).nodes[0]).toMatchObject({ name: 'Ops', memberCount: 0 });
  });
});

describe('createTeam / updateTeam', () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await app.createTenant();
  });

  it('nests teams; parent, children, members and memberCount read back', async () => {
    const eng = await createTeam(t, { name: 'Engineering', description: 'Builds things' });
    const platform = await createTeam(t, { name: 'Platform', parentId: eng.id });
    const web = await createTeam(t, { name: 'Web', parentId: eng.id });
    expect(platform.parent).toEqual({ id: eng.id, name: 'Engineering' });
    const u1 = await createUser(t, { userName: 'p1@x.test', teamId: platform.id });
    await createUser(t, { userName: 'p2@x.test', department: 'platform' });

    const readEng = (await readTeam(t, eng.id))!;
    expect(readEng).toMatchObject({
      name: 'Engineering',
      description: 'Builds things',
      parent: null,
      memberCount: 0,
      members: { totalCount: 0, nodes: [] },
    });
    expect(readEng.children).toEqual([
      { id: platform.id, name: 'Platform' },
      { id: web.id, name: 'Web' },
    ]);
    const readPlatform = (await readTeam(t, platform.id))!;
    expect(readPlatform).toMatchObject({ parent: { id: eng.id }, children: [], memberCount: 2, members: { totalCount: 2 } });
    expect(readPlatform.members.nodes.map((m) => m.userName)).toEqual(['p1@x.test', 'p2@x.test']);
    expect(dataOf(await t.gql(ReadUserDocument, { id: u1.id })).user!.team).toEqual({ id: platform.id, name: 'Platform' });
  });

  it('renames, re-describes and moves a team; parentId null makes it a root', async () => {
    const parent = await createTeam(t, { name: 'Move Parent' });
    const other = await createTeam(t, { name: 'Move Other' });
    const child = await createTeam(t, { name: 'Move Child', parentId: parent.id });
    const renamed = succeeded(
      dataOf(
        await t.gql(UpdateTeamFullDocument, {
          id: child.id,
          input: { name: 'Moved Child', description: 'now elsewhere', parentId: other.id },
        }),
      ).updateTeam,
    ).team!;
    expect(renamed).toMatchObject({ name: 'Moved Child', description: 'now elsewhere', parent: { id: other.id } });
    // Omitted fields stay.
    const kept = succeeded(dataOf(await t.gql(UpdateTeamFullDocument, { id: child.id, input: { description: 'again' } })).updateTeam).team!;
    expect(kept).toMatchObject({ name: 'Moved Child', parent: { id: other.id } });
    const root = succeeded(dataOf(await t.gql(UpdateTeamFullDocument, { id: child.id, input: { parentId: null } })).updateTeam).team!;
    expect(root.parent).toBeNull();
    expect((await readTeam(t, parent.id))!.children).toEqual([]);
  });

  it('refuses nesting a team inside itself or its descendants (TEAM_CYCLE) and changes nothing', async () => {
    const a = await createTeam(t, { name: 'Cycle A' });
    const b = await createTeam(t, { name: 'Cycle B', parentId: a.id });
    const c = await createTeam(t, { name: 'Cycle C', parentId: b.id });
    for (const [id, parentId] of [
      [a.id, a.id],
      [a.id, b.id],
      [a.id, c.id],
      [b.id, c.id],
    ]) {
      const payload = await expectUnchanged(
        t,
        async () => dataOf(await t.gql(UpdateTeamFullDocument, { id, input: { name: 'Renamed too', parentId } })).updateTeam,
      );
      expectUserError(payload, 'TEAM_CYCLE', { field: 'parentId', reason: 'TEAM_CYCLE' });
      expect(payload.team).toBeNull();
    }
  });

  it('refuses bad input (blank name, duplicate name, unknown parent, unknown team) and changes nothing', async () => {
    const x = await createTeam(t, { name: 'Existing X' });
    const y = await createTeam(t, { name: 'Existing Y' });
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input: { name: '   ' } })).createTeam, 'INVALID_INPUT', {
        field: 'name',
      });
      expectUserError(dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input: { name: 'existing x' } })).createTeam, 'CONFLICT');
      expectUserError(
        dataOf(await t.gql(CreateTeamWithDescriptionDocument, { input: { name: 'Orphan', parentId: 'garbage' } })).createTeam,
        'NOT_FOUND',
        { field: 'parentId' },
      );
      expectUserError(dataOf(await t.gql(UpdateTeamFullDocument, { id: y.id, input: { name: 'EXISTING X' } })).updateTeam, 'CONFLICT', {
        reason: 'TEAM_NAME_TAKEN',
      });
      expectUserError(dataOf(await t.gql(UpdateTeamFullDocument, { id: y.id, input: { parentId: 'garbage' } })).updateTeam, 'NOT_FOUND', {
        field: 'parentId',
      });
      expectUserError(dataOf(await t.gql(UpdateTeamFullDocument, { id: 'garbage', input: { name: 'Nope' } })).updateTeam, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(MoveUserToTeamFullDocument, { userId: 'garbage', teamId: x.id })).moveUserToTeam, 'NOT_FOUND');
    });
  });

  it('moveUserToTeam moves a user between teams and out of any team', async () => {
    const from = await createTeam(t, { name: 'Move From' });
    const to = await createTeam(t, { name: 'Move To' });
    const u = await createUser(t, { userName: 'mover@x.test', teamId: from.id });
    expect(succeeded(dataOf(await t.gql(MoveUserToTeamFullDocument, { userId: u.id, teamId: to.id })).moveUserToTeam).user!.team).toEqual({
      id: to.id,
      name: 'Move To',
    });
    expect((await readTeam(t, from.id))!.memberCount).toBe(0);
    expect((await readTeam(t, to.id))!.memberCount).toBe(1);
    const unknown = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(MoveUserToTeamFullDocument, { userId: u.id, teamId: u.id })).moveUserToTeam,
    );
    expectUserError(unknown, 'NOT_FOUND', { field: 'teamId' });
    expect(succeeded(dataOf(await t.gql(MoveUserToTeamFullDocument, { userId: u.id, teamId: null })).moveUserToTeam).user!.team).toBeNull();
  });
});

describe('deleteTeam', () => {
  it('keeps the members (without a team) and moves the sub-teams up to its parent', async () => {
    const t = await app.createTenant();
    const top = await createTeam(t, { name: 'Top' });
    const mid = await createTeam(t, { name: 'Mid', parentId: top.id });
    const low1 = await createTeam(t, { name: 'Low 1', parentId: mid.id });
    const low2 = await createTeam(t, { name: 'Low 2', parentId: mid.id });
    const member = await createUser(t, { userName: 'member@x.test', teamId: mid.id });
    const elsewhere = await createUser(t, { userName: 'elsewhere@x.test', teamId: low1.id });

    const res = succeeded(dataOf(await t.gql(DeleteTeamFullDocument, { id: mid.id })).deleteTeam);
    expect(res.deletedId).toBe(mid.id);
    expect(await readTeam(t, mid.id)).toBeNull();
    const memberAfter = dataOf(await t.gql(ReadUserDocument, { id: member.id })).user!;
    expect(memberAfter).toMatchObject({ userName: 'member@x.test', team: null, active: true });
    expect(memberAfter.version).toBeGreaterThan(member.version);
    expect(dataOf(await t.gql(ReadUserDocument, { id: elsewhere.id })).user!.team).toEqual({ id: low1.id, name: 'Low 1' });
    expect((await readTeam(t, top.id))!.children.map((c) => c.id)).toEqual([low1.id, low2.id]);
    expect((await readTeam(t, low1.id))!.parent).toEqual({ id: top.id, name: 'Top' });

    // Deleting a root team makes its children roots.
    succeeded(dataOf(await t.gql(DeleteTeamFullDocument, { id: top.id })).deleteTeam);
    expect((await teams(t, { first: 100, rootsOnly: true })).nodes.map((n) => n.name)).toEqual(['Low 1', 'Low 2']);

    // The name is free again.
    await createTeam(t, { name: 'mid' });
  });

  it('answers NOT_FOUND for an unknown team and changes nothing', async () => {
    const t = await app.createTenant();
    const team = await createTeam(t, { name: 'Stays' });
    const u = await createUser(t, { userName: 'stays@x.test', teamId: team.id });
    await expectUnchanged(t, async () => {
      expectUserError(dataOf(await t.gql(DeleteTeamFullDocument, { id: u.id })).deleteTeam, 'NOT_FOUND');
      expectUserError(dataOf(await t.gql(DeleteTeamFullDocument, { id: 'garbage' })).deleteTeam, 'NOT_FOUND');
    });
    succeeded(dataOf(await t.gql(DeleteTeamFullDocument, { id: team.id })).deleteTeam);
    const again = await expectUnchanged(t, async () => dataOf(await t.gql(DeleteTeamFullDocument, { id: team.id })).deleteTeam);
    expectUserError(again, 'NOT_FOUND');
  });
});

describe('teams query', () => {
  it('lists teams by name, rootsOnly gives the top of the tree, and pages both ways', async () => {
    const t = await app.createTenant();
    const b = await createTeam(t, { name: 'b-root' });
    await createTeam(t, { name: 'A-root' });
    await createTeam(t, { name: 'c-child', parentId: b.id });
    await createTeam(t, { name: 'D-child', parentId: b.id });

    const all = await teams(t);
    expect(all.totalCount).toBe(4);
    expect(all.nodes.map((n) => n.name)).toEqual(['A-root', 'b-root', 'c-child', 'D-child']);
    const roots = await teams(t, { first: 100, rootsOnly: true });
    expect(roots.totalCount).toBe(2);
    expect(roots.nodes.map((n) => n.name)).toEqual(['A-root', 'b-root']);
    expect(roots.nodes.every((n) => n.parent === null)).toBe(true);

    const p1 = await teams(t, { first: 3 });
    expect(p1.nodes.map((n) => n.name)).toEqual(['A-root', 'b-root', 'c-child']);
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const p2 = await teams(t, { first: 3, after: p1.pageInfo.endCursor });
    expect(p2.nodes.map((n) => n.name)).toEqual(['D-child']);
    expect(p2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const last = await teams(t, { last: 2 });
    expect(last.nodes.map((n) => n.name)).toEqual(['c-child', 'D-child']);
    const before = await teams(t, { last: 2, before: last.pageInfo.startCursor });
    expect(before.nodes.map((n) => n.name)).toEqual(['A-root', 'b-root']);
    expect(before.pageInfo.hasPreviousPage).toBe(false);
  });
});
