import {
  AuditPageDocument,
  CreateFullUserDocument,
  DirectReportsPageDocument,
  ReadUserDocument,
  ReportingChainDocument,
  SetManagerFullDocument,
  SubtreePageDocument,
  UpdateFullUserDocument,
  type ManagerRefInput,
  type SubtreePageQueryVariables,
} from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, expectGraphqlError, expectUnchanged, expectUserError, succeeded } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

const readUser = async (id: string) => dataOf(await t.gql(ReadUserDocument, { id })).user!;
const chainOf = async (id: string) => dataOf(await t.gql(ReportingChainDocument, { id })).user!.reportingChain.map((u) => u.userName);
const subtree = async (vars: SubtreePageQueryVariables) => dataOf(await t.gql(SubtreePageDocument, vars)).user!.subtree;
const setManager = async (userId: string, manager: ManagerRefInput | null) =>
  dataOf(await t.gql(SetManagerFullDocument, { userId, manager })).setManager;

describe('manager backfill', () => {
  it('links reports created before their manager, by externalId, in the same request that creates the manager', async () => {
    const report = await createUser(t, { userName: 'early@bf.test', manager: { externalId: 'BF-MGR' } });
    expect(report).toMatchObject({ manager: null, pendingManagerRef: 'BF-MGR' });
    const created = succeeded(
      dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'mgr@bf.test', externalId: 'BF-MGR' } })).createUser,
    ).user!;
    expect(await readUser(report.id)).toMatchObject({ manager: { id: created.id }, pendingManagerRef: null });
    expect((await readUser(report.id)).version).toBeGreaterThan(report.version);
    // Backfills are audited against the report.
    const events = dataOf(
      await t.gql(AuditPageDocument, { first: 10, filter: { targetId: report.id, action: 'user.manager_backfilled' } }),
    ).auditEvents;
    expect(events.totalCount).toBe(1);
    expect(events.nodes[0].changes).toEqual({ managerId: { before: null, after: created.scimId } });
  });

  it('links reports created before their manager, by id: manager: { scimId } then a manager created with that scimId', async () => {
    const mgrId = '0190a0b0-1111-7000-8000-000000000001';
    const report = await createUser(t, { userName: 'early-by-id@bf.test', manager: { scimId: mgrId } });
    expect(report).toMatchObject({ manager: null, pendingManagerRef: mgrId });
    const mgr = await createUser(t, { userName: 'mgr-by-id@bf.test', scimId: mgrId });
    expect(mgr.scimId).toBe(mgrId);
    expect(await readUser(report.id)).toMatchObject({ manager: { id: mgr.id }, pendingManagerRef: null });
  });

  it('links when an existing user gets the awaited externalId by update', async () => {
    const report = await createUser(t, { userName: 'waiting@bf.test', manager: { externalId: 'BF-LATER' } });
    const mgr = await createUser(t, { userName: 'later@bf.test' });
    succeeded(dataOf(await t.gql(UpdateFullUserDocument, { id: mgr.id, input: { externalId: 'BF-LATER' } })).updateUser);
    expect(await readUser(report.id)).toMatchObject({ manager: { id: mgr.id }, pendingManagerRef: null });
  });

  it('resolves several levels created bottom-up, mixing ids and externalIds', async () => {
    const vpId = '0190a0b0-2222-7000-8000-000000000002';
    const ic = await createUser(t, { userName: 'ic@lvl.test', manager: { externalId: 'LVL-LEAD' } });
    const lead = await createUser(t, { userName: 'lead@lvl.test', externalId: 'LVL-LEAD', manager: { externalId: 'LVL-DIR' } });
    const dir = await createUser(t, { userName: 'dir@lvl.test', externalId: 'LVL-DIR', manager: { scimId: vpId } });
    expect(dir.pendingManagerRef).toBe(vpId);
    const vp = await createUser(t, { userName: 'vp@lvl.test', scimId: vpId });

    expect(await chainOf(ic.id)).toEqual(['lead@lvl.test', 'dir@lvl.test', 'vp@lvl.test']);
    const tree = await subtree({ id: vp.id, maxDepth: 8, first: 100 });
    expect(tree.edges.map((e) => [e.depth, e.node.userName])).toEqual([
      [1, 'dir@lvl.test'],
      [2, 'lead@lvl.test'],
      [3, 'ic@lvl.test'],
    ]);
    for (const u of [ic, lead, dir]) expect((await readUser(u.id)).pendingManagerRef).toBeNull();
  });

  it('links many reports waiting on one manager at once', async () => {
    const count = 30;
    for (let i = 0; i < count; i++) await createUser(t, { userName: `wait${i}@many.test`, manager: { externalId: 'MANY-MGR' } });
    const mgr = await createUser(t, { userName: 'mgr@many.test', externalId: 'MANY-MGR' });
    const reports = dataOf(await t.gql(DirectReportsPageDocument, { id: mgr.id, first: 100 })).user!.directReports;
    expect(reports.totalCount).toBe(count);
    expect(reports.nodes.map((n) => n.userName).sort()).toEqual(Array.from({ length: count }, (_, i) => `wait${i}@many.test`).sort());
  });

  it('refuses a backfill that would close a cycle (MANAGER_CYCLE) and leaves everything as it was', async () => {
    // a waits for "CYC-B"; creating b with externalId CYC-B and manager a would make a → b → a.
    const a = await createUser(t, { userName: 'a@cyc-bf.test', manager: { externalId: 'CYC-B' } });
    const payload = await expectUnchanged(
      t,
      async () =>
        dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'b@cyc-bf.test', externalId: 'CYC-B', manager: { id: a.id } } }))
          .createUser,
    );
    expectUserError(payload, 'MANAGER_CYCLE', { field: 'manager' });
    expect(await readUser(a.id)).toEqual(a);

    // Same through an update that gives an existing user the awaited externalId.
    const b = await createUser(t, { userName: 'b2@cyc-bf.test', manager: { id: a.id } });
    const viaUpdate = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(UpdateFullUserDocument, { id: b.id, input: { externalId: 'CYC-B' } })).updateUser,
    );
    expectUserError(viaUpdate, 'MANAGER_CYCLE');
    expect(await readUser(a.id)).toEqual(a);
    expect(await readUser(b.id)).toEqual(b);
  });
});

describe('setManager', () => {
  it('sets by id, by externalId, by scimId, to a pending reference, and clears with null', async () => {
    const m1 = await createUser(t, { userName: 'm1@set.test', externalId: 'SET-M1' });
    const m2 = await createUser(t, { userName: 'm2@set.test' });
    const u = await createUser(t, { userName: 'u@set.test' });

    expect(succeeded(await setManager(u.id, { id: m1.id })).user).toMatchObject({ manager: { id: m1.id }, pendingManagerRef: null });
    expect(succeeded(await setManager(u.id, { scimId: m2.scimId })).user).toMatchObject({ manager: { id: m2.id } });
    expect(succeeded(await setManager(u.id, { externalId: 'SET-M1' })).user).toMatchObject({ manager: { id: m1.id } });
    expect(succeeded(await setManager(u.id, { externalId: 'SET-NOBODY-YET' })).user).toMatchObject({
      manager: null,
      pendingManagerRef: 'SET-NOBODY-YET',
    });
    expect(succeeded(await setManager(u.id, null)).user).toMatchObject({ manager: null, pendingManagerRef: null });
  });

  it('refuses a self-manager (by id, by externalId, pending or not) with MANAGER_CYCLE and changes nothing', async () => {
    const u = await createUser(t, { userName: 'self@cyc.test', externalId: 'SELF-EXT' });
    for (const ref of [{ id: u.id }, { externalId: 'SELF-EXT' }, { scimId: u.scimId }]) {
      const payload = await expectUnchanged(t, () => setManager(u.id, ref));
      expectUserError(payload, 'MANAGER_CYCLE', { field: 'manager', reason: 'MANAGER_CYCLE' });
      expect(payload.user).toBeNull();
    }
    // A new user naming itself as its own pending manager is refused too.
    const scimId = '0190a0b0-3333-7000-8000-000000000003';
    const created = await expectUnchanged(
      t,
      async () =>
        dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'self-new@cyc.test', scimId, manager: { scimId } } })).createUser,
    );
    expectUserError(created, 'MANAGER_CYCLE');
    const byExt = await expectUnchanged(
      t,
      async () =>
        dataOf(
          await t.gql(CreateFullUserDocument, {
            input: { userName: 'self-new2@cyc.test', externalId: 'SELF-NEW', manager: { externalId: 'SELF-NEW' } },
          }),
        ).createUser,
    );
    expectUserError(byExt, 'MANAGER_CYCLE');
  });

  it('refuses a two-user cycle with MANAGER_CYCLE and changes nothing', async () => {
    const a = await createUser(t, { userName: 'a@two.test' });
    const b = await createUser(t, { userName: 'b@two.test', manager: { id: a.id } });
    const payload = await expectUnchanged(t, () => setManager(a.id, { id: b.id }));
    expectUserError(payload, 'MANAGER_CYCLE');
    expect(await readUser(a.id)).toEqual(a);
    expect(await readUser(b.id)).toEqual(b);
  });

  it('refuses a longer cycle with MANAGER_CYCLE and changes nothing', async () => {
    const top = await createUser(t, { userName: 'top@long.test' });
    const l1 = await createUser(t, { userName: 'l1@long.test', manager: { id: top.id } });
    const l2 = await createUser(t, { userName: 'l2@long.test', manager: { id: l1.id } });
    const l3 = await createUser(t, { userName: 'l3@long.test', externalId: 'LONG-L3', manager: { id: l2.id } });
    const payload = await expectUnchanged(t, () => setManager(top.id, { externalId: 'LONG-L3' }));
    expectUserError(payload, 'MANAGER_CYCLE');
    // Also through updateUser's manager field.
    const viaUpdate = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(UpdateFullUserDocument, { id: l1.id, input: { title: 'moved', manager: { id: l3.id } } })).updateUser,
    );
    expectUserError(viaUpdate, 'MANAGER_CYCLE');
    expect(await chainOf(l3.id)).toEqual(['l2@long.test', 'l1@long.test', 'top@long.test']);
    // Moving a branch sideways is fine.
    const other = await createUser(t, { userName: 'other@long.test' });
    succeeded(await setManager(l2.id, { id: other.id }));
    expect(await chainOf(l3.id)).toEqual(['l2@long.test', 'other@long.test']);
  });

  it('answers NOT_FOUND for an unknown user and INVALID_INPUT for a malformed manager reference', async () => {
    const u = await createUser(t, { userName: 'bad-ref@set.test' });
    await expectUnchanged(t, async () => {
      expectUserError(await setManager('garbage', { id: u.id }), 'NOT_FOUND');
      expectUserError(await setManager(u.id, {}), 'INVALID_INPUT', { field: 'manager' });
      expectUserError(await setManager(u.id, { id: u.id, externalId: 'X' }), 'INVALID_INPUT', { field: 'manager' });
    });
  });
});

describe('reportingChain, directReports and subtree', () => {
  let root: string;
  let leaf: string;
  const names: string[] = [];

  beforeAll(async () => {
    // root → a, b; a → a1, a2; a1 → a1x (depth 3); b → b1 (inactive)
    const r = await createUser(t, { userName: 'root@tree.test' });
    root = r.id;
    const a = await createUser(t, { userName: 'a@tree.test', manager: { id: root } });
    const b = await createUser(t, { userName: 'b@tree.test', manager: { id: root } });
    const a1 = await createUser(t, { userName: 'a1@tree.test', manager: { id: a.id } });
    await createUser(t, { userName: 'a2@tree.test', manager: { id: a.id } });
    await createUser(t, { userName: 'b1@tree.test', manager: { id: b.id }, active: false });
    leaf = (await createUser(t, { userName: 'a1x@tree.test', manager: { id: a1.id } })).id;
    names.push('a@tree.test', 'b@tree.test', 'a1@tree.test', 'a2@tree.test', 'b1@tree.test', 'a1x@tree.test');
  });

  it('reportingChain goes up to the root, nearest first; the root has an empty chain', async () => {
    expect(await chainOf(leaf)).toEqual(['a1@tree.test', 'a@tree.test', 'root@tree.test']);
    expect(await chainOf(root)).toEqual([]);
  });

  it('directReports lists direct reports only, paged', async () => {
    const all = dataOf(await t.gql(DirectReportsPageDocument, { id: root, first: 100 })).user!.directReports;
    expect(all.totalCount).toBe(2);
    expect(all.nodes.map((n) => n.userName)).toEqual(['a@tree.test', 'b@tree.test']);
    const p1 = dataOf(await t.gql(DirectReportsPageDocument, { id: root, first: 1 })).user!.directReports;
    expect(p1.nodes.map((n) => n.userName)).toEqual(['a@tree.test']);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = dataOf(await t.gql(DirectReportsPageDocument, { id: root, first: 1, after: p1.pageInfo.endCursor })).user!.directReports;
    expect(p2.nodes.map((n) => n.userName)).toEqual(['b@tree.test']);
    expect(p2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = dataOf(await t.gql(DirectReportsPageDocument, { id: root, last: 1 })).user!.directReports;
    expect(back.nodes.map((n) => n.userName)).toEqual(['b@tree.test']);
  });

  it('subtree lists everyone below with depth, nearest levels first', async () => {
    const tree = await subtree({ id: root, maxDepth: 8, first: 100 });
    expect(tree.totalCount).toBe(6);
    expect(tree.edges.map((e) => e.depth)).toEqual([1, 1, 2, 2, 2, 3]);
    expect(tree.edges.map((e) => e.node.userName).sort()).toEqual([...names].sort());
    expect(tree.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it('subtree honours maxDepth and activeOnly', async () => {
    const one = await subtree({ id: root, maxDepth: 1, first: 100 });
    expect(one.totalCount).toBe(2);
    expect(one.edges.every((e) => e.depth === 1)).toBe(true);
    const two = await subtree({ id: root, maxDepth: 2, first: 100 });
    expect(two.totalCount).toBe(5);
    const active = await subtree({ id: root, maxDepth: 8, first: 100, activeOnly: true });
    expect(active.edges.map((e) => e.node.userName)).not.toContain('b1@tree.test');
    expect(active.totalCount).toBe(5);
  });

  it('subtree pages with first/after and the pages add up to the whole tree', async () => {
    const whole = (await subtree({ id: root, maxDepth: 8, first: 100 })).edges.map((e) => e.node.userName);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page = await subtree({ id: root, maxDepth: 8, first: 4, after });
      expect(page.totalCount).toBe(6);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...page.edges.map((e) => e.node.userName));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(whole);
    // A cursor at the very end gives an empty page that still knows the total.
    const end = await subtree({
      id: root,
      maxDepth: 8,
      first: 4,
      after: (await subtree({ id: root, maxDepth: 8, first: 100 })).pageInfo.endCursor,
    });
    expect(end.edges).toEqual([]);
    expect(end.totalCount).toBe(6);
  });

  it('the subtree of a leaf is empty', async () => {
    const tree = await subtree({ id: leaf, maxDepth: 8, first: 10 });
    expect(tree).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it.each([
    ['maxDepth 0', { maxDepth: 0 }],
    ['maxDepth 51', { maxDepth: 51 }],
    ['first 101', { maxDepth: 8, first: 101 }],
    ['a bad cursor', { maxDepth: 8, after: 'garbage' }],
  ])('subtree refuses %s with INVALID_INPUT', async (_label, vars) => {
    const res = await t.gql(SubtreePageDocument, { id: root, ...vars } as SubtreePageQueryVariables);
    expectGraphqlError(res, 'INVALID_INPUT');
  });
});
