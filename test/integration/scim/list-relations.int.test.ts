/**
 * A list page reads its users' relations (department, manager and its display name, groups) with the page,
 * joined once to its rows (USER_RELATION_JOINS): every page, by index or by cursor, says of each user what
 * GET /Users/{id} says.
 */
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectListResponse, expectStatus } from './helpers.js';

let app: TestApp;
let t: TestTenant;
let scim: ScimClient;
const ids: string[] = [];
let many: string;
let researcher: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  scim = scimClient(app.baseUrl, t.scimToken);
  const user = async (userName: string, extra: Record<string, unknown> = {}) => {
    const res = await scim.post('/Users', { schemas: [USER_SCHEMA, ENTERPRISE], userName, ...extra });
    expectStatus(res, 201);
    ids.push(res.body.id);
    return res.body.id as string;
  };
  const boss = await user('lr-boss@x.test', { name: { givenName: 'Grace', familyName: 'Hopper' }, [ENTERPRISE]: { department: 'Navy' } });
  const lead = await user('lr-lead@x.test', { displayName: 'The Lead', [ENTERPRISE]: { department: 'Navy', manager: { value: boss } } });
  const reports: string[] = [];
  for (let i = 0; i < 5; i++)
    reports.push(
      await user(`lr-${i}@x.test`, { [ENTERPRISE]: { department: i % 2 ? 'Research' : 'Navy', manager: { value: i % 2 ? boss : lead } } }),
    );
  [many, researcher] = [reports[0], reports[1]];
  await user('lr-pending@x.test', { [ENTERPRISE]: { manager: { value: 'not-yet-provisioned' } } });
  // groups named out of creation order; some users in several, some in none
  const group = async (displayName: string, members: string[]) =>
    expectStatus(await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) }), 201);
  await group('zeta', [reports[0], reports[1], reports[2]]);
  await group('Alpha', [reports[0], reports[3]]);
  await group('mid', [reports[0]]);
  // a departed colleague (not a manager): gone from every list
  expectStatus(await scim.delete(`/Users/${reports[4]}`), 204);
  ids.splice(ids.indexOf(reports[4]), 1);
});
afterAll(() => app.close());

const one = async (id: string) => (await scim.get(`/Users/${id}`)).body;

describe('a list page with its users’ relations', () => {
  it('says of each user what GET /Users/{id} says, on index pages and on cursor pages', async () => {
    const listed = new Map<string, Record<string, unknown>>();
    for (let startIndex = 1; ; startIndex += 3) {
      const page = expectListResponse(await scim.get(`/Users${qs({ startIndex, count: 3 })}`));
      for (const r of page.Resources) listed.set(r.id as string, r);
      if (startIndex + 3 > page.totalResults) break;
    }
    const cursored = new Map<string, Record<string, unknown>>();
    for (let cursor = ''; ;) {
      const page = expectListResponse(await scim.get(`/Users${qs({ cursor, count: 2 })}`));
      for (const r of page.Resources) cursored.set(r.id as string, r);
      if (!page.nextCursor) break;
      cursor = page.nextCursor as string;
    }
    expect([...listed.keys()].sort()).toEqual([...ids].sort());
    expect([...cursored.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const single = await one(id);
      expect(listed.get(id)).toEqual(single);
      expect(cursored.get(id)).toEqual(single);
    }
    const first = listed.get(many) as { groups: Array<{ display: string }>; [k: string]: unknown };
    expect(first.groups.map((g) => g.display)).toEqual(['Alpha', 'mid', 'zeta']);
    expect(first[ENTERPRISE]).toMatchObject({ department: 'Navy', manager: { displayName: 'The Lead' } });
    expect((listed.get(researcher) as Record<string, unknown>)[ENTERPRISE]).toMatchObject({
      department: 'Research',
      manager: { displayName: 'Grace Hopper' },
    });
  });
});
