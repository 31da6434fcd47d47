// A users page reads only the columns its query selects (graphql/projection.ts), and each node's manager in
// the columns selected under `manager`. These tests hold that to the whole row's answer, field by field.
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, dataOf } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface IntrospectedField {
  name: string;
  args: Array<{ name: string; type: TypeRef }>;
  type: TypeRef;
}

const named = (ref: TypeRef): TypeRef => (ref.ofType ? named(ref.ofType) : ref);

/** Every field of every object type, by type name (introspection). */
let types: Map<string, IntrospectedField[]>;

/** A selection of `field`: a leaf as it is; an object with its leaf fields; a connection with its totalCount and nodes' ids. */
function selectionOf(field: IntrospectedField): string {
  const args = field.name === 'directReports' || field.name === 'subtree' || field.name === 'auditTrail' ? '(first: 5)' : '';
  const type = named(field.type);
  if (type.kind === 'SCALAR' || type.kind === 'ENUM') return field.name;
  const inner = (types.get(type.name as string) ?? [])
    .filter((f) => f.args.every((a) => a.type.kind !== 'NON_NULL'))
    .map((f) => {
      const t2 = named(f.type);
      if (t2.kind === 'SCALAR' || t2.kind === 'ENUM') return f.name;
      if (f.name === 'nodes') return 'nodes { id }';
      if (f.name === 'edges') return 'edges { cursor node { id } }';
      return null;
    })
    .filter(Boolean);
  return `${field.name}${args} { ${inner.join(' ')} }`;
}

let ids: string[];

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  const intro = dataOf(
    await t.raw<{ __schema: { types: Array<{ name: string; kind: string; fields: IntrospectedField[] | null }> } }>(
      `{ __schema { types { name kind fields { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
         type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`,
    ),
  );
  types = new Map(intro.__schema.types.filter((x) => x.fields).map((x) => [x.name, x.fields as IntrospectedField[]]));

  const mutate = async (query: string, variables: Record<string, unknown>) => {
    const data = dataOf(await t.raw<Record<string, { userErrors: unknown[] } & Record<string, { id: string }>>>(query, variables));
    const payload = Object.values(data)[0];
    expect(payload.userErrors).toEqual([]);
    return payload;
  };
  await mutate(`mutation($i: DeclareCustomAttributeInput!) { declareCustomAttribute(input: $i) { userErrors { code } } }`, {
    i: { name: 'costCode', type: 'string' },
  });
  const labs = await mutate(`mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }`, {
    i: { name: 'Labs' },
  });
  const team = await mutate(`mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }`, {
    i: { name: 'Research', description: 'Engines', parentId: (labs.team as { id: string }).id },
  });
  const role = await mutate(`mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } userErrors { code } } }`, {
    i: { displayName: 'Analysts' },
  });
  const create = (userName: string, more: Record<string, unknown>) =>
    mutate(`mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code } } }`, {
      i: {
        userName,
        externalId: `ext-${userName}`,
        name: { givenName: 'Given', familyName: userName, middleName: 'M', formatted: 'F', honorificPrefix: 'Dr', honorificSuffix: 'III' },
        displayName: `Display ${userName}`,
        nickName: 'Nick',
        profileUrl: 'https://example.test/p',
        title: 'Analyst',
        userType: 'Employee',
        preferredLanguage: 'en-GB',
        locale: 'en-GB',
        timezone: 'Europe/London',
        emails: [{ value: `${userName}@example.test`, type: 'work', primary: true }],
        phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }],
        addresses: [{ streetAddress: '1 Sq', locality: 'London', country: 'GB', type: 'work', primary: true }],
        employeeNumber: 'E-1',
        costCenter: 'CC',
        organization: 'Org',
        division: 'Div',
        teamId: (team.team as { id: string }).id,
        customAttributes: { costCode: 'X-1' },
        ...more,
      },
    });
  const boss = ((await create('boss', {})).user as { id: string }).id;
  const mid = ((await create('mid', { manager: { id: boss } })).user as { id: string }).id;
  const leaf = ((await create('leaf', { manager: { id: mid } })).user as { id: string }).id;
  // a manager reference still waiting for its user
  const pending = ((await create('pending', { manager: { externalId: 'not-yet' } })).user as { id: string }).id;
  ids = [boss, mid, leaf, pending];
  await mutate(`mutation($r: ID!, $u: [ID!]!) { assignRole(roleId: $r, userIds: $u) { userErrors { code } } }`, {
    r: (role.role as { id: string }).id,
    u: [mid, leaf],
  });
  await mutate(`mutation($id: ID!) { deactivateUser(id: $id) { userErrors { code } } }`, { id: leaf });
});
afterAll(() => app.close());

/** Each user's answer to `selection` through a users page (projected) and through user(id) (whole rows), by id. */
async function bothWays(selection: string) {
  const page = dataOf(await t.raw<{ users: { nodes: Array<{ id: string }> } }>(`{ users(first: 100) { nodes { id ${selection} } } }`));
  const aliases = ids.map((id, i) => `u${i}: user(id: ${JSON.stringify(id)}) { id ${selection} }`).join(' ');
  const one = dataOf(await t.raw<Record<string, { id: string }>>(`{ ${aliases} }`));
  const byId = (list: Array<{ id: string }>) => new Map(list.map((u) => [u.id, u]));
  return { projected: byId(page.users.nodes), whole: byId(Object.values(one)) };
}

describe('a users page reads only what its query selects', () => {
  it('answers every field of User as the whole row does, on the node and on its manager', async () => {
    const fields = types.get('User') as IntrospectedField[];
    expect(fields.length).toBeGreaterThan(30);
    for (const field of fields) {
      const sel = selectionOf(field);
      const { projected, whole } = await bothWays(`${sel} manager { id ${sel} }`);
      expect({ field: field.name, users: projected.size }).toEqual({ field: field.name, users: ids.length });
      for (const [id, answer] of whole) expect({ field: field.name, answer: projected.get(id) }).toEqual({ field: field.name, answer });
    }
  });

  it("answers every field of a node's Team as the whole row does", async () => {
    const fields = types.get('Team') as IntrospectedField[];
    expect(fields.length).toBeGreaterThan(8);
    for (const field of fields) {
      const sel = selectionOf(field);
      const { projected, whole } = await bothWays(`team { id ${sel} } manager { team { ${sel} } }`);
      expect({ field: field.name, users: projected.size }).toEqual({ field: field.name, users: ids.length });
      for (const [id, answer] of whole) expect({ field: field.name, answer: projected.get(id) }).toEqual({ field: field.name, answer });
    }
  });

  it("answers every field of User in a subtree's nodes as the whole row does", async () => {
    for (const field of types.get('User') as IntrospectedField[]) {
      const sel = selectionOf(field);
      const tree = dataOf(
        await t.raw<{ user: { subtree: { edges: Array<{ node: { id: string } }> } } }>(
          `{ user(id: ${JSON.stringify(ids[0])}) { subtree(first: 100) { edges { depth node { id ${sel} } } } } }`,
        ),
      );
      const nodes = tree.user.subtree.edges.map((e) => e.node);
      expect({ field: field.name, people: nodes.length }).toEqual({ field: field.name, people: 2 });
      const { whole } = await bothWays(sel);
      for (const node of nodes) expect({ field: field.name, answer: node }).toEqual({ field: field.name, answer: whole.get(node.id) });
    }
  });

  it('follows fragments and aliases, and reads a manager of a manager through the loader', async () => {
    const sel = `...F alias: userName manager { ... on User { displayName manager { emails { value } customAttributes } } }`;
    const page = dataOf(
      await t.raw<{ users: { edges: Array<{ node: { id: string } }> } }>(
        `{ users(first: 100) { edges { node { id ${sel} } } } } fragment F on User { title name { familyName } }`,
      ),
    );
    const one = dataOf(
      await t.raw<Record<string, { id: string }>>(
        `{ ${ids.map((id, i) => `u${i}: user(id: ${JSON.stringify(id)}) { id ${sel} }`).join(' ')} } fragment F on User { title name { familyName } }`,
      ),
    );
    const leaf = page.users.edges.map((e) => e.node).find((n) => (n as { alias?: string }).alias === 'leaf');
    expect(leaf).toMatchObject({
      title: 'Analyst',
      name: { familyName: 'leaf' },
      manager: { displayName: 'Display mid', manager: { emails: [{ value: 'boss@example.test' }], customAttributes: { costCode: 'X-1' } } },
    });
    expect(new Map(page.users.edges.map((e) => [e.node.id, e.node]))).toEqual(new Map(Object.values(one).map((u) => [u.id, u])));
  });

  it('keeps a manager read in part out of the rest of the query: the same user read later is whole', async () => {
    // reportingChain loads its users after the page has read their managers (userName only)
    const res = dataOf(
      await t.raw<{ users: { nodes: Array<{ userName: string; manager: { userName: string } | null; reportingChain: unknown[] }> } }>(
        `{ users(first: 100) { nodes { userName manager { userName } reportingChain { userName title emails { value } } } } }`,
      ),
    );
    const leaf = res.users.nodes.find((n) => n.userName === 'leaf');
    expect(leaf?.manager).toEqual({ userName: 'mid' });
    expect(leaf?.reportingChain).toEqual([
      { userName: 'mid', title: 'Analyst', emails: [{ value: 'mid@example.test' }] },
      { userName: 'boss', title: 'Analyst', emails: [{ value: 'boss@example.test' }] },
    ]);
  });
});
