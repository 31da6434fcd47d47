import { CreateUserDocument, OrgOfUserDocument, UsersWithManagerAndTeamDocument } from '../../__generated__/graphql.js';
import { measureSql } from '../../setup/sql-counter.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

async function create(input: Parameters<TestTenant['gql']>[1] & object) {
  const res = await t.gql(CreateUserDocument, { input } as never);
  const payload = res.data!.createUser;
  expect(payload.userErrors).toEqual([]);
  return payload.user!;
}

describe('manager backfill', () => {
  it('links reports created before their manager (by externalId), several levels, in the same request', async () => {
    const ic1 = await create({ userName: 'ic1@acme.test', manager: { externalId: 'MGR-1' } });
    const ic2 = await create({ userName: 'ic2@acme.test', manager: { externalId: 'MGR-1' } });
    expect(ic1.manager).toBeNull();
    expect(ic1.pendingManagerRef).toBe('MGR-1');
    const mgr = await create({ userName: 'mgr@acme.test', externalId: 'MGR-1', manager: { externalId: 'VP-1' } });
    const vp = await create({ userName: 'vp@acme.test', externalId: 'VP-1' });

    const org = await t.gql(OrgOfUserDocument, { id: vp.id, maxDepth: 8 });
    const subtree = org.data!.user!.subtree;
    expect(subtree.totalCount).toBe(3);
    expect(subtree.edges.map((e) => [e.depth, e.node.userName])).toEqual([
      [1, 'mgr@acme.test'],
      [2, 'ic1@acme.test'],
      [2, 'ic2@acme.test'],
    ]);
    const chain = await t.gql(OrgOfUserDocument, { id: ic2.id, maxDepth: 8 });
    expect(chain.data!.user!.reportingChain.map((u) => u.userName)).toEqual(['mgr@acme.test', 'vp@acme.test']);
    expect(mgr.pendingManagerRef).toBe('VP-1');
  });
});

describe('batching', () => {
  it('users → manager → team costs the same number of SQL statements for 10 and for 100 users', async () => {
    const tenant = await app.createTenant();
    const boss = (await tenant.gql(CreateUserDocument, { input: { userName: 'boss@x.test', department: 'Exec' } })).data!.createUser.user!;
    for (let i = 0; i < 100; i++) {
      const r = await tenant.gql(CreateUserDocument, {
        input: { userName: `u${i}@x.test`, department: `Dept ${i % 7}`, manager: { id: boss.id } },
      });
      expect(r.data!.createUser.userErrors).toEqual([]);
    }
    const measure = async (first: number) => {
      let nodes = 0;
      const { statements } = await measureSql(app, async () => {
        const res = await tenant.gql(UsersWithManagerAndTeamDocument, { first });
        nodes = res.data!.users.nodes.length;
        expect(res.data!.users.nodes.filter((n) => n.userName !== 'boss@x.test').every((n) => n.manager?.userName === 'boss@x.test')).toBe(
          true,
        );
        // a query's commit follows its response within a few milliseconds (infra/db/lazy-begin.ts): count it too
        await new Promise((r) => setTimeout(r, 50));
      });
      expect(nodes).toBe(first);
      return statements;
    };
    const small = await measure(10);
    const large = await measure(100);
    // The counter must see the statements: the door with the transaction's start, the page (which brings the
    // managers and teams the query selects), the commit; at most one batch per level otherwise.
    expect(small).toBeGreaterThanOrEqual(3);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(12);
  });
});
