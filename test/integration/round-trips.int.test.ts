import { toGlobalId } from '../../src/graphql/ids.js';
import { ENTERPRISE, USER_SCHEMA, patchOp, scimClient, type ScimClient } from '../setup/scim-client.js';
import { quiet, statementsOf as statementsAfterQuiet } from '../setup/sql-counter.js';
import { startTestApp, type TestApp, type TestTenant } from '../setup/test-app.js';

/**
 * What the common requests cost in statements (each one a round trip to PostgreSQL), read off the ORM's
 * own pg client, and the behaviour the savings must not change (issue 4, docs/performance.md).
 */
let app: TestApp;
let t: TestTenant;
let scim: ScimClient;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  scim = scimClient(app.baseUrl, t.scimToken);
  const declared = await t.raw(`mutation { declareCustomAttribute(input: { name: "badge", type: integer }) { userErrors { message } } }`);
  expect(declared.errors).toBeUndefined();
});
afterAll(() => app.close());

const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA, ENTERPRISE],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  [ENTERPRISE]: { department: 'Engineering' },
  ...extra,
});

/** The statements `fn` caused (sql-counter.ts); never fewer than a request's two (a counter that counted nothing would pass every budget below). */
async function statementsOf(fn: () => Promise<void>) {
  const m = await statementsAfterQuiet(app, fn);
  expect(m.statements).toBeGreaterThanOrEqual(2);
  return m;
}

describe('SCIM requests IdPs send most', () => {
  it('a userName lookup is the door, the transaction, and one statement for the page, its total and relations', async () => {
    const boss = await scim.post('/Users', userBody('rt-boss@x.test'));
    expect(boss.status).toBe(201);
    const ic = await scim.post(
      '/Users',
      userBody('rt-ic@x.test', { [ENTERPRISE]: { department: 'Engineering', manager: { value: boss.body.id } } }),
    );
    expect(ic.status).toBe(201);

    const group = await scim.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'RT Group',
      members: [{ value: ic.body.id }],
    });
    expect(group.status).toBe(201);

    let body: any;
    const hit = await statementsOf(async () => {
      const res = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "RT-IC@x.test"')}`);
      expect(res.status).toBe(200);
      body = res.body;
    });
    expect(body.totalResults).toBe(1);
    expect(body.Resources[0].userName).toBe('rt-ic@x.test');
    expect(body.Resources[0][ENTERPRISE]).toMatchObject({
      department: 'Engineering',
      manager: { value: boss.body.id, displayName: 'Ada Lovelace' },
    });
    expect(body.Resources[0].groups).toEqual([expect.objectContaining({ value: group.body.id, display: 'RT Group' })]);
    // the door with begin + enter (with the schema), the page with its total and relations, commit (deferred:
    // with the connection's next statement, or alone 5 ms later)
    expect(hit.statements).toBeLessThanOrEqual(3);
    expect(hit.sql.filter((q) => /roster_door/.test(q))).toEqual([expect.stringMatching(/roster_enter_door/)]);
    expect(hit.sql.some((q) => /roster_door/.test(q))).toBe(true);
    expect(hit.sql.filter((q) => /count\(\*\)/.test(q) && !/over \(\)/.test(q))).toEqual([]);
    expect(hit.sql.filter((q) => /custom_attributes/.test(q) && !/roster_enter/.test(q))).toEqual([]);

    const miss = await statementsOf(async () => {
      const res = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "nobody@x.test"')}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
    });
    expect(miss.statements).toBeLessThanOrEqual(3);
  });

  it('a page past the end still reports the total', async () => {
    const all = await scim.get('/Users?count=1');
    const total = all.body.totalResults as number;
    expect(total).toBeGreaterThanOrEqual(2);
    const past = await scim.get(`/Users?startIndex=${total + 5}&count=10`);
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ totalResults: total, startIndex: total + 5, itemsPerPage: 0, Resources: [] });
    const last = await scim.get(`/Users?startIndex=${total}&count=10`);
    expect(last.body).toMatchObject({ totalResults: total, itemsPerPage: 1 });
  });

  it('an Entra PATCH neither reads the tenant schema again nor the user more than twice', async () => {
    const u = await scim.post('/Users', userBody('rt-patch@x.test'));
    expect(u.status).toBe(201);
    // Entra moves people between departments that exist (the first person of a department creates its team)
    expect((await scim.post('/Users', userBody('rt-research@x.test', { [ENTERPRISE]: { department: 'Research' } }))).status).toBe(201);
    const m = await statementsOf(async () => {
      const res = await scim.patch(
        `/Users/${u.body.id}`,
        patchOp(
          { op: 'Replace', path: 'title', value: 'Engineer' },
          { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Research' },
        ),
      );
      expect(res.status).toBe(204);
    });
    // the user with its relations (one statement), then the user locked by the update
    expect(m.sql.filter((q) => /from users u where u\.tenant_id = \$1 and u\.id = \$2::uuid/.test(q) && /_team_name/.test(q))).toHaveLength(
      1,
    );
    // … the locking read a prepared statement of the connection (the ORM's own was planned on every PATCH)
    expect(
      m.sql.filter((q) =>
        /from users u where u\.tenant_id = \$1 and u\.id = \$2::uuid and u\.deleted_at is null for no key update$/.test(q),
      ),
    ).toEqual([expect.stringMatching(/^\/\* roster:prepared \*\//)]);
    expect(m.sql.filter((q) => /^select "u0"\.\* from "users"/.test(q))).toEqual([]);
    expect(m.sql.filter((q) => /^select u\.id, u\.team_id, u\.manager_id/.test(q))).toEqual([]);
    // door + begin + enter, the user with its relations, the user locked, the team by name, update, then the
    // audit row (its trigger writes the webhook outbox row) with the commit (a deferred write, lazy-begin.ts)
    expect(m.statements).toBeLessThanOrEqual(6);
    expect(m.sql.filter((q) => /insert into audit_events[\s\S]*; commit$/.test(q))).toHaveLength(1);
    expect(m.sql.filter((q) => /webhook_events/.test(q))).toEqual([]);
    const after = await scim.get(`/Users/${u.body.id}`);
    expect(after.body).toMatchObject({ title: 'Engineer', [ENTERPRISE]: { department: 'Research' } });
  });

  it('a create answers with its team and manager names as its own statements read them, without reading its relations', async () => {
    const boss = await scim.post('/Users', userBody('rt-create-boss@x.test', { displayName: 'Grace Hopper' }));
    expect(boss.status).toBe(201);
    // the team exists as "Engineering": a department in another case names it, and the answer says how it is stored
    const m = await statementsOf(async () => {
      const res = await scim.post(
        '/Users',
        userBody('rt-create@x.test', { [ENTERPRISE]: { department: 'ENGINEERING', manager: { value: boss.body.id } } }),
      );
      expect(res.status).toBe(201);
      expect(res.body[ENTERPRISE]).toEqual({
        department: 'Engineering',
        manager: { value: boss.body.id, $ref: expect.any(String), displayName: 'Grace Hopper' },
      });
      expect(res.body.groups).toBeUndefined();
    });
    expect(m.sql.filter((q) => /^select u\.id, u\.team_id, u\.manager_id/.test(q))).toEqual([]);
    // door + begin + enter, the team by name with the manager, insert, backfill, then the audit row with the commit
    expect(m.statements).toBeLessThanOrEqual(5);
    expect(m.sql.filter((q) => /insert into audit_events[\s\S]*; commit$/.test(q))).toHaveLength(1);
    expect(m.sql.filter((q) => /insert into teams/.test(q) && /json_build_object\('id', u\.id/.test(q))).toHaveLength(1);
    // what a later read says is what the create answered
    const created = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "rt-create@x.test"')}`);
    expect(created.body.Resources[0][ENTERPRISE]).toEqual({
      department: 'Engineering',
      manager: { value: boss.body.id, $ref: expect.any(String), displayName: 'Grace Hopper' },
    });
  });

  it('a create validates custom values against the schema read on entering the tenant', async () => {
    const urn = `urn:roster:params:scim:schemas:extension:${t.slug}:2.0:User`;
    const m = await statementsOf(async () => {
      const res = await scim.post(
        '/Users',
        userBody('rt-custom@x.test', { schemas: [USER_SCHEMA, ENTERPRISE, urn], [urn]: { badge: '42' } }),
      );
      expect(res.status).toBe(201);
      expect(res.body[urn]).toEqual({ badge: 42 });
    });
    expect(m.sql.filter((q) => /custom_attributes/.test(q) && !/roster_enter/.test(q))).toEqual([]);
    const bad = await scim.post(
      '/Users',
      userBody('rt-custom2@x.test', { schemas: [USER_SCHEMA, ENTERPRISE, urn], [urn]: { badge: 'x' } }),
    );
    expect(bad.status).toBe(400);
  });
});

describe('GraphQL users connection', () => {
  it('counts only when totalCount is selected', async () => {
    const page = await statementsOf(async () => {
      const res = await t.raw<any>(`{ users(first: 2) { nodes { userName } } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.users.nodes).toHaveLength(2);
    });
    expect(page.sql.filter((q) => /count\(\*\)/.test(q))).toEqual([]);

    const counted = await t.raw<any>(`{ users(first: 2) { totalCount nodes { userName } } }`);
    const viaScim = await scim.get('/Users?count=0');
    expect(viaScim.body.totalResults).toBeGreaterThanOrEqual(2);
    expect(counted.data.users.totalCount).toBe(viaScim.body.totalResults);
  });

  it('orders by name as before: display name, else given and family name, else userName; case-insensitive', async () => {
    const other = await app.createTenant();
    const mk = async (input: Record<string, unknown>) => {
      const res = await other.raw<any>(`mutation ($input: CreateUserInput!) { createUser(input: $input) { userErrors { message } } }`, {
        input,
      });
      expect(res.errors).toBeUndefined();
      expect(res.data.createUser.userErrors).toEqual([]);
    };
    await mk({ userName: 'z1@x.test', displayName: 'zed' });
    await mk({ userName: 'z2@x.test', name: { givenName: 'Amy', familyName: 'Brown' } });
    await mk({ userName: 'z3@x.test', name: { givenName: 'Bea' } });
    await mk({ userName: 'z4@x.test', name: { familyName: 'Cole' } });
    await mk({ userName: 'Dan@x.test' });
    await mk({ userName: 'z5@x.test', displayName: 'Eve', name: { givenName: 'Aaron' } });
    const names = async (extra: string) =>
      (await other.raw<any>(`{ users(first: 3${extra}) { nodes { userName } pageInfo { endCursor } } }`)).data.users as any;
    const first = await names('');
    expect(first.nodes.map((n: { userName: string }) => n.userName)).toEqual(['z2@x.test', 'z3@x.test', 'z4@x.test']);
    const next = await names(`, after: "${first.pageInfo.endCursor}"`);
    expect(next.nodes.map((n: { userName: string }) => n.userName)).toEqual(['Dan@x.test', 'z5@x.test', 'z1@x.test']);
    const desc = await other.raw<any>(`{ users(first: 1, orderBy: { field: NAME, descending: true }) { nodes { userName } } }`);
    expect(desc.errors).toBeUndefined();
    expect(desc.data.users.nodes[0].userName).toBe('z1@x.test');
    // A change of name moves the user: the database keeps the key with the row.
    const z1 = (await other.raw<any>(`{ users(first: 1, orderBy: { field: NAME, descending: true }) { nodes { id } } }`)).data.users
      .nodes[0].id;
    const renamed = await other.raw<any>(
      `mutation ($id: ID!) { updateUser(id: $id, input: { displayName: "Aardvark" }) { userErrors { message } } }`,
      {
        id: z1,
      },
    );
    expect(renamed.data.updateUser.userErrors).toEqual([]);
    expect((await names('')).nodes[0].userName).toBe('z1@x.test');
  });
});

describe('a GraphQL users page with managers and teams', () => {
  it('reads them with the page, in one statement, by any selection path; a mutation leaves them to the loaders', async () => {
    const other = await app.createTenant();
    const so = scimClient(app.baseUrl, other.scimToken);
    const boss = await so.post('/Users', userBody('la-boss@x.test', { displayName: 'Boss', [ENTERPRISE]: { department: 'Sales' } }));
    const gone = await so.post('/Users', userBody('la-gone@x.test', { [ENTERPRISE]: { department: 'Sales' } }));
    for (const [u, m] of [
      ['la-a@x.test', boss.body.id],
      ['la-b@x.test', gone.body.id],
    ])
      expect((await so.post('/Users', userBody(u, { [ENTERPRISE]: { department: 'Support', manager: { value: m } } }))).status).toBe(201);
    expect((await so.post('/Users', userBody('la-c@x.test', { [ENTERPRISE]: {} }))).status).toBe(201);
    expect((await so.delete(`/Users/${gone.body.id}`)).status).toBe(204);

    const expected = {
      'la-a@x.test': { manager: { userName: 'la-boss@x.test', displayName: 'Boss' }, team: { __typename: 'Team', name: 'Support' } },
      'la-b@x.test': { manager: null, team: { __typename: 'Team', name: 'Support' } },
      'la-boss@x.test': { manager: null, team: { __typename: 'Team', name: 'Sales' } },
      'la-c@x.test': { manager: null, team: null },
    };
    const shapes = [
      `{ users(first: 10) { nodes { userName manager { userName displayName } team { __typename name } } } }`,
      `{ users(first: 10) { edges { node { ...U } } } } fragment U on User { userName ... on User { manager { userName displayName } team { __typename name } } }`,
    ];
    // the first GraphQL request of a tenant looks up its slug for the access log, once, after its response
    expect((await other.raw<any>(`{ users(first: 1) { nodes { id } } }`)).errors).toBeUndefined();
    await quiet(app);
    for (const query of shapes) {
      let res: any;
      const m = await statementsOf(async () => {
        res = await other.raw<any>(query);
      });
      expect(res.errors).toBeUndefined();
      const nodes = res.data.users.nodes ?? res.data.users.edges.map((e: { node: unknown }) => e.node);
      expect(Object.fromEntries(nodes.map(({ userName, ...rest }: any) => [userName, rest]))).toEqual(expected);
      // door + begin + enter, the page with managers and teams, commit
      expect(m.statements).toBeLessThanOrEqual(3);
      expect(m.sql.filter((q) => /from teams/.test(q) && !/row_to_json/.test(q))).toEqual([]);
    }

    // a subtree page reads its people in its own statement: door + begin + enter, the root user (loader), the page, commit
    let tree: any;
    const t2 = await statementsOf(async () => {
      tree = await other.raw<any>(
        `query ($id: ID!) { user(id: $id) { subtree(first: 10) { totalCount edges { depth node { userName } } } } }`,
        {
          id: toGlobalId('User', boss.body.id),
        },
      );
    });
    expect(tree.errors).toBeUndefined();
    expect(tree.data.user.subtree).toEqual({ totalCount: 1, edges: [{ depth: 1, node: { userName: 'la-a@x.test' } }] });
    expect(t2.statements).toBeLessThanOrEqual(4);

    // a team read through the page is a Team to the Node interface as well
    const teamId = (await other.raw<any>(`{ users(first: 1) { nodes { team { id } } } }`)).data.users.nodes[0].team.id;
    const node = await other.raw<any>(`query ($id: ID!) { node(id: $id) { __typename ... on Team { name } } }`, { id: teamId });
    expect(node.data.node).toEqual({ __typename: 'Team', name: expect.any(String) });

    const mutation = await other.raw<any>(
      `mutation ($id: ID!) { updateUser(id: $id, input: { title: "Lead" }) { user { directReports(first: 5) { nodes { userName manager { userName } team { name } } } } } }`,
      { id: toGlobalId('User', boss.body.id) },
    );
    expect(mutation.errors).toBeUndefined();
    expect(mutation.data.updateUser.user.directReports.nodes).toEqual([
      { userName: 'la-a@x.test', manager: { userName: 'la-boss@x.test' }, team: { name: 'Support' } },
    ]);
  });
});

describe('custom attributes declared and used in one request', () => {
  it('sees the declaration made earlier in the same transaction', async () => {
    const other = await app.createTenant();
    const created = await other.raw<any>(
      `mutation { createUser(input: { userName: "same-tx@x.test" }) { user { id } userErrors { message } } }`,
    );
    const id = created.data.createUser.user.id;
    const res = await other.raw<any>(
      `mutation ($id: ID!) {
         a: declareCustomAttribute(input: { name: "floor", type: integer }) { userErrors { message } }
         b: updateUser(id: $id, input: { customAttributes: { floor: 3 } }) { user { customAttributes } userErrors { message } }
       }`,
      { id },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.a.userErrors).toEqual([]);
    expect(res.data.b.userErrors).toEqual([]);
    expect(res.data.b.user.customAttributes).toEqual({ floor: 3 });
  });
});

describe('GraphQL objects a request loads once', () => {
  it('a query reads users as views; a mutation later in the same document sees what an earlier one changed', async () => {
    const other = await app.createTenant();
    const mk = async (userName: string) =>
      (await other.raw<any>(`mutation ($u: String!) { createUser(input: { userName: $u }) { user { id } } }`, { u: userName })).data
        .createUser.user.id as string;
    const boss = await mk('boss@views.test');
    const report = await mk('report@views.test');
    const first = await other.raw<any>(
      `mutation ($boss: ID!, $report: ID!) {
         a: setManager(userId: $report, manager: { id: $boss }) { user { manager { displayName } } }
         b: updateUser(id: $boss, input: { displayName: "The Boss" }) { user { id } }
         c: setManager(userId: $report, manager: { id: $boss }) { user { manager { displayName } } }
       }`,
      { boss, report },
    );
    expect(first.errors).toBeUndefined();
    expect(first.data.a.user.manager.displayName).toBeNull();
    expect(first.data.c.user.manager.displayName).toBe('The Boss');
    const read = await other.raw<any>(`query ($id: ID!) { node(id: $id) { __typename ... on User { manager { displayName } } } }`, {
      id: report,
    });
    expect(read.errors).toBeUndefined();
    expect(read.data.node).toEqual({ __typename: 'User', manager: { displayName: 'The Boss' } });
  });
});

describe('the unfiltered total an import reads on every page', () => {
  it('is kept exact through concurrent creates and deletions, per tenant, without counting the users', async () => {
    const a = await app.createTenant();
    const b = await app.createTenant();
    const sa = scimClient(app.baseUrl, a.scimToken);
    const sb = scimClient(app.baseUrl, b.scimToken);
    const total = async (s: ScimClient) => (await s.get('/Users?count=1')).body.totalResults as number;
    const counted = async (s: ScimClient) => (await s.get(`/Users?count=0&filter=${encodeURIComponent('userName pr')}`)).body.totalResults;
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => sa.post('/Users', userBody(`count-${i}@x.test`))));
    expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
    expect((await sb.post('/Users', userBody('other@x.test'))).status).toBe(201);
    expect(await total(sa)).toBe(24);
    expect(await counted(sa)).toBe(24);
    expect(await total(sb)).toBe(1);

    // deleted users leave the total; a refused create (taken userName) changes nothing
    for (const r of made.slice(0, 5)) expect((await sa.delete(`/Users/${r.body.id}`)).status).toBe(204);
    expect((await sa.post('/Users', userBody('count-7@x.test'))).status).toBe(409);
    expect(await total(sa)).toBe(19);
    expect(await counted(sa)).toBe(19);
    const last = await sa.get('/Users?startIndex=19&count=5');
    expect(last.body).toMatchObject({ totalResults: 19, itemsPerPage: 1 });

    const m = await statementsOf(async () => {
      expect(await total(sa)).toBe(19);
      expect((await a.raw<any>(`{ users(first: 1) { totalCount } }`)).data.users.totalCount).toBe(19);
    });
    expect(m.sql.filter((q) => /count\(\*\)/.test(q))).toEqual([]);
  });
});

describe("an Okta import's index pages", () => {
  const ids = (res: { body: { Resources: Array<{ id: string }> } }) => res.body.Resources.map((r) => r.id);

  it('continue after the previous page instead of skipping startIndex - 1 users, while no one joins or leaves', async () => {
    const a = await app.createTenant();
    const b = await app.createTenant();
    const sa = scimClient(app.baseUrl, a.scimToken);
    const sb = scimClient(app.baseUrl, b.scimToken);
    for (let i = 0; i < 25; i++) expect((await sa.post('/Users', userBody(`import-${i}@x.test`))).status).toBe(201);
    for (let i = 0; i < 12; i++) expect((await sb.post('/Users', userBody(`other-import-${i}@x.test`))).status).toBe(201);
    const all = ids(await sa.get('/Users?count=100'));
    expect(all).toHaveLength(25);

    expect(ids(await sa.get('/Users?startIndex=1&count=10'))).toEqual(all.slice(0, 10));
    let second: any;
    const m = await statementsOf(async () => {
      second = await sa.get('/Users?startIndex=11&count=10');
    });
    expect(second.body).toMatchObject({ totalResults: 25, startIndex: 11, itemsPerPage: 10 });
    expect(ids(second)).toEqual(all.slice(10, 20));
    const page = m.sql.filter((q) => /from users u/.test(q));
    expect(page).toHaveLength(1);
    expect(page[0]).toMatch(/u\.id > /);
    expect(page[0]).not.toMatch(/offset/);
    expect(m.statements).toBeLessThanOrEqual(4);

    // another tenant at the same position has its own users, from its own offset
    const other = await sb.get('/Users?startIndex=11&count=10');
    expect(other.body).toMatchObject({ totalResults: 12, itemsPerPage: 2 });
    expect(ids(other).every((id) => !all.includes(id))).toBe(true);

    // someone on the first page leaves: every later position moves up by one, and the import sees that
    expect((await sa.delete(`/Users/${all[3]}`)).status).toBe(204);
    const now = all.filter((_, i) => i !== 3);
    let third: any;
    const moved = await statementsOf(async () => {
      third = await sa.get('/Users?startIndex=21&count=10');
    });
    expect(third.body).toMatchObject({ totalResults: 24, startIndex: 21, itemsPerPage: 4 });
    expect(ids(third)).toEqual(now.slice(20));
    expect(moved.sql.some((q) => /offset/.test(q))).toBe(true);
  });

  it('take the offset when the next page is asked for first, or out of order', async () => {
    const a = await app.createTenant();
    const sa = scimClient(app.baseUrl, a.scimToken);
    for (let i = 0; i < 8; i++) expect((await sa.post('/Users', userBody(`jump-${i}@x.test`))).status).toBe(201);
    const all = ids(await sa.get('/Users?count=100'));
    expect(ids(await sa.get('/Users?startIndex=5&count=2'))).toEqual(all.slice(4, 6));
    expect(ids(await sa.get('/Users?startIndex=2&count=2'))).toEqual(all.slice(1, 3));
    expect(ids(await sa.get('/Users?startIndex=7&count=5'))).toEqual(all.slice(6));
    // the same page asked twice (an IdP's retry) is the same page
    expect(ids(await sa.get('/Users?startIndex=4&count=3'))).toEqual(all.slice(3, 6));
    expect(ids(await sa.get('/Users?startIndex=4&count=3'))).toEqual(all.slice(3, 6));
    // past the end after a continued page: still the total
    expect(ids(await sa.get('/Users?startIndex=7&count=2'))).toEqual(all.slice(6, 8));
    expect((await sa.get('/Users?startIndex=9&count=2')).body).toMatchObject({ totalResults: 8, itemsPerPage: 0, Resources: [] });
  });
});

describe('reads', () => {
  /** How each request transaction began: the `begin` right before the statement that entered the tenant. */
  const begins = (sql: string[]) => sql.filter((q) => /roster_enter/.test(q)).map((q) => /(begin[^;]*);[^;]*roster_enter/.exec(q)?.[1]);

  it('run in read-only transactions (PostgreSQL refuses a write in them); writes and unclear documents do not', async () => {
    const lookup = await statementsOf(async () => {
      expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "rt-ic@x.test"')}`)).status).toBe(200);
    });
    expect(begins(lookup.sql)).toEqual(['begin read only']);
    const search = await statementsOf(async () => {
      expect(
        (await scim.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 1 })).status,
      ).toBe(200);
    });
    expect(begins(search.sql)).toEqual(['begin read only']);
    const query = await statementsOf(async () => {
      expect((await t.raw(`{ users(first: 1) { nodes { userName } } }`)).errors).toBeUndefined();
    });
    expect(begins(query.sql)).toEqual(['begin read only']);

    const create = await statementsOf(async () => {
      expect((await scim.post('/Users', userBody('rt-readonly@x.test'))).status).toBe(201);
    });
    expect(begins(create.sql)).toEqual(['begin']);
    const unclear = await statementsOf(async () => {
      expect((await t.raw(`{ users(first: 1, filter: { search: "mutation" }) { nodes { userName } } }`)).errors).toBeUndefined();
    });
    expect(begins(unclear.sql)).toEqual(['begin']);
  });

  it('commit shortly after, leaving no connection inside a transaction', async () => {
    const gets = await Promise.all(Array.from({ length: 24 }, () => scim.get('/Users?count=5')));
    expect(gets.map((r) => r.status)).toEqual(gets.map(() => 200));
    let open = -1;
    for (let i = 0; i < 40 && open !== 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const [row] = await app.sql<{ n: string }>(
        `select count(*) as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%' and pid <> pg_backend_pid()`,
      );
      open = Number(row.n);
    }
    expect(open).toBe(0);
  });
});
