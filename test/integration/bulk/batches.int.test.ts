// Synchronous GraphQL batches: upsertUsers and assignRoles / unassignRoles.
import { AssignRolesDocument, RosterClient, UnassignRolesDocument, type UpsertUserInput } from '../../../client/src/index.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { clientFor, tenantSql } from './support.js';

// Jobs run in a worker loop and are polled: give every test room (ESM jest has no global `jest`).
(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(120_000);
let app: TestApp;
let t: TestTenant;
let client: RosterClient;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  client = clientFor(app, t);
});
afterAll(() => app.close());

const auditCount = async (tenant: TestTenant) =>
  Number((await tenantSql<{ n: string }>(tenant.id, `select count(*) as n from audit_events`))[0].n);
const versions = async (tenant: TestTenant) =>
  (
    await tenantSql<{ user_name: string; version: number }>(
      tenant.id,
      `select user_name, version from users where deleted_at is null order by user_name`,
    )
  ).map((r) => `${r.user_name}@${r.version}`);

function people(n: number, prefix: string): UpsertUserInput[] {
  return Array.from({ length: n }, (_, i) => ({
    userName: `${prefix}${i}@batch.test`,
    externalId: `${prefix.toUpperCase()}-${i}`,
    name: { givenName: `Given${i}`, familyName: 'Batch' },
    displayName: `Person ${i}`,
    title: i % 2 ? 'Engineer' : 'Designer',
    emails: [
      { value: `${prefix}${i}@batch.test`, type: 'work', primary: true },
      { value: `home${i}@batch.test`, type: 'home' },
    ],
    phoneNumbers: [{ value: `+1 555 01${i}`, type: 'work' }],
    department: i % 3 ? 'Engineering' : 'Design',
    manager: i === 0 ? null : { externalId: `${prefix.toUpperCase()}-0` },
    customAttributes: {},
    active: true,
  }));
}

describe('upsertUsers', () => {
  it('creates, then a second identical run changes nothing: no version bump, no audit entry', async () => {
    const tenant = await app.createTenant();
    const c = clientFor(app, tenant);
    // Reports come first: their manager (item 0 of the batch… and a later one) is resolved by backfill.
    const batch = people(25, 'idem').reverse();
    const first = await c.upsertUsers(batch, 'EXTERNAL_ID');
    expect(first).toMatchObject({ created: 25, updated: 0, unchanged: 0, failed: 0, userErrors: [] });
    expect(first.results.map((r) => r.index)).toEqual([...Array(25).keys()]);
    expect(first.results.every((r) => r.outcome === 'CREATED' && r.user?.userName === batch[r.index].userName)).toBe(true);

    const auditBefore = await auditCount(tenant);
    const versionsBefore = await versions(tenant);
    const second = await c.upsertUsers(batch, 'EXTERNAL_ID');
    expect(second).toMatchObject({ created: 0, updated: 0, unchanged: 25, failed: 0 });
    expect(second.results.every((r) => r.outcome === 'UNCHANGED' && r.userErrors.length === 0)).toBe(true);
    expect(await auditCount(tenant)).toBe(auditBefore);
    expect(await versions(tenant)).toEqual(versionsBefore);

    // The reporting lines formed in the first run, whatever the order inside the batch.
    const linked = await tenantSql<{ n: string }>(
      tenant.id,
      `select count(*) as n from users u join users m on m.id = u.manager_id where m.external_id = 'IDEM-0'`,
    );
    expect(Number(linked[0].n)).toBe(24);

    // A real change to one item updates exactly that one, with one audit entry.
    const changed = batch.map((u) => (u.externalId === 'IDEM-7' ? { ...u, title: 'Principal' } : u));
    const third = await c.upsertUsers(changed, 'EXTERNAL_ID');
    expect(third).toMatchObject({ created: 0, updated: 1, unchanged: 24, failed: 0 });
    expect(await auditCount(tenant)).toBe(auditBefore + 1);
  });

  it('matches by userName (case-insensitively) and may change the externalId', async () => {
    const r1 = await client.upsertUsers([{ userName: 'Match.Me@batch.test', externalId: 'OLD-1', title: 'A' }], 'USER_NAME');
    expect(r1.created).toBe(1);
    const r2 = await client.upsertUsers([{ userName: 'match.me@BATCH.test', externalId: 'NEW-1', title: 'A' }], 'USER_NAME');
    expect(r2).toMatchObject({ created: 0, updated: 1 });
    expect(r2.results[0].user?.scimId).toBe(r1.results[0].user?.scimId);
    expect(r2.results[0].user?.externalId).toBe('NEW-1');
  });

  it('reports per-item errors; the other items of the batch are applied', async () => {
    const res = await client.upsertUsers(
      [
        { userName: 'ok1@batch.test', externalId: 'E-OK-1' },
        { userName: '', externalId: 'E-BAD-1' },
        { userName: 'nox@batch.test' }, // matchBy EXTERNAL_ID needs an externalId
        { userName: 'cyc@batch.test', externalId: 'E-CYC', manager: { externalId: 'E-CYC' } },
        { userName: 'ok2@batch.test', externalId: 'E-OK-2', customAttributes: { undeclared: 1 } },
        { userName: 'ok3@batch.test', externalId: 'E-OK-3' },
      ],
      'EXTERNAL_ID',
    );
    expect(res).toMatchObject({ created: 2, failed: 4 });
    const codes = res.results.map((r) => r.userErrors[0]?.code ?? r.outcome);
    expect(codes).toEqual(['CREATED', 'INVALID_INPUT', 'INVALID_INPUT', 'MANAGER_CYCLE', 'INVALID_INPUT', 'CREATED']);
    expect(res.results[2].userErrors[0].field).toBe('externalId');
    // A failed item left nothing behind (its savepoint was rolled back).
    const rows = await tenantSql<{ user_name: string }>(
      t.id,
      `select user_name from users where user_name like 'cyc@%' or user_name like 'ok2@%'`,
    );
    expect(rows).toEqual([]);
  });

  it('refuses more than 1,000 users with LIMIT_EXCEEDED and changes nothing', async () => {
    const tenant = await app.createTenant();
    const users = Array.from({ length: 1001 }, (_, i) => ({ userName: `u${i}@limit.test`, externalId: `L-${i}` }));
    const data = await clientFor(app, tenant).request((await import('../../../client/src/index.js')).UpsertUsersDocument, {
      input: { users, matchBy: 'EXTERNAL_ID' },
    });
    expect(data.upsertUsers.results).toEqual([]);
    expect(data.upsertUsers.userErrors).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', field: 'users' })]);
    expect(await tenantSql(tenant.id, `select 1 from users`)).toEqual([]);
  });

  it('handles a full batch of 1,000 users', async () => {
    const tenant = await app.createTenant();
    const users = Array.from({ length: 1000 }, (_, i) => ({
      userName: `u${i}@full.test`,
      externalId: `F-${i}`,
      department: `Team ${i % 10}`,
    }));
    const res = await clientFor(app, tenant).upsertUsers(users);
    expect(res).toMatchObject({ created: 1000, failed: 0 });
    const again = await clientFor(app, tenant).upsertUsers(users);
    expect(again).toMatchObject({ unchanged: 1000 });
  }, 240_000);

  it('needs directory:write', async () => {
    const key = await t.raw<{ createApiKey: { secret: string } }>(
      `mutation { createApiKey(input: { name: "ro", permissions: ["directory:read"] }) { secret } }`,
    );
    const ro = clientFor(app, t, key.data!.createApiKey.secret);
    await expect(ro.upsertUsers([{ userName: 'x@batch.test', externalId: 'X' }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('assignRoles / unassignRoles', () => {
  it('assigns per item, idempotently, with per-item errors', async () => {
    const tenant = await app.createTenant();
    const c = clientFor(app, tenant);
    const made = await c.upsertUsers(Array.from({ length: 5 }, (_, i) => ({ userName: `r${i}@roles.test`, externalId: `R-${i}` })));
    const ids = made.results.map((r) => r.user!.id);
    const role = await tenant.raw<{ createRole: { role: { id: string } } }>(
      `mutation { createRole(input: { displayName: "Admins" }) { role { id } } }`,
    );
    const role2 = await tenant.raw<{ createRole: { role: { id: string } } }>(
      `mutation { createRole(input: { displayName: "Auditors" }) { role { id } } }`,
    );
    const adminId = role.data!.createRole.role.id;
    const auditorId = role2.data!.createRole.role.id;

    const input = {
      assignments: [
        { roleId: adminId, userIds: ids.slice(0, 3) },
        { roleId: 'bogus', userIds: ids },
        { roleId: auditorId, userIds: [made.results[4].user!.scimId] },
      ],
    };
    const first = (await c.request(AssignRolesDocument, { input })).assignRoles;
    expect(first.changed).toBe(4);
    expect(first.failed).toBe(1);
    expect(first.results.map((r) => r.changed)).toEqual([3, null, 1]);
    expect(first.results[1].userErrors[0].code).toBe('NOT_FOUND');

    const auditBefore = await auditCount(tenant);
    const second = (await c.request(AssignRolesDocument, { input })).assignRoles;
    expect(second.results.map((r) => r.changed)).toEqual([0, null, 0]);
    expect(await auditCount(tenant)).toBe(auditBefore);

    const removed = (await c.request(UnassignRolesDocument, { input: { assignments: [{ roleId: adminId, userIds: ids }] } })).unassignRoles;
    expect(removed).toMatchObject({ changed: 3, failed: 0 });
    const again = (await c.request(UnassignRolesDocument, { input: { assignments: [{ roleId: adminId, userIds: ids }] } })).unassignRoles;
    expect(again).toMatchObject({ changed: 0, failed: 0 });
  });

  it('refuses more than 1,000 assignments', async () => {
    const assignments = Array.from({ length: 1001 }, () => ({ roleId: 'x', userIds: [] }));
    const res = (await client.request(AssignRolesDocument, { input: { assignments } })).assignRoles;
    expect(res.userErrors[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'assignments' });
    expect(res.results).toEqual([]);
  });
});
