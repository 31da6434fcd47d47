/**
 * A group of 10,000 members: built and changed with PATCH batches of 100, applied correctly, and the
 * cost of one PATCH does not depend on the group's size (membership changes are SQL deltas; the member
 * list is never loaded). Cost is measured in SQL statements sent and rows returned to the application.
 */
import { ScimRoleStateDocument } from '../../__generated__/graphql.js';
import { GROUP_SCHEMA, patchOp, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectListResponse, expectStatus, gid, tenantSql, tenantUuid, userState } from './helpers.js';
import { measureSql } from '../../setup/sql-counter.js';

let app: TestApp;
let t: TestTenant;
let scim: ScimClient;
/** U[0..9999] become members of the big group; U[10000..10099] are spare. */
let U: string[];
let bigId: string;

const BIG = 10_000;
const SPARE = 100;
const BATCH = 100;

const members = (ids: string[]) => ids.map((value) => ({ value }));
const totalMembers = async (groupId: string) => {
  const res = await t.gql(ScimRoleStateDocument, { id: gid('Role', groupId) });
  expect(res.errors).toBeUndefined();
  return res.data!.role!.members.totalCount;
};

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  scim = scimClient(app.baseUrl, t.scimToken);
  // The users are inserted in one statement (10,000 SCIM POSTs would dominate the run); the rows are what
  // the service itself writes: uuidv7 ids, the tenant, a unique userName, a work email, timestamps.
  const rows = await tenantSql<{ id: string }>(
    t.id,
    `insert into users (id, tenant_id, user_name, display_name, given_name, family_name, emails, created_at, updated_at)
     select uuidv7(), $1, u.name, 'Bulk ' || g, 'Bulk', 'User ' || g,
            jsonb_build_array(jsonb_build_object('value', u.name, 'type', 'work', 'primary', true)), now(), now()
       from generate_series(1, $2::int) g, lateral (select 'bulk-' || lpad(g::text, 5, '0') || '@big.test' as name) u
     returning id`,
    [tenantUuid(t.id), BIG + SPARE],
  );
  U = rows.map((r) => r.id);
  expect(U).toHaveLength(BIG + SPARE);
  const g = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Everyone', members: [] });
  expectStatus(g, 201);
  bigId = g.body.id;
}, 60_000);
afterAll(() => app.close());

const measure = async (fn: () => Promise<void>) => {
  const { statements, rows } = await measureSql(app, fn);
  return { statements, rows };
};

describe('a group with 10,000 members', () => {
  it('is built with 100 PATCH batches of 100 members', async () => {
    for (let i = 0; i < BIG; i += BATCH) {
      const res = await scim.patch(`/Groups/${bigId}`, patchOp({ op: 'add', path: 'members', value: members(U.slice(i, i + BATCH)) }));
      if (res.status !== 204) throw new Error(`batch ${i / BATCH}: ${res.status} ${res.text}`);
    }
    expect(await totalMembers(bigId)).toBe(BIG);
    const last = expectListResponse(
      await scim.get(`/Groups${qs({ filter: `members.value eq "${U[BIG - 1]}"`, excludedAttributes: 'members' })}`),
    );
    expect(last.Resources.map((g) => g.id)).toEqual([bigId]);
    const spare = expectListResponse(
      await scim.get(`/Groups${qs({ filter: `members.value eq "${U[BIG]}"`, excludedAttributes: 'members' })}`),
    );
    expect(spare.totalResults).toBe(0);
    // Re-adding members already there is a no-op (IdPs retry).
    expectStatus(await scim.patch(`/Groups/${bigId}`, patchOp({ op: 'add', path: 'members', value: members(U.slice(0, BATCH)) })), 204);
    expect(await totalMembers(bigId)).toBe(BIG);
  }, 120_000);

  it('removes and adds in batches of 100, in each removal form, correctly', async () => {
    // Entra: Remove + path "members" + value array.
    for (let i = 0; i < 300; i += BATCH) {
      expectStatus(
        await scim.patch(
          `/Groups/${bigId}`,
          patchOp({ op: 'Remove', path: 'members', value: members(U.slice(i, i + BATCH)).map((m) => ({ $ref: null, ...m })) }),
        ),
        204,
      );
    }
    // Okta / aadOptscim062020: one remove of members[value eq "…"] per member, 100 in one request.
    const ops = U.slice(300, 400).map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` }));
    expectStatus(await scim.patch(`/Groups/${bigId}`, patchOp(...ops)), 204);
    // Several ids joined with "or" in one value filter.
    for (let i = 400; i < 500; i += 25) {
      const filter = U.slice(i, i + 25)
        .map((id) => `value eq "${id}"`)
        .join(' or ');
      expectStatus(await scim.patch(`/Groups/${bigId}`, patchOp({ op: 'remove', path: `members[${filter}]` })), 204);
    }
    expect(await totalMembers(bigId)).toBe(BIG - 500);
    expect((await userState(t, U[499]))!.roles).toEqual([]);
    expect((await userState(t, U[500]))!.roles.map((r) => r.scimId)).toEqual([bigId]);

    // Mixed batches: add back 100 and remove 100 others in one request.
    for (let i = 0; i < 500; i += BATCH) {
      const res = await scim.patch(
        `/Groups/${bigId}`,
        patchOp(
          { op: 'add', path: 'members', value: members(U.slice(i, i + BATCH)) },
          { op: 'remove', path: 'members', value: members(U.slice(BIG - 500 + i, BIG - 500 + i + BATCH)) },
        ),
      );
      expectStatus(res, 204);
    }
    expect(await totalMembers(bigId)).toBe(BIG - 500);
    expect((await userState(t, U[BIG - 1]))!.roles).toEqual([]);
    for (let i = BIG - 500; i < BIG; i += BATCH) {
      expectStatus(
        await scim.patch(`/Groups/${bigId}`, patchOp({ op: 'add', path: 'members', value: members(U.slice(i, i + BATCH)) })),
        204,
      );
    }
    expect(await totalMembers(bigId)).toBe(BIG);
    const byRows = await tenantSql<{ n: string }>(t.id, `select count(*)::text as n from role_members where role_id = $1`, [bigId]);
    expect(Number(byRows[0].n)).toBe(BIG);
    expect((await userState(t, U[499]))!.roles.map((r) => r.scimId)).toEqual([bigId]);
    expect((await userState(t, U[BIG - 1]))!.roles.map((r) => r.scimId)).toEqual([bigId]);
  }, 120_000);

  it('one PATCH (100 added, 100 removed) costs the same statements and rows at 100 members as at 10,000', async () => {
    const small = await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Few', members: members(U.slice(0, BATCH)) });
    expectStatus(small, 201);
    expect(await totalMembers(small.body.id)).toBe(BATCH);

    const patchOf = (groupId: string, add: string[], remove: string[]) => async () => {
      const res = await scim.patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'add', path: 'members', value: members(add) },
          { op: 'Remove', path: 'members', value: members(remove) },
          { op: 'replace', path: 'displayName', value: groupId === bigId ? 'Everyone' : 'Few' },
        ),
      );
      expectStatus(res, 204);
    };
    const spare = U.slice(BIG, BIG + SPARE);
    const first = U.slice(0, BATCH);
    // Warm up (lazy metadata, the credential's last-used stamp) so that both measurements see the same path.
    expectStatus(await scim.get('/ServiceProviderConfig'), 200);
    await patchOf(small.body.id, spare, first)();
    await patchOf(small.body.id, first, spare)();

    // A read's commit follows it within a few milliseconds (infra/db/lazy-begin.ts): let it go before measuring.
    const settle = () => new Promise((r) => setTimeout(r, 50));
    expectStatus(await scim.get('/ServiceProviderConfig'), 200);
    await settle();
    const atSmall = await measure(patchOf(small.body.id, spare, first));
    expectStatus(await scim.get('/ServiceProviderConfig'), 200);
    await settle();
    const atBig = await measure(patchOf(bigId, spare, first));

    expect(atSmall.statements).toBeGreaterThan(0);
    expect(atBig).toEqual(atSmall);
    // Far below the member count: nothing proportional to the group is read.
    expect(atBig.rows).toBeLessThan(4 * BATCH);
    expect(atBig.statements).toBeLessThan(40);

    expect(await totalMembers(bigId)).toBe(BIG);
    expect(await totalMembers(small.body.id)).toBe(BATCH);
    expect((await userState(t, U[0]))!.roles.map((r) => r.displayName)).toEqual([]);
    expect((await userState(t, spare[0]))!.roles.map((r) => r.displayName).sort()).toEqual(['Everyone', 'Few']);
  }, 60_000);

  it('reads stay bounded: excludedAttributes=members skips the list; pages are clamped to 1000', async () => {
    const slim = await scim.get(`/Groups/${bigId}?excludedAttributes=members`);
    expectStatus(slim, 200);
    expect(slim.body.members).toBeUndefined();
    const cost = await measure(async () => {
      expectStatus(await scim.get(`/Groups/${bigId}?excludedAttributes=members`), 200);
    });
    expect(cost.rows).toBeLessThan(20);
    const full = await scim.get(`/Groups/${bigId}`);
    expectStatus(full, 200);
    expect(full.body.members).toHaveLength(BIG);
    const page = expectListResponse(await scim.get(`/Users${qs({ count: 1500, attributes: 'userName' })}`));
    expect(page.totalResults).toBe(BIG + SPARE);
    expect(page.itemsPerPage).toBe(1000);
  }, 60_000);
  it('removing thousands at once audits the count and the first 1,000 of them, and says the list is cut', async () => {
    const before = await totalMembers(bigId);
    expect(before).toBeGreaterThan(1000);
    expectStatus(await scim.patch(`/Groups/${bigId}`, patchOp({ op: 'remove', path: 'members' })), 204);
    expect(await totalMembers(bigId)).toBe(0);
    const [entry] = await tenantSql<{ changes: { members: { before: Record<string, unknown>; after: Record<string, unknown> } } }>(
      t.id,
      `select changes from audit_events where tenant_id = $1 and target_id = $2 and action = 'role.members_changed'
        order by occurred_at desc, id desc limit 1`,
      [tenantUuid(t.id), bigId],
    );
    expect(entry.changes.members.before).toMatchObject({ removed: before, userIdsTruncated: true });
    expect(entry.changes.members.before.userIds).toHaveLength(1000);
    expect(entry.changes.members.after).toEqual({ added: 0, userIds: [] });
  }, 60_000);
});
