/**
 * Versions (RFC 7644 §3.14: ETag, If-Match → 412, If-None-Match → 304), the PATCH forms of the issue as a
 * table, and PATCH atomicity: a request whose later operation fails leaves the earlier ones unapplied.
 */
import { ScimRoleListDocument, ScimTeamListDocument, UpdateTeamDocument } from '../../__generated__/graphql.js';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, patchOp, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectListResponse, expectScimError, expectStatus, expectVersioned, memberNames, roleState, userState } from './helpers.js';

let app: TestApp;
let t: TestTenant;
let scim: ScimClient;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  scim = scimClient(app.baseUrl, t.scimToken);
});
afterAll(() => app.close());

async function newUser(userName: string, extra: Record<string, unknown> = {}) {
  const res = await scim.post('/Users', { schemas: [USER_SCHEMA], userName, displayName: `${userName} display`, ...extra });
  expectStatus(res, 201);
  return res.body;
}

async function newGroup(displayName: string, members: string[] = []) {
  const res = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) });
  expectStatus(res, 201);
  return res.body;
}

describe('ETags', () => {
  it('every user and group response carries an ETag equal to meta.version, and writes change it', async () => {
    const post = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: 'etag.user@x.test' });
    expectStatus(post, 201);
    expectVersioned(post);
    const id = post.body.id;
    const get = await scim.get(`/Users/${id}`);
    expectVersioned(get);
    expect(get.headers.etag).toBe(post.headers.etag);
    expect(get.headers.etag).toMatch(/^W\/"\d+-[0-9a-z]+"$/);

    const put = await scim.put(`/Users/${id}`, { ...get.body, title: 'Versioned' });
    expectStatus(put, 200);
    expectVersioned(put);
    expect(put.headers.etag).not.toBe(get.headers.etag);

    const patch204 = await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Again' }));
    expectStatus(patch204, 204);
    expect(patch204.headers.etag).toBeDefined();
    expect(patch204.headers.etag).not.toBe(put.headers.etag);
    const after = await scim.get(`/Users/${id}`);
    expect(after.headers.etag).toBe(patch204.headers.etag);
    expect(after.body.meta.version).toBe(patch204.headers.etag);

    // A PATCH asking for attributes answers 200 with the resource (RFC 7644 §3.5.2).
    const patch200 = await scim.patch(`/Users/${id}?excludedAttributes=emails`, patchOp({ op: 'replace', path: 'title', value: 'Third' }));
    expectStatus(patch200, 200);
    expectVersioned(patch200);
    expect(patch200.body).toMatchObject({ id, title: 'Third' });

    const list = expectListResponse(await scim.get(`/Users${qs({ filter: `id eq "${id}"` })}`));
    expect(list.Resources[0].meta.version).toBe(patch200.headers.etag);

    const g = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'ETag Group' });
    expectStatus(g, 201);
    expectVersioned(g);
    const gget = await scim.get(`/Groups/${g.body.id}`);
    expectVersioned(gget);
    const gpatch = await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] }));
    expectStatus(gpatch, 204);
    expect(gpatch.headers.etag).toBeDefined();
    expect(gpatch.headers.etag).not.toBe(gget.headers.etag);
    const gput = await scim.put(`/Groups/${g.body.id}`, { schemas: [GROUP_SCHEMA], displayName: 'ETag Group 2', members: [] });
    expectStatus(gput, 200);
    expectVersioned(gput);
    expect(gput.headers.etag).not.toBe(gpatch.headers.etag);
    const glist = expectListResponse(await scim.get(`/Groups${qs({ filter: `id eq "${g.body.id}"` })}`));
    expect(glist.Resources[0].meta.version).toBe(gput.headers.etag);
  });

  it('a stale If-Match on PUT, PATCH and DELETE of a user → 412, and nothing changed', async () => {
    const u = await newUser('stale.user@x.test');
    const stale = u.meta.version;
    expectStatus(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Current' })), 204);
    const before = await userState(t, u.id);

    expectScimError(
      await scim.put(
        `/Users/${u.id}`,
        { schemas: [USER_SCHEMA], userName: 'stale.user@x.test', title: 'Overwritten' },
        { 'if-match': stale },
      ),
      412,
    );
    expectScimError(
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Overwritten' }), { 'if-match': stale }),
      412,
    );
    expectScimError(await scim.delete(`/Users/${u.id}`, { 'if-match': stale }), 412);
    expectScimError(
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Overwritten' }), {
        'if-match': 'W/"999", W/"998"',
      }),
      412,
    );

    const after = await userState(t, u.id);
    expect(after).toEqual(before);
    expect(after!.title).toBe('Current');
  });

  it('a matching If-Match (weak or strong form, in a list, or *) succeeds', async () => {
    const u = await newUser('match.user@x.test');
    const cur = await scim.get(`/Users/${u.id}`);
    const p = await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'One' }), { 'if-match': cur.headers.etag });
    expectStatus(p, 204);
    const strong = p.headers.etag.replace(/^W\//, '');
    const p2 = await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Two' }), {
      'if-match': `W/"0", ${strong}`,
    });
    expectStatus(p2, 204);
    const put = await scim.put(
      `/Users/${u.id}`,
      { schemas: [USER_SCHEMA], userName: 'match.user@x.test', title: 'Three' },
      { 'if-match': '*' },
    );
    expectStatus(put, 200);
    expect((await userState(t, u.id))!.title).toBe('Three');
    const del = await scim.delete(`/Users/${u.id}`, { 'if-match': put.headers.etag });
    expectStatus(del, 204);
    expect(await userState(t, u.id)).toBeNull();
  });

  it('groups: stale If-Match → 412 with members and name unchanged; matching succeeds', async () => {
    const a = await newUser('gm.a@x.test');
    const b = await newUser('gm.b@x.test');
    const g = await newGroup('Versioned Group', [a.id]);
    const stale = g.meta.version;
    const bump = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Versioned Group v2' }));
    expectStatus(bump, 204);

    expectScimError(
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] }), { 'if-match': stale }),
      412,
    );
    expectScimError(
      await scim.put(`/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: 'Overwritten', members: [] }, { 'if-match': stale }),
      412,
    );
    expectScimError(await scim.delete(`/Groups/${g.id}`, { 'if-match': stale }), 412);
    expect(await roleState(t, g.id)).toMatchObject({ displayName: 'Versioned Group v2', members: { totalCount: 1 } });
    expect(await memberNames(t, g.id)).toEqual(['gm.a@x.test']);

    const ok = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] }), {
      'if-match': bump.headers.etag,
    });
    expectStatus(ok, 204);
    expect(await memberNames(t, g.id)).toEqual(['gm.a@x.test', 'gm.b@x.test']);
    expectStatus(await scim.delete(`/Groups/${g.id}`, { 'if-match': ok.headers.etag }), 204);
    expect(await roleState(t, g.id)).toBeNull();
  });

  it('GET with If-None-Match of the current version → 304 without a body; an old version → 200', async () => {
    const u = await newUser('cache.user@x.test');
    const first = await scim.get(`/Users/${u.id}`);
    const cached = await scim.get(`/Users/${u.id}`, { 'if-none-match': first.headers.etag });
    expect(cached.status).toBe(304);
    expect(cached.text).toBe('');
    expect(cached.headers.etag).toBe(first.headers.etag);
    expectStatus(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Changed' })), 204);
    const fresh = await scim.get(`/Users/${u.id}`, { 'if-none-match': first.headers.etag });
    expectStatus(fresh, 200);
    expect(fresh.body.title).toBe('Changed');
    expect(fresh.headers.etag).not.toBe(first.headers.etag);

    const g = await newGroup('Cached Group');
    const gfirst = await scim.get(`/Groups/${g.id}`);
    expect((await scim.get(`/Groups/${g.id}`, { 'if-none-match': gfirst.headers.etag })).status).toBe(304);
    expectStatus(await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] })), 204);
    const gfresh = await scim.get(`/Groups/${g.id}`, { 'if-none-match': gfirst.headers.etag });
    expectStatus(gfresh, 200);
    expect(gfresh.body.members.map((m: any) => m.value)).toEqual([u.id]);
  });
});

/**
 * A weak ETag says two representations are the same (RFC 7232 §2.3): so a user's moves with everything its
 * representation shows, its groups and the names of its team, manager and groups included, though those are
 * written through other resources; and a group's with its members, however they joined or left.
 */
describe('ETags follow what the representation shows', () => {
  const get = (path: string) => scim.get(path);
  /** The user's ETag has moved since `old`: a conditional GET answers 200, and a write with `old` is refused. */
  async function expectMoved(path: string, old: string) {
    const res = await scim.get(path, { 'if-none-match': old });
    expectStatus(res, 200);
    expectVersioned(res);
    expect(res.headers.etag).not.toBe(old);
    expectScimError(await scim.patch(path, patchOp({ op: 'replace', path: 'externalId', value: 'refused' }), { 'if-match': old }), 412);
    return res;
  }

  it("a user's ETag moves when it joins or leaves a group, and when the group is renamed", async () => {
    const u = await newUser('groups.etag@x.test');
    const g = await newGroup('ETag Members');
    const joined = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] }));
    expectStatus(joined, 204);
    const inGroup = await expectMoved(`/Users/${u.id}`, u.meta.version);
    expect(inGroup.body.groups.map((x: any) => x.display)).toEqual(['ETag Members']);

    const renamed = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'ETag Members 2' }));
    expectStatus(renamed, 204);
    const afterRename = await expectMoved(`/Users/${u.id}`, inGroup.headers.etag);
    expect(afterRename.body.groups.map((x: any) => x.display)).toEqual(['ETag Members 2']);

    expectStatus(await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${u.id}"]` })), 204);
    const left = await expectMoved(`/Users/${u.id}`, afterRename.headers.etag);
    expect(left.body.groups).toBeUndefined();
    // and every door shows the same version
    const listed = expectListResponse(await get(`/Users${qs({ filter: `id eq "${u.id}"` })}`));
    expect(listed.Resources[0].meta.version).toBe(left.headers.etag);
  });

  it("a user's ETag moves when its team or its manager is renamed", async () => {
    const boss = await newUser('boss.etag@x.test', { displayName: 'Boss One' });
    const u = await newUser('report.etag@x.test', { [ENTERPRISE]: { department: 'ETag Dept', manager: { value: boss.id } } });
    const team = (await t.gql(ScimTeamListDocument, {})).data!.teams.nodes.find((n) => n.name === 'ETag Dept')!;
    const rename = await t.gql(UpdateTeamDocument, { id: team.id, input: { name: 'ETag Dept Renamed' } });
    expect(rename.data!.updateTeam.userErrors).toEqual([]);
    const teamRenamed = await expectMoved(`/Users/${u.id}`, u.meta.version);
    expect(teamRenamed.body[ENTERPRISE].department).toBe('ETag Dept Renamed');

    expectStatus(await scim.patch(`/Users/${boss.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Boss Two' })), 204);
    const bossRenamed = await expectMoved(`/Users/${u.id}`, teamRenamed.headers.etag);
    expect(bossRenamed.body[ENTERPRISE].manager.displayName).toBe('Boss Two');
  });

  it('a PATCH answering 204 gives the ETag a GET then shows, whatever relation it changed', async () => {
    const boss = await newUser('boss204.etag@x.test', { displayName: 'Boss 204' });
    const u = await newUser('patch204.etag@x.test');
    const patches = [
      // Entra's: department and manager (a new team, a manager by id)
      patchOp(
        { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Dept 204' },
        { op: 'replace', path: `${ENTERPRISE}:manager`, value: boss.id },
      ),
      // roles (groups as roles), then none
      patchOp({ op: 'add', path: 'roles', value: [{ value: 'Role 204' }] }),
      patchOp({ op: 'remove', path: 'roles' }),
      // a manager not provisioned yet, and no department
      patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: 'ext-not-yet' }, { op: 'remove', path: `${ENTERPRISE}:department` }),
    ];
    for (const body of patches) {
      const res = await scim.patch(`/Users/${u.id}`, body);
      expectStatus(res, 204);
      const after = await scim.get(`/Users/${u.id}`);
      expect(after.headers.etag).toBe(res.headers.etag);
      expect((await scim.get(`/Users/${u.id}`, { 'if-none-match': res.headers.etag })).status).toBe(304);
    }
  });

  it("a group's ETag moves when a member joins by its roles, leaves by them, is renamed or is deleted", async () => {
    const u = await newUser('member.etag@x.test');
    const v = await newUser('member2.etag@x.test');
    const g = await newGroup('ETag Role', [v.id]);
    expectStatus(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'add', path: 'roles', value: [{ value: 'ETag Role' }] })), 204);
    const joined = await expectGroupMoved(g.id, g.meta.version);
    expect(joined.body.members.map((m: any) => m.value).sort()).toEqual([u.id, v.id].sort());

    expectStatus(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'remove', path: 'roles' })), 204);
    const left = await expectGroupMoved(g.id, joined.headers.etag);
    expect(left.body.members.map((m: any) => m.value)).toEqual([v.id]);
    // removing the whole attribute removed every role (it was ignored before)
    const roleless = await scim.get(`/Users/${u.id}`);
    expect(roleless.body.roles).toBeUndefined();
    expect(roleless.body.groups).toBeUndefined();

    expectStatus(await scim.patch(`/Users/${v.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Member Two' })), 204);
    const renamed = await expectGroupMoved(g.id, left.headers.etag);
    expect(renamed.body.members.map((m: any) => m.display)).toEqual(['Member Two']);

    expectStatus(await scim.delete(`/Users/${v.id}`), 204);
    const gone = await expectGroupMoved(g.id, renamed.headers.etag);
    expect(gone.body.members ?? []).toEqual([]);
  });

  async function expectGroupMoved(id: string, old: string) {
    const res = await scim.get(`/Groups/${id}`, { 'if-none-match': old });
    expectStatus(res, 200);
    expectVersioned(res);
    expect(res.headers.etag).not.toBe(old);
    expectScimError(
      await scim.patch(`/Groups/${id}`, patchOp({ op: 'replace', path: 'externalId', value: 'refused' }), { 'if-match': old }),
      412,
    );
    return res;
  }
});

describe('PATCH forms (table)', () => {
  type Row = [string, Record<string, unknown>, Array<Record<string, unknown>>, (user: any, ctx: { mgr: any }) => void];
  let mgr: any;

  beforeAll(async () => {
    mgr = await newUser('forms.manager@x.test', { externalId: 'FORMS-MGR' });
  });

  const ROWS: Row[] = [
    [
      'op in any case ("REPLACE", "Add")',
      {},
      [
        { op: 'REPLACE', path: 'title', value: 'Upper' },
        { op: 'Add', path: 'nickName', value: 'Nick' },
      ],
      (u) => expect(u).toMatchObject({ title: 'Upper', nickName: 'Nick' }),
    ],
    [
      'path-less value object with a dotted key',
      { name: { givenName: 'Old', familyName: 'Keep' } },
      [{ op: 'replace', value: { 'name.givenName': 'New' } }],
      (u) => expect(u.name).toMatchObject({ givenName: 'New', familyName: 'Keep' }),
    ],
    [
      'path-less value object with an extension URN block',
      {},
      [{ op: 'add', value: { [ENTERPRISE]: { department: 'Forms', employeeNumber: '42' } } }],
      (u) => expect(u[ENTERPRISE]).toMatchObject({ department: 'Forms', employeeNumber: '42' }),
    ],
    ['boolean strings "False" / "true"', {}, [{ op: 'replace', path: 'active', value: 'False' }], (u) => expect(u.active).toBe(false)],
    [
      'manager as {value} (by externalId)',
      {},
      [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: 'FORMS-MGR' } }],
      (u, c) => expect(u[ENTERPRISE].manager.value).toBe(c.mgr.id),
    ],
    [
      'manager as a plain string on the short path',
      {},
      [{ op: 'add', path: 'manager', value: 'FORMS-MGR' }],
      (u, c) => expect(u[ENTERPRISE].manager.value).toBe(c.mgr.id),
    ],
    [
      'filtered replace on a sub-attribute',
      {
        emails: [
          { type: 'work', value: 'a@forms.test' },
          { type: 'home', value: 'b@forms.test' },
        ],
      },
      [{ op: 'replace', path: 'emails[type eq "home"].value', value: 'c@forms.test' }],
      (u) =>
        expect(u.emails).toEqual([
          { type: 'work', value: 'a@forms.test' },
          { type: 'home', value: 'c@forms.test' },
        ]),
    ],
    [
      'filtered replace that matches nothing adds the value (what Entra expects)',
      { emails: [{ type: 'work', value: 'a@forms.test' }] },
      [{ op: 'Replace', path: 'emails[type eq "home"].value', value: 'new@forms.test' }],
      (u) =>
        expect(u.emails).toEqual(
          expect.arrayContaining([
            { type: 'work', value: 'a@forms.test' },
            { type: 'home', value: 'new@forms.test' },
          ]),
        ),
    ],
    [
      'add to a multi-valued attribute appends; primary moves',
      { emails: [{ type: 'work', value: 'a@forms.test', primary: true }] },
      [{ op: 'add', path: 'emails', value: [{ type: 'home', value: 'h@forms.test', primary: true }] }],
      (u) => {
        expect(u.emails).toHaveLength(2);
        expect(u.emails.filter((e: any) => e.primary).map((e: any) => e.value)).toEqual(['h@forms.test']);
      },
    ],
    [
      'remove with a value filter',
      {
        emails: [
          { type: 'work', value: 'a@forms.test' },
          { type: 'home', value: 'b@forms.test' },
        ],
      },
      [{ op: 'remove', path: 'emails[type eq "work"]' }],
      (u) => expect(u.emails).toEqual([{ type: 'home', value: 'b@forms.test' }]),
    ],
    [
      'remove of a whole attribute and of an absent one (a no-op)',
      { title: 'Gone' },
      [
        { op: 'remove', path: 'title' },
        { op: 'remove', path: 'nickName' },
      ],
      (u) => expect(u.title).toBeUndefined(),
    ],
    [
      'replace of a whole multi-valued attribute',
      { phoneNumbers: [{ type: 'work', value: '+1 555 0100' }] },
      [{ op: 'replace', path: 'phoneNumbers', value: [{ type: 'mobile', value: '+1 555 0199' }] }],
      (u) => expect(u.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0199' }]),
    ],
    [
      'complex values keep only what was sent (no null sub-attributes), one primary',
      { addresses: [{ type: 'work', locality: 'Paris', primary: true }] },
      [
        {
          op: 'add',
          path: 'phoneNumbers',
          value: [
            { type: 'work', value: '+33 1 00', primary: 'True' },
            { type: 'mobile', value: '+33 6 00', primary: true },
          ],
        },
      ],
      (u) => {
        expect(u.addresses).toEqual([{ type: 'work', locality: 'Paris', primary: true }]);
        expect(u.phoneNumbers).toEqual([
          { type: 'work', value: '+33 1 00' },
          { type: 'mobile', value: '+33 6 00', primary: true },
        ]);
      },
    ],
    [
      'a URN-qualified core path',
      {},
      [{ op: 'replace', path: `${USER_SCHEMA}:displayName`, value: 'Qualified' }],
      (u) => expect(u.displayName).toBe('Qualified'),
    ],
    ['the Operations and op member names in another case', {}, [], (u) => expect(u.title).toBe('Lower')],
  ];

  it.each(ROWS)('%s', async (label, initial, ops, check) => {
    const u = await newUser(
      `form-${label
        .replace(/[^a-z0-9]+/gi, '-')
        .slice(0, 40)
        .toLowerCase()}@x.test`,
      initial,
    );
    const body = ops.length
      ? patchOp(...ops)
      : { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], operations: [{ OP: 'replace', Path: 'title', Value: 'Lower' }] };
    const res = await scim.patch(`/Users/${u.id}`, body);
    expectStatus(res, 204);
    const get = await scim.get(`/Users/${u.id}`);
    check(get.body, { mgr });
  });

  it('remove without a path → 400 noTarget; add without a value → 400', async () => {
    const u = await newUser('forms.errors@x.test', { title: 'Kept' });
    expectScimError(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    expectScimError(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'add', path: 'title' })), 400, 'invalidValue');
    expectScimError(await scim.patch(`/Users/${u.id}`, patchOp({ op: 'move', path: 'title', value: 'x' })), 400, 'invalidSyntax');
    expect((await userState(t, u.id))!.title).toBe('Kept');
  });
});

describe('PATCH atomicity', () => {
  it('a user PATCH whose 2nd operation names an unknown attribute → 400 invalidPath, 1st not applied', async () => {
    const u = await newUser('atomic.one@x.test', { title: 'Before' });
    const before = await userState(t, u.id);
    const res = await scim.patch(
      `/Users/${u.id}`,
      patchOp({ op: 'replace', path: 'title', value: 'After' }, { op: 'replace', path: 'shoeSize', value: '42' }),
    );
    expectScimError(res, 400, 'invalidPath');
    expect(await userState(t, u.id)).toEqual(before);
  });

  it('a user PATCH whose 2nd operation changes the readOnly id → 400 mutability, 1st not applied', async () => {
    const u = await newUser('atomic.two@x.test', { title: 'Before' });
    const before = await userState(t, u.id);
    const res = await scim.patch(
      `/Users/${u.id}`,
      patchOp(
        { op: 'replace', path: 'title', value: 'After' },
        { op: 'replace', path: 'id', value: '00000000-0000-0000-0000-000000000001' },
      ),
    );
    expectScimError(res, 400, 'mutability');
    const pathless = await scim.patch(
      `/Users/${u.id}`,
      patchOp({ op: 'replace', value: { title: 'After', id: '00000000-0000-0000-0000-000000000001' } }),
    );
    expectScimError(pathless, 400, 'mutability');
    const groups = await scim.patch(
      `/Users/${u.id}`,
      patchOp(
        { op: 'replace', path: 'title', value: 'After' },
        { op: 'add', path: 'groups', value: [{ value: '00000000-0000-0000-0000-000000000001' }] },
      ),
    );
    expectScimError(groups, 400, 'mutability');
    expect(await userState(t, u.id)).toEqual(before);
  });

  it('a failure in the domain after earlier writes (a team created, then a userName conflict) rolls everything back', async () => {
    await newUser('taken@x.test');
    const u = await newUser('atomic.three@x.test', { title: 'Before' });
    const before = await userState(t, u.id);
    const res = await scim.patch(
      `/Users/${u.id}`,
      patchOp(
        { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Atomic Team' },
        { op: 'replace', path: 'title', value: 'After' },
        { op: 'replace', path: 'userName', value: 'TAKEN@x.test' },
      ),
    );
    expectScimError(res, 409, 'uniqueness');
    expect(await userState(t, u.id)).toEqual(before);
    const teams = (await t.gql(ScimTeamListDocument, {})).data!.teams.nodes.map((n) => n.name);
    expect(teams).not.toContain('Atomic Team');
  });

  it('roles and a manager cycle: nothing of the request stays', async () => {
    const a = await newUser('cycle.a@x.test');
    const b = await newUser('cycle.b@x.test', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: a.id } });
    const before = await userState(t, a.id);
    const res = await scim.patch(
      `/Users/${a.id}`,
      patchOp({ op: 'add', path: 'roles', value: [{ value: 'Ghost Role' }] }, { op: 'replace', path: 'manager', value: b.id }),
    );
    expectScimError(res, 400, 'invalidValue');
    expect(await userState(t, a.id)).toEqual(before);
    const roles = (await t.gql(ScimRoleListDocument, {})).data!.roles.nodes.map((r) => r.displayName);
    expect(roles).not.toContain('Ghost Role');
  });

  it('a group PATCH whose 2nd operation is invalid leaves the 1st (a member add, a rename) unapplied', async () => {
    const a = await newUser('ga.a@x.test');
    const b = await newUser('ga.b@x.test');
    const g = await newGroup('Atomic Group', [a.id]);
    const cases: Array<[Array<Record<string, unknown>>, string]> = [
      [
        [
          { op: 'add', path: 'members', value: [{ value: b.id }] },
          { op: 'replace', path: 'id', value: '00000000-0000-0000-0000-000000000001' },
        ],
        'mutability',
      ],
      [
        [
          { op: 'add', path: 'members', value: [{ value: b.id }] },
          { op: 'replace', path: 'colour', value: 'red' },
        ],
        'invalidPath',
      ],
      [
        [
          { op: 'add', path: 'members', value: [{ value: b.id }] },
          { op: 'remove', path: 'members[display eq "ga.a@x.test"]' },
        ],
        'invalidPath',
      ],
      [
        [
          { op: 'replace', path: 'displayName', value: 'Renamed' },
          { op: 'add', path: 'members', value: [{ value: '00000000-0000-0000-0000-0000000000ff' }] },
        ],
        'invalidValue',
      ],
      [
        [
          { op: 'add', path: 'members', value: [{ value: b.id }] },
          { op: 'remove', path: 'members', value: [{ value: a.id }] },
          { op: 'replace', path: 'displayName', value: '' },
        ],
        'invalidValue',
      ],
    ];
    for (const [ops, scimType] of cases) {
      const res = await scim.patch(`/Groups/${g.id}`, patchOp(...ops));
      expectScimError(res, 400, scimType);
      expect(await roleState(t, g.id)).toMatchObject({
        displayName: 'Atomic Group',
        members: { totalCount: 1, nodes: [{ userName: 'ga.a@x.test' }] },
      });
    }
    const current = await scim.get(`/Groups/${g.id}`);
    expect(current.headers.etag).toBe(g.meta.version);
  });
});
