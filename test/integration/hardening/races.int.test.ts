/**
 * Faults: races (issue 6), with real concurrent HTTP clients and, where it matters, two Roster
 * processes (two apps on one database).
 * - Okta and Entra creating the same user at the same moment: exactly one 201 and one 409, one user.
 * - Concurrent membership PATCHes to one group from two processes: no member lost.
 * - Concurrent manager changes (A→B with B→A, and longer cycles), through both doors and both
 *   processes: never a cycle (checked with a recursive query afterwards).
 * - A create that links its pending reports (backfill), or a delete, while a manager change of one of the
 *   reports, of the new user's manager or of the user deleted waits for the reporting-line lock: both
 *   land, no deadlock.
 * - A group rename while a member change from the user's side holds the group's row: it waits, then lands.
 */
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import {
  advisoryLockWaiters,
  bearer,
  expectScimError,
  holdOrgLock,
  patchOp,
  request,
  SCIM_JSON,
  tenantSql,
  tenantTransaction,
  tenantUuid,
  usersInCycles,
  rowLockWaiters,
  type HttpResponse,
} from './support.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const gid = (uuid: string) => Buffer.from(`User:${uuid}`).toString('base64url');

let app1: TestApp;
let app2: TestApp;
const url = () => process.env.ROSTER_TEST_DATABASE_URL!;

beforeAll(async () => {
  [app1, app2] = await Promise.all([startTestApp(), startTestApp()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([app1?.close(), app2?.close()]);
});

type Client = (method: string, path: string, body?: unknown) => Promise<HttpResponse>;
const scimClient =
  (app: TestApp, authorization: string): Client =>
  (method, path, body) =>
    request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { authorization, ...SCIM_JSON }, body, agent: false });

async function basicCredential(t: TestTenant): Promise<string> {
  const res = await t.raw<any>(
    'mutation { generateScimCredential(input: { kind: BASIC }) { secret credential { basicUsername } userErrors { code } } }',
  );
  const p = res.data.generateScimCredential;
  expect(p.userErrors).toEqual([]);
  return `Basic ${Buffer.from(`${p.credential.basicUsername}:${p.secret}`).toString('base64')}`;
}

describe('Okta and Entra create the same user at the same moment', () => {
  it('gives exactly one 201 and one 409 per user, and one user', async () => {
    const t = await app1.createTenant();
    const okta = scimClient(app1, await basicCredential(t));
    const entra = scimClient(app2, `Bearer ${t.scimToken}`);
    const N = 12;
    const rounds = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const userName = `race${i}@idp.test`;
        // Okta's create (O1) and Entra's create (M1): same person, different shapes, a new department and role each.
        const oktaBody = {
          schemas: [CORE],
          userName,
          name: { givenName: 'Race', familyName: `O${i}` },
          emails: [{ primary: true, value: userName, type: 'work' }],
          externalId: `okta-${i}`,
          groups: [],
          password: 'placeholder',
          active: true,
          [ENTERPRISE]: { department: `Dept ${i % 3}` },
        };
        const entraBody = {
          schemas: [CORE, ENTERPRISE],
          externalId: `entra-${i}`,
          userName: userName.toUpperCase(),
          active: true,
          displayName: `Race E${i}`,
          meta: { resourceType: 'User' },
          roles: [{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: `Role ${i % 3}` }],
          [ENTERPRISE]: { department: `dept ${i % 3}` },
        };
        const [a, b] = await Promise.all([okta('POST', '/Users', oktaBody), entra('POST', '/Users', entraBody)]);
        return { userName, a, b };
      }),
    );
    for (const { userName, a, b } of rounds) {
      const statuses = [a.status, b.status].sort();
      expect({ userName, statuses, bodies: statuses[0] === 201 && statuses[1] === 409 ? '' : `${a.text} | ${b.text}` }).toEqual({
        userName,
        statuses: [201, 409],
        bodies: '',
      });
      const conflict = a.status === 409 ? a : b;
      expectScimError(conflict, 409);
      expect(conflict.json.scimType).toBe('uniqueness');
    }
    const rows = await tenantSql<{ name: string; n: string }>(
      url(),
      t.id,
      'select lower(user_name) as name, count(*) as n from users where deleted_at is null group by 1 order by 1',
    );
    const byName = (x: { name: string }, y: { name: string }) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
    expect(rows.sort(byName)).toEqual(rounds.map((r) => ({ name: r.userName, n: '1' })).sort(byName));
    // The departments both sides named exist once each (case-insensitively).
    const teams = await tenantSql<{ n: string }>(url(), t.id, 'select count(*) as n from teams group by lower(name) having count(*) > 1');
    expect(teams).toEqual([]);
  }, 60_000);
});

describe('concurrent membership PATCHes to one group from two processes', () => {
  it('loses no member', async () => {
    const t = await app1.createTenant();
    const c1 = scimClient(app1, `Bearer ${t.scimToken}`);
    const c2 = scimClient(app2, `Bearer ${t.scimToken}`);
    const users: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await c1('POST', '/Users', { schemas: [CORE], userName: `m${i}@group.test` });
      expect(res.status).toBe(201);
      users.push(res.json.id);
    }
    const group = await c1('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Race group' });
    expect(group.status).toBe(201);
    const gidPath = `/Groups/${group.json.id}`;
    const requests: Array<() => Promise<HttpResponse>> = [];
    // Entra: one member per PATCH (M1), half on each process.
    users.forEach((u, i) =>
      requests.push(() => (i % 2 ? c1 : c2)('PATCH', gidPath, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: u }] }))),
    );
    // Okta: several members per PATCH, overlapping the others, with the path-less rename it re-sends (O1).
    for (let k = 0; k < 6; k++) {
      const some = users.filter((_, i) => i % 6 === k || i % 5 === k);
      requests.push(() =>
        (k % 2 ? c2 : c1)(
          'PATCH',
          gidPath,
          patchOp(
            { op: 'replace', value: { id: group.json.id, displayName: 'Race group' } },
            { op: 'add', path: 'members', value: some.map((value) => ({ value })) },
          ),
        ),
      );
    }
    const results = await Promise.all(requests.map((r) => r()));
    expect(results.filter((r) => r.status !== 204).map((r) => `${r.status} ${r.text.slice(0, 200)}`)).toEqual([]);
    const members = await tenantSql<{ user_id: string }>(url(), t.id, 'select user_id from role_members where role_id = $1', [
      group.json.id,
    ]);
    expect(members.map((m) => m.user_id).sort()).toEqual([...users].sort());
    const read = await c2('GET', gidPath);
    expect(read.json.members.map((m: { value: string }) => m.value).sort()).toEqual([...users].sort());
  }, 60_000);
});

describe('concurrent manager changes', () => {
  it('never produce a reporting-line cycle, whatever the interleaving', async () => {
    const t = await app1.createTenant();
    const c1 = scimClient(app1, `Bearer ${t.scimToken}`);
    const c2 = scimClient(app2, `Bearer ${t.scimToken}`);
    const create = async (name: string) => {
      const res = await c1('POST', '/Users', { schemas: [CORE], userName: `${name}@org.test` });
      expect(res.status).toBe(201);
      return res.json.id as string;
    };
    const setManager = (i: number, user: string, manager: string): Promise<HttpResponse> => {
      switch (i % 3) {
        case 0:
          return c1('PATCH', `/Users/${user}`, patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: manager }));
        case 1:
          return c2('PATCH', `/Users/${user}`, patchOp({ op: 'Add', path: 'manager', value: [{ $ref: null, value: manager }] }));
        default:
          return request('POST', `${app2.baseUrl}/graphql`, {
            headers: bearer(t.apiKey),
            body: {
              query: 'mutation($u: ID!, $m: ManagerRefInput) { setManager(userId: $u, manager: $m) { user { id } userErrors { code } } }',
              variables: { u: gid(user), m: { scimId: manager } },
            },
            agent: false,
          });
      }
    };
    const ok = (r: HttpResponse) => (r.status === 204 || r.status === 200) && !(r.json?.data?.setManager?.userErrors?.length > 0);
    const refusedAsCycle = (r: HttpResponse) =>
      (r.status === 400 && /cycle/i.test(r.json?.detail ?? '')) || r.json?.data?.setManager?.userErrors?.[0]?.code === 'MANAGER_CYCLE';

    // Rings of 2 (A→B, B→A), 3 and 5 users, each ring's changes fired at once, all rings together.
    const rings: string[][] = [];
    for (const size of [2, 2, 2, 2, 3, 3, 5]) {
      const ring: string[] = [];
      for (let k = 0; k < size; k++) ring.push(await create(`r${rings.length}-${k}`));
      rings.push(ring);
    }
    let n = 0;
    const fired = rings.flatMap((ring) => ring.map((u, k) => ({ ring, res: setManager(n++, u, ring[(k + 1) % ring.length]) })));
    const settled = await Promise.all(fired.map(async (f) => ({ ring: f.ring, res: await f.res })));
    for (const ring of rings) {
      const mine = settled.filter((s) => s.ring === ring).map((s) => s.res);
      // Every answer is a success or a clean MANAGER_CYCLE refusal, never a 5xx.
      expect(mine.filter((r) => !ok(r) && !refusedAsCycle(r)).map((r) => `${r.status} ${r.text.slice(0, 200)}`)).toEqual([]);
      // A ring closes only if all its links land: at least one must have been refused.
      expect(mine.filter(refusedAsCycle).length).toBeGreaterThanOrEqual(1);
      expect(mine.filter(ok).length).toBeLessThanOrEqual(ring.length - 1);
    }
    expect(await usersInCycles(url(), t.id)).toEqual([]);
  }, 60_000);
});

describe('concurrent PATCHes of one user', () => {
  it('queue on the user’s row lock, from both processes: every change lands, none fails on a stale version', async () => {
    const t = await app1.createTenant();
    const c1 = scimClient(app1, `Bearer ${t.scimToken}`);
    const c2 = scimClient(app2, `Bearer ${t.scimToken}`);
    const created = await c1('POST', '/Users', { schemas: [CORE], userName: 'contended@org.test' });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const attributes = ['title', 'nickName', 'displayName', 'userType', 'locale', 'timezone', 'preferredLanguage', 'profileUrl'];
    const answers = await Promise.all(
      attributes.map((path, i) =>
        (i % 2 ? c2 : c1)(
          'PATCH',
          `/Users/${id}`,
          patchOp({ op: 'Replace', path, value: path === 'profileUrl' ? 'https://x.test/p' : `v-${path}` }),
        ),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(attributes.map(() => 204));
    const read = await c2('GET', `/Users/${id}`);
    for (const path of attributes) expect(read.json[path]).toBe(path === 'profileUrl' ? 'https://x.test/p' : `v-${path}`);
    expect(read.json.meta.version).toMatch(new RegExp(`^W/"${1 + attributes.length}-`));
  }, 60_000);
});

describe('a create or a delete, while a manager change waits for the reporting-line lock', () => {
  /**
   * The interleaving is made for real: the test holds the tenant's reporting-line lock, a manager change
   * (PATCH) queues for it, then the create or delete queues behind it. Released, the PATCH goes first.
   * Before the fix the create or delete had already locked a row the PATCH then needs (a pending report's
   * row by the backfill, the new user's manager's row by the insert's foreign-key check, the deleted
   * user's own row), and waited for the lock the PATCH held: a deadlock, answered 503.
   */
  async function setUp() {
    const t = await app1.createTenant();
    const c1 = scimClient(app1, `Bearer ${t.scimToken}`);
    const c2 = scimClient(app2, `Bearer ${t.scimToken}`);
    const create = async (body: Record<string, unknown>) => {
      const res = await c1('POST', '/Users', { schemas: [CORE, ENTERPRISE], ...body });
      expect(res.status).toBe(201);
      return res.json.id as string;
    };
    const other = await create({ userName: 'other@org.test' });
    const grand = await create({ userName: 'grand@org.test' });
    const boss = await create({ userName: 'boss@org.test', [ENTERPRISE]: { manager: { value: grand } } });
    // Reports to someone not provisioned yet (Okta sends users in any order): a pending reference.
    const report = await create({ userName: 'report@org.test', [ENTERPRISE]: { manager: { value: 'ext-newcomer' } } });
    const managerOf = async (id: string) => (await c1('GET', `/Users/${id}`)).json[ENTERPRISE]?.manager?.value ?? null;
    const setManager = (id: string, manager: string) =>
      c2('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: manager }));
    // The newcomer is the pending report's manager (by externalId) and reports to the boss.
    const createNewcomer = () =>
      c1('POST', '/Users', {
        schemas: [CORE, ENTERPRISE],
        userName: 'newcomer@org.test',
        externalId: 'ext-newcomer',
        [ENTERPRISE]: { manager: { value: boss } },
      });
    return { t, c1, other, boss, report, managerOf, setManager, createNewcomer };
  }

  /** Holds the tenant's reporting-line lock while `first`, then `second`, queue for it; releases it; both answers. */
  async function queued(t: TestTenant, first: () => Promise<HttpResponse>, second: () => Promise<HttpResponse>) {
    const lock = await holdOrgLock(url(), t.id);
    try {
      const a = first();
      await advisoryLockWaiters(lock, 1, 'the first request to wait for the reporting-line lock');
      const b = second();
      await advisoryLockWaiters(lock, 2, 'the second request to wait for the reporting-line lock');
      await lock.query('commit');
      return await Promise.all([a, b]);
    } finally {
      await lock.end();
    }
  }

  const statuses = (...answers: HttpResponse[]) => [
    ...answers.map((r) => r.status),
    answers.map((r) => (r.status < 300 ? '' : r.text)).join(''),
  ];

  it('lands both when the change is of a pending report the create links', async () => {
    const { t, other, report, managerOf, setManager, createNewcomer } = await setUp();
    const [p, c] = await queued(t, () => setManager(report, other), createNewcomer);
    expect(statuses(p, c)).toEqual([204, 201, '']);
    // The change went first and named another manager: the backfill, after it, finds nothing pending.
    expect(await managerOf(report)).toBe(other);
    expect(await usersInCycles(url(), t.id)).toEqual([]);
  }, 60_000);

  it('lands both when the change is of the new user’s manager', async () => {
    const { t, other, boss, report, managerOf, setManager, createNewcomer } = await setUp();
    const [p, c] = await queued(t, () => setManager(boss, other), createNewcomer);
    expect(statuses(p, c)).toEqual([204, 201, '']);
    expect(await managerOf(boss)).toBe(other);
    expect(await managerOf(c.json.id)).toBe(boss);
    expect(await managerOf(report)).toBe(c.json.id);
    expect(await usersInCycles(url(), t.id)).toEqual([]);
  }, 60_000);

  it('lands both when the change names the user being created, not yet there (the reference lock before the org lock)', async () => {
    // The change waits first; released, it finds no newcomer and leaves the reference pending. Taken the
    // other way round (the org lock, then the reference's), it held the org lock while waiting for the
    // create's reference lock, and the create, holding that, waited for the org lock: a deadlock, 503.
    const { t, other, report, managerOf, setManager, createNewcomer } = await setUp();
    const [p, c] = await queued(t, () => setManager(other, 'ext-newcomer'), createNewcomer);
    expect(statuses(p, c)).toEqual([204, 201, '']);
    expect(await managerOf(other)).toBe(c.json.id);
    expect(await managerOf(report)).toBe(c.json.id);
    expect(await usersInCycles(url(), t.id)).toEqual([]);
  }, 60_000);

  it('re-provisions a deleted manager while the deletion waits: the new one gets the reports the deletion left pending', async () => {
    // The deletion leaves its reports pending on its externalId; a create of that externalId arriving
    // meanwhile waits for it (REF_LOCKS) instead of failing on the externalId still taken (409), or of
    // missing the reports the deletion has not committed yet.
    const { t, c1, managerOf } = await setUp();
    const lead = await c1('POST', '/Users', { schemas: [CORE], userName: 'lead@org.test', externalId: 'ext-lead' });
    const member = await c1('POST', '/Users', {
      schemas: [CORE, ENTERPRISE],
      userName: 'member@org.test',
      [ENTERPRISE]: { manager: { value: 'ext-lead' } },
    });
    expect(await managerOf(member.json.id)).toBe(lead.json.id);
    const [d, c] = await queued(
      t,
      () => c1('DELETE', `/Users/${lead.json.id}`),
      () => c1('POST', '/Users', { schemas: [CORE], userName: 'lead.again@org.test', externalId: 'ext-lead' }),
    );
    expect(statuses(d, c)).toEqual([204, 201, '']);
    expect(await managerOf(member.json.id)).toBe(c.json.id);
  }, 60_000);

  it('lands both when the change is of the user being deleted', async () => {
    const { t, c1, other, boss, managerOf, setManager } = await setUp();
    const [p, d] = await queued(
      t,
      () => setManager(boss, other),
      () => c1('DELETE', `/Users/${boss}`),
    );
    expect(statuses(p, d)).toEqual([204, 204, '']);
    expect((await c1('GET', `/Users/${boss}`)).status).toBe(404);
    expect(await managerOf(other)).toBe(null);
  }, 60_000);
});

describe('a group rename while a member change from the user’s side holds the group’s row', () => {
  // A user's roles, a member's deletion or rename move the group's version (its ETag) too, from the user's
  // side. A rename read the group, then wrote it only if its version had not moved: a change committed in
  // between failed the rename. It now reads the group under its row lock, so it waits and lands.
  it('waits for the change, then lands (no failure on a stale version)', async () => {
    const t = await app1.createTenant();
    const scim = scimClient(app1, `Bearer ${t.scimToken}`);
    const g = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Held Group' });
    expect(g.status).toBe(201);
    const held = await tenantTransaction(url(), t.id);
    try {
      const bumped = await held.query('update roles set version = version + 1, updated_at = now() where id = $1', [g.json.id]);
      expect(bumped.rowCount).toBe(1);
      const rename = scim('PATCH', `/Groups/${g.json.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Renamed Group' }));
      await rowLockWaiters(held, 1, 'the rename to wait for the group’s row');
      await held.query('commit');
      const res = await rename;
      expect(res.status).toBe(204);
    } finally {
      await held.end();
    }
    const after = await scim('GET', `/Groups/${g.json.id}`);
    expect(after.json).toMatchObject({ displayName: 'Renamed Group', meta: { version: 'W/"3"' } });
  });
});

describe('a group PATCH of several member operations while a user’s own role change adds the same member', () => {
  // The user's side inserts the membership, then moves the group's version (touchRoles). A group PATCH that
  // moved the version after its first member operation held the group's row while its later add of the same
  // member waited for that insert: a deadlock. The version now moves once, after all of them.
  it('lands both: the PATCH waits for the insert, then the version moves once', async () => {
    const t = await app1.createTenant();
    const scim = scimClient(app1, `Bearer ${t.scimToken}`);
    const [x, y] = await Promise.all(
      ['x@deadlock.test', 'y@deadlock.test'].map(async (userName) => (await scim('POST', '/Users', { schemas: [CORE], userName })).json.id),
    );
    const g = await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Two Kinds',
      members: [{ value: y }],
    });
    expect(g.status).toBe(201);
    // the user's side, half way: its membership inserted, the group's version not yet moved
    const userSide = await tenantTransaction(url(), t.id);
    try {
      await userSide.query('insert into role_members (tenant_id, role_id, user_id) values ($1, $2, $3)', [tenantUuid(t.id), g.json.id, x]);
      const patch = scim(
        'PATCH',
        `/Groups/${g.json.id}`,
        patchOp({ op: 'remove', path: `members[value eq "${y}"]` }, { op: 'add', path: 'members', value: [{ value: x }] }),
      );
      await rowLockWaiters(userSide, 1, 'the PATCH’s add to wait for the user’s side');
      // the user's side finishes: it moves the group's version, which the PATCH must not be holding
      await userSide.query('update roles set version = version + 1, updated_at = now() where id = $1', [g.json.id]);
      await userSide.query('commit');
      expect((await patch).status).toBe(204);
    } finally {
      await userSide.end();
    }
    const after = await scim('GET', `/Groups/${g.json.id}`);
    expect(after.json.members.map((m: { value: string }) => m.value)).toEqual([x]);
  });
});

describe('a report and its manager created at the same moment', () => {
  // Okta pushes new users in parallel. The report named its manager by externalId before the manager's create
  // committed, so it found no one and kept a pending reference; the manager's backfill could not see the
  // report's uncommitted row either: both answered 201, and the reporting line was lost for good. The
  // interleaving is made for real: an earlier pending report's row, held by the test, stops the manager's
  // create in its backfill, after its insert and before its commit; the report's create runs meanwhile.
  it('links the report whichever commits first', async () => {
    const t = await app1.createTenant();
    const scim = scimClient(app1, `Bearer ${t.scimToken}`);
    const create = (body: Record<string, unknown>) => scim('POST', '/Users', { schemas: [CORE, ENTERPRISE], ...body });
    const earlier = await create({ userName: 'earlier@same-moment.test', [ENTERPRISE]: { manager: { value: 'ext-boss' } } });
    expect(earlier.status).toBe(201);
    const held = await tenantTransaction(url(), t.id);
    let boss: Promise<HttpResponse> | undefined;
    let report: Promise<HttpResponse> | undefined;
    try {
      await held.query('select 1 from users where id = $1 for update', [earlier.json.id]);
      boss = create({ userName: 'boss@same-moment.test', externalId: 'ext-boss' });
      await rowLockWaiters(held, 1, 'the manager’s backfill to wait for the earlier report’s row');
      report = create({ userName: 'report@same-moment.test', [ENTERPRISE]: { manager: { value: 'ext-boss' } } });
      // the report's create either finishes now (it could not see the manager) or waits for the manager's
      await Promise.race([report, advisoryLockWaiters(held, 1, 'the report to wait for its manager’s create').catch(() => undefined)]);
      await held.query('commit');
      expect([(await boss).status, (await report).status]).toEqual([201, 201]);
    } finally {
      await held.end();
    }
    const bossId = (await boss).json.id;
    for (const res of [await scim('GET', `/Users/${earlier.json.id}`), await scim('GET', `/Users/${(await report).json.id}`)])
      expect(res.json[ENTERPRISE]?.manager?.value).toBe(bossId);
  }, 60_000);
});
