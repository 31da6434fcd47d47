import {
  AssignRoleFullDocument,
  CreateFullUserDocument,
  CreateRoleFullDocument,
  DeclareCustomAttributeFullDocument,
  ReadUserDocument,
  UpdateFullUserDocument,
  UserPageDocument,
  type CustomAttributeType,
  type UserOrderField,
  type UserPageQueryVariables,
} from '../../__generated__/graphql.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { allowSlowTests, createUser, dataOf, expectGraphqlError, expectUnchanged, expectUserError, succeeded } from './support.js';

allowSlowTests();

let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  const decls: Array<[string, CustomAttributeType, boolean]> = [
    ['costCode', 'string', false],
    ['level', 'integer', false],
    ['remote', 'boolean', false],
    ['ratio', 'decimal', false],
    ['startDate', 'dateTime', false],
    ['skills', 'string', true],
  ];
  for (const [name, type, multiValued] of decls) {
    succeeded(dataOf(await t.gql(DeclareCustomAttributeFullDocument, { input: { name, type, multiValued } })).declareCustomAttribute);
  }
});
afterAll(() => app.close());

const readUser = async (id: string, tenant = t) => dataOf(await tenant.gql(ReadUserDocument, { id })).user;

describe('createUser', () => {
  it('stores every kind of field: names, lower-cased emails with one primary, phones, addresses, enterprise and custom attributes', async () => {
    const created = await createUser(t, {
      userName: 'Ada.Lovelace@Example.test',
      externalId: 'EXT-ADA',
      name: {
        givenName: 'Ada',
        familyName: 'Lovelace',
        middleName: 'King',
        formatted: 'Ada King Lovelace',
        honorificPrefix: 'Lady',
        honorificSuffix: 'FRS',
      },
      displayName: 'Ada Lovelace',
      nickName: 'Ada',
      profileUrl: 'https://example.test/ada',
      title: 'Analyst',
      userType: 'Employee',
      preferredLanguage: 'en-GB',
      locale: 'en-GB',
      timezone: 'Europe/London',
      emails: [
        { value: 'Ada@Example.TEST', type: 'work', primary: true },
        { value: 'ADA@Home.test', type: 'home', primary: true },
      ],
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }],
      addresses: [
        {
          streetAddress: '12 St James Sq',
          locality: 'London',
          region: 'LDN',
          postalCode: 'SW1Y 4JH',
          country: 'GB',
          type: 'work',
          primary: true,
          formatted: '12 St James Sq, London',
        },
      ],
      employeeNumber: 'E-1815',
      costCenter: 'CC-42',
      organization: 'Analytical Engines Ltd',
      division: 'Research',
      department: 'Engineering',
      customAttributes: {
        costCode: 'X-1',
        level: 7,
        remote: true,
        ratio: 0.75,
        startDate: '2024-01-02T03:04:05Z',
        skills: ['math', 'poetry'],
      },
    });

    const expected = {
      userName: 'Ada.Lovelace@Example.test',
      externalId: 'EXT-ADA',
      name: {
        givenName: 'Ada',
        familyName: 'Lovelace',
        middleName: 'King',
        formatted: 'Ada King Lovelace',
        honorificPrefix: 'Lady',
        honorificSuffix: 'FRS',
      },
      displayName: 'Ada Lovelace',
      nickName: 'Ada',
      profileUrl: 'https://example.test/ada',
      title: 'Analyst',
      userType: 'Employee',
      preferredLanguage: 'en-GB',
      locale: 'en-GB',
      timezone: 'Europe/London',
      active: true,
      deactivatedAt: null,
      emails: [
        { value: 'ada@example.test', type: 'work', primary: true },
        { value: 'ada@home.test', type: 'home', primary: false },
      ],
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }],
      addresses: [
        {
          streetAddress: '12 St James Sq',
          locality: 'London',
          region: 'LDN',
          postalCode: 'SW1Y 4JH',
          country: 'GB',
          type: 'work',
          primary: true,
          formatted: '12 St James Sq, London',
        },
      ],
      employeeNumber: 'E-1815',
      costCenter: 'CC-42',
      organization: 'Analytical Engines Ltd',
      division: 'Research',
      team: { name: 'Engineering' },
      manager: null,
      pendingManagerRef: null,
      roles: [],
      customAttributes: {
        costCode: 'X-1',
        level: 7,
        remote: true,
        ratio: 0.75,
        startDate: '2024-01-02T03:04:05.000Z',
        skills: ['math', 'poetry'],
      },
    };
    expect(created).toMatchObject(expected);
    expect(created.scimId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.version).toBeGreaterThanOrEqual(1);
    // What the mutation returned is what a later read returns.
    expect(await readUser(created.id)).toEqual(created);
  });

  it('coerces custom attribute values the way IdPs send them ("True", "42")', async () => {
    const u = await createUser(t, {
      userName: 'coerce@x.test',
      customAttributes: { remote: 'True', level: '42', ratio: '1.5', skills: 'solo' },
    });
    expect(u.customAttributes).toEqual({ remote: true, level: 42, ratio: 1.5, skills: ['solo'] });
  });

  it('keeps a caller-chosen scimId', async () => {
    const scimId = '0190a0b0-0000-7000-8000-00000000a001';
    const u = await createUser(t, { userName: 'chosen-id@x.test', scimId });
    expect(u.scimId).toBe(scimId);
  });

  it.each([
    ['a custom value of the wrong type', { userName: 'bad1@x.test', customAttributes: { level: 'seven' } }, 'custom.level'],
    ['a non-boolean for a boolean attribute', { userName: 'bad2@x.test', customAttributes: { remote: 'maybe' } }, 'custom.remote'],
    ['a bad dateTime', { userName: 'bad3@x.test', customAttributes: { startDate: 'not a date' } }, 'custom.startDate'],
    ['a list for a single-valued attribute', { userName: 'bad4@x.test', customAttributes: { costCode: ['a', 'b'] } }, 'custom.costCode'],
    ['an undeclared custom attribute', { userName: 'bad5@x.test', customAttributes: { shoeSize: 44 } }, 'custom.shoeSize'],
    ['an email that is not one', { userName: 'bad6@x.test', emails: [{ value: 'not-an-email' }] }, 'emails.0.value'],
    ['an empty userName', { userName: '   ' }, 'userName'],
    ['a scimId that is not a uuid', { userName: 'bad7@x.test', scimId: 'nope' }, 'id'],
    [
      'a manager named twice',
      { userName: 'bad8@x.test', manager: { externalId: 'A', scimId: '0190a0b0-0000-7000-8000-00000000a001' } },
      'manager',
    ],
    ['a manager id that is not a user id', { userName: 'bad9@x.test', manager: { id: 'not-a-global-id' } }, 'manager.id'],
  ])('refuses %s with INVALID_INPUT and creates nothing', async (_label, input, field) => {
    const payload = await expectUnchanged(t, async () => dataOf(await t.gql(CreateFullUserDocument, { input })).createUser);
    expectUserError(payload, 'INVALID_INPUT', { field });
    expect(payload.user).toBeNull();
  });

  it('refuses an unknown teamId with NOT_FOUND and creates nothing', async () => {
    const someUser = await createUser(t, { userName: 'not-a-team@x.test' });
    const payload = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'team-less@x.test', teamId: someUser.id } })).createUser,
    );
    expectUserError(payload, 'NOT_FOUND', { field: 'teamId' });
  });
});

describe('updateUser', () => {
  it('changes every kind of field; omitted fields stay, null and "" clear, custom attributes merge', async () => {
    const u = await createUser(t, {
      userName: 'grace@x.test',
      name: { givenName: 'Grace', familyName: 'Hopper' },
      title: 'Rear Admiral',
      nickName: 'Amazing Grace',
      emails: [{ value: 'grace@navy.test', primary: true }],
      phoneNumbers: [{ value: '+1 555 0100' }],
      addresses: [{ locality: 'Arlington', country: 'US' }],
      costCenter: 'NAVY',
      department: 'Compilers',
      customAttributes: { level: 9, remote: false, skills: ['cobol'] },
    });
    const res = succeeded(
      dataOf(
        await t.gql(UpdateFullUserDocument, {
          id: u.id,
          input: {
            name: { middleName: 'Brewster' },
            title: null,
            nickName: '',
            emails: [
              { value: 'Grace@Yale.TEST', type: 'work' },
              { value: 'g@navy.test', primary: true },
            ],
            phoneNumbers: null,
            addresses: [],
            division: 'Navy',
            department: 'compilers',
            customAttributes: { level: 10, remote: null },
          },
        }),
      ).updateUser,
    );
    const updated = res.user!;
    expect(updated).toMatchObject({
      userName: 'grace@x.test',
      name: { givenName: 'Grace', middleName: 'Brewster', familyName: 'Hopper' },
      title: null,
      nickName: null,
      emails: [
        { value: 'grace@yale.test', type: 'work', primary: false },
        { value: 'g@navy.test', type: null, primary: true },
      ],
      phoneNumbers: [],
      addresses: [],
      costCenter: 'NAVY',
      division: 'Navy',
      team: { id: u.team!.id, name: 'Compilers' },
      customAttributes: { level: 10, skills: ['cobol'] },
    });
    expect(updated.version).toBeGreaterThan(u.version);
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(u.updatedAt));
    expect(await readUser(u.id)).toEqual(updated);
  });

  it('refuses a custom value of the wrong type with INVALID_INPUT and changes nothing', async () => {
    const u = await createUser(t, { userName: 'typed@x.test', customAttributes: { level: 1 } });
    const payload = await expectUnchanged(
      t,
      async () =>
        dataOf(await t.gql(UpdateFullUserDocument, { id: u.id, input: { title: 'new', customAttributes: { level: 1.5 } } })).updateUser,
    );
    expectUserError(payload, 'INVALID_INPUT', { field: 'custom.level' });
    expect(await readUser(u.id)).toEqual(u);
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    const someRole = succeeded(dataOf(await t.gql(CreateRoleFullDocument, { input: { displayName: 'Not a user' } })).createRole).role!;
    for (const id of [someRole.id, 'garbage']) {
      const payload = await expectUnchanged(
        t,
        async () => dataOf(await t.gql(UpdateFullUserDocument, { id, input: { title: 'x' } })).updateUser,
      );
      expectUserError(payload, 'NOT_FOUND');
    }
  });
});

describe('uniqueness', () => {
  it('userName is unique case-insensitively: CONFLICT/USER_NAME_TAKEN on create and on update, nothing changed', async () => {
    const first = await createUser(t, { userName: 'Unique.Person@X.test' });
    const other = await createUser(t, { userName: 'other.person@x.test' });

    const onCreate = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'unique.person@x.TEST' } })).createUser,
    );
    expectUserError(onCreate, 'CONFLICT', { reason: 'USER_NAME_TAKEN', field: 'userName' });
    expect(onCreate.user).toBeNull();

    const onUpdate = await expectUnchanged(
      t,
      async () =>
        dataOf(await t.gql(UpdateFullUserDocument, { id: other.id, input: { userName: 'UNIQUE.PERSON@x.test', title: 'Changed' } }))
          .updateUser,
    );
    expectUserError(onUpdate, 'CONFLICT', { reason: 'USER_NAME_TAKEN' });
    expect(await readUser(other.id)).toEqual(other);
    expect(await readUser(first.id)).toEqual(first);

    // Changing only the case of one's own userName is not a conflict.
    const recased = succeeded(
      dataOf(await t.gql(UpdateFullUserDocument, { id: first.id, input: { userName: 'unique.person@x.test' } })).updateUser,
    );
    expect(recased.user!.userName).toBe('unique.person@x.test');
  });

  it('externalId is unique among users: CONFLICT on create and on update, nothing changed', async () => {
    const holder = await createUser(t, { userName: 'holder@x.test', externalId: 'EXT-UNIQ' });
    const other = await createUser(t, { userName: 'other-ext@x.test', externalId: 'EXT-OTHER' });

    const onCreate = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(CreateFullUserDocument, { input: { userName: 'dup-ext@x.test', externalId: 'EXT-UNIQ' } })).createUser,
    );
    expectUserError(onCreate, 'CONFLICT', { reason: 'EXTERNAL_ID_TAKEN', field: 'externalId' });

    const onUpdate = await expectUnchanged(
      t,
      async () => dataOf(await t.gql(UpdateFullUserDocument, { id: other.id, input: { externalId: 'EXT-UNIQ' } })).updateUser,
    );
    expectUserError(onUpdate, 'CONFLICT', { reason: 'EXTERNAL_ID_TAKEN' });
    expect(await readUser(holder.id)).toEqual(holder);
    expect(await readUser(other.id)).toEqual(other);
  });
});

describe('users list', () => {
  let tl: TestTenant;
  const ids: Record<string, string> = {};
  let salesId: string;
  let roleId: string;

  beforeAll(async () => {
    tl = await app.createTenant();
    const boss = await createUser(tl, { userName: 'boss@x.test', displayName: 'Zed Boss' });
    ids.boss = boss.id;
    const alice = await createUser(tl, {
      userName: 'alice@x.test',
      displayName: 'Alice Archer',
      department: 'Sales',
      manager: { id: boss.id },
    });
    ids.alice = alice.id;
    salesId = alice.team!.id;
    ids.bob = (await createUser(tl, { userName: 'bob@x.test', displayName: 'Bob Baker', department: 'Sales', active: false })).id;
    ids.carol = (
      await createUser(tl, {
        userName: 'carol@x.test',
        name: { givenName: 'Carol', familyName: 'Cole' },
        department: 'Ops',
        manager: { id: boss.id },
      })
    ).id;
    ids.dave = (
      await createUser(tl, {
        userName: 'dave@x.test',
        displayName: 'Dave Dent',
        emails: [{ value: 'dave.d@corp.example', type: 'work', primary: true }],
      })
    ).id;
    ids.percent = (await createUser(tl, { userName: 'per%cent_user', displayName: 'Percent Person' })).id;
    roleId = succeeded(dataOf(await tl.gql(CreateRoleFullDocument, { input: { displayName: 'R1' } })).createRole).role!.id;
    succeeded(dataOf(await tl.gql(AssignRoleFullDocument, { roleId, userIds: [ids.alice, ids.carol] })).assignRole);
  });

  const list = async (vars: UserPageQueryVariables) => dataOf(await tl.gql(UserPageDocument, vars)).users;
  const names = (conn: Awaited<ReturnType<typeof list>>) => conn.edges.map((e) => e.node.userName);

  it('lists every live user of the tenant, ordered by name by default', async () => {
    const all = await list({ first: 100 });
    expect(all.totalCount).toBe(6);
    expect(names(all)).toEqual(['alice@x.test', 'bob@x.test', 'carol@x.test', 'dave@x.test', 'per%cent_user', 'boss@x.test']);
  });

  it.each([
    ['active: true', { active: true }, ['alice@x.test', 'carol@x.test', 'dave@x.test', 'per%cent_user', 'boss@x.test']],
    ['active: false', { active: false }, ['bob@x.test']],
    ['search over display names, case-insensitive', { search: 'ARCHER' }, ['alice@x.test']],
    ['search over given/family names', { search: 'carol cole' }, ['carol@x.test']],
    ['search over userName', { search: 'bob@' }, ['bob@x.test']],
    ['search over email addresses', { search: 'corp.EXAMPLE' }, ['dave@x.test']],
    ['search with % taken literally', { search: '%' }, ['per%cent_user']],
    ['search with _ taken literally', { search: 't_u' }, ['per%cent_user']],
    ['search that matches nobody', { search: 'nobody-at-all' }, []],
  ])('filters by %s', async (_label, filter, expected) => {
    const res = await list({ first: 100, filter });
    expect(names(res)).toEqual(expected);
    expect(res.totalCount).toBe(expected.length);
  });

  it('searches email addresses, not the JSON keys they are stored under', async () => {
    // "value", "type" and "primary" are keys of the stored email objects, not anybody's data.
    for (const search of ['value', 'primary', '"type"']) {
      expect(names(await list({ first: 100, filter: { search } }))).toEqual([]);
    }
  });

  it('filters by team, role and manager, and combines filters', async () => {
    expect(names(await list({ first: 100, filter: { teamId: salesId } }))).toEqual(['alice@x.test', 'bob@x.test']);
    expect(names(await list({ first: 100, filter: { roleId } }))).toEqual(['alice@x.test', 'carol@x.test']);
    expect(names(await list({ first: 100, filter: { managerId: ids.boss } }))).toEqual(['alice@x.test', 'carol@x.test']);
    expect(names(await list({ first: 100, filter: { teamId: salesId, active: true } }))).toEqual(['alice@x.test']);
    expect(names(await list({ first: 100, filter: { roleId, managerId: ids.boss, search: 'carol' } }))).toEqual(['carol@x.test']);
    // An id of the wrong type filters to nothing rather than failing.
    expect((await list({ first: 100, filter: { teamId: ids.alice } })).totalCount).toBe(0);
  });

  it('orders by NAME, CREATED_AT and UPDATED_AT, ascending and descending', async () => {
    const byName = ['alice@x.test', 'bob@x.test', 'carol@x.test', 'dave@x.test', 'per%cent_user', 'boss@x.test'];
    const byCreation = ['boss@x.test', 'alice@x.test', 'bob@x.test', 'carol@x.test', 'dave@x.test', 'per%cent_user'];
    const order = async (field: UserOrderField, descending = false) => names(await list({ first: 100, orderBy: { field, descending } }));
    expect(await order('NAME')).toEqual(byName);
    expect(await order('NAME', true)).toEqual([...byName].reverse());
    expect(await order('CREATED_AT')).toEqual(byCreation);
    expect(await order('CREATED_AT', true)).toEqual([...byCreation].reverse());

    succeeded(dataOf(await tl.gql(UpdateFullUserDocument, { id: ids.bob, input: { title: 'Touched' } })).updateUser);
    const byUpdate = await order('UPDATED_AT');
    expect(byUpdate[byUpdate.length - 1]).toBe('bob@x.test');
    expect((await order('UPDATED_AT', true))[0]).toBe('bob@x.test');
    // Timestamps are non-decreasing in that order.
    const rows = (await list({ first: 100, orderBy: { field: 'UPDATED_AT' } })).edges.map((e) => Date.parse(e.node.updatedAt));
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
  });

  it.each<[UserOrderField, boolean]>([
    ['NAME', false],
    ['NAME', true],
    ['CREATED_AT', false],
    ['UPDATED_AT', true],
  ])(
    'pages forward (first/after) and backward (last/before) through the same list (order %s, descending %s)',
    async (field, descending) => {
      const orderBy = { field, descending };
      const full = names(await list({ first: 100, orderBy }));
      expect(full).toHaveLength(6);

      const forward: string[] = [];
      let after: string | null = null;
      for (let page = 0; ; page++) {
        const res = await list({ first: 4, after, orderBy });
        expect(res.totalCount).toBe(6);
        expect(res.pageInfo.hasPreviousPage).toBe(page > 0);
        expect(res.pageInfo.startCursor).toBe(res.edges[0].cursor);
        expect(res.pageInfo.endCursor).toBe(res.edges[res.edges.length - 1].cursor);
        forward.push(...names(res));
        if (!res.pageInfo.hasNextPage) break;
        after = res.pageInfo.endCursor;
      }
      expect(forward).toEqual(full);

      const backward: string[][] = [];
      let before: string | null = null;
      for (let page = 0; ; page++) {
        const res = await list({ last: 4, before, orderBy });
        expect(res.totalCount).toBe(6);
        expect(res.pageInfo.hasNextPage).toBe(page > 0);
        backward.unshift(names(res));
        if (!res.pageInfo.hasPreviousPage) break;
        before = res.pageInfo.startCursor;
      }
      expect(backward).toEqual([full.slice(0, 2), full.slice(2)]);
    },
  );

  it('pages with filters: the cursor continues within the filtered set', async () => {
    const p1 = await list({ first: 2, filter: { active: true } });
    expect(names(p1)).toEqual(['alice@x.test', 'carol@x.test']);
    expect(p1.totalCount).toBe(5);
    const p2 = await list({ first: 2, after: p1.pageInfo.endCursor, filter: { active: true } });
    expect(names(p2)).toEqual(['dave@x.test', 'per%cent_user']);
    const p3 = await list({ first: 2, after: p2.pageInfo.endCursor, filter: { active: true } });
    expect(names(p3)).toEqual(['boss@x.test']);
    expect(p3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('first: 0 gives an empty page with the total', async () => {
    const res = await list({ first: 0 });
    expect(res.edges).toEqual([]);
    expect(res.totalCount).toBe(6);
  });

  it.each([
    ['first > 100', { first: 101 }],
    ['last > 100', { last: 101 }],
    ['a negative first', { first: -1 }],
    ['first and last together', { first: 2, last: 2 }],
    ['a cursor that is not one', { first: 2, after: 'not-a-cursor!' }],
    [
      'a cursor of well-formed JSON with a bad id',
      { first: 2, after: Buffer.from(JSON.stringify(['a', 'not-a-uuid'])).toString('base64url') },
    ],
    ['a before cursor that is not one', { last: 2, before: 'eyJub3BlIjp0cnVlfQ' }],
  ])('refuses %s with INVALID_INPUT in errors[].extensions.code', async (_label, vars) => {
    const res = await tl.gql(UserPageDocument, vars as UserPageQueryVariables);
    expect(res.status).toBe(200);
    expectGraphqlError(res, 'INVALID_INPUT');
    expect(res.data).toBeNull();
  });

  it('refuses a cursor from another ordering (name cursor on a date order) with INVALID_INPUT', async () => {
    const byName = await list({ first: 1 });
    const res = await tl.gql(UserPageDocument, { first: 2, after: byName.pageInfo.endCursor, orderBy: { field: 'CREATED_AT' } });
    expectGraphqlError(res, 'INVALID_INPUT');
  });
});
