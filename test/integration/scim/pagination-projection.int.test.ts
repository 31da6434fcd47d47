/**
 * Paging (RFC 7644 §3.4.2.4 index paging, RFC 9865 cursors), sorting (§3.4.2.3), POST /.search (§3.4.3)
 * and attribute projection (§3.4.2.5) on GET, list and .search.
 */
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, qs, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectListResponse, expectScimError, expectStatus, inParallel, sleep } from './helpers.js';

let app: TestApp;
let t: TestTenant;
let scim: ScimClient;

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const N = 25;
/** userName, familyName and creation order of the fixture. */
const originals: Array<{ id: string; userName: string; family: string; created: string }> = [];

// Family names in an order unrelated to userNames and to creation order.
const FAMILIES = [
  'Quinn',
  'Adams',
  'Young',
  'Baker',
  'Xu',
  'Clark',
  'Wells',
  'Diaz',
  'Vance',
  'Evans',
  'Upton',
  'Ford',
  'Tate',
  'Gray',
  'Shaw',
  'Hill',
  'Rowe',
  'Ives',
  'Park',
  'Jude',
  'Oakes',
  'King',
  'Nash',
  'Lamb',
  'Moss',
];

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
  scim = scimClient(app.baseUrl, t.scimToken);
  // Created one after the other (distinct meta.created), with userNames not in creation order.
  for (let i = 0; i < N; i++) {
    const userName = `user-${String((i * 7) % N).padStart(2, '0')}@page.test`;
    const res = await scim.post('/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName,
      name: { givenName: `Given${i}`, familyName: FAMILIES[i] },
      emails: [{ value: userName, type: 'work', primary: true }],
      title: i % 2 ? 'Odd' : 'Even',
      [ENTERPRISE]: { department: `Dept ${i % 3}` },
    });
    expectStatus(res, 201);
    originals.push({ id: res.body.id, userName, family: FAMILIES[i], created: res.body.meta.created });
    await sleep(2);
  }
});
afterAll(() => app.close());

let added = 0;
async function addUser() {
  added++;
  const res = await scim.post('/Users', { schemas: [USER_SCHEMA], userName: `late-${added}@page.test`, name: { familyName: 'Aaron' } });
  expectStatus(res, 201);
}

describe('index pagination', () => {
  it('startIndex/count over several pages keeps a stable order while users are added between pages: no duplicates, no gaps', async () => {
    const seen: string[] = [];
    let startIndex = 1;
    let pages = 0;
    for (;;) {
      const list = expectListResponse(await scim.get(`/Users${qs({ startIndex, count: 7 })}`));
      expect(list.startIndex).toBe(startIndex);
      expect(list.totalResults).toBe(N + added);
      seen.push(...list.Resources.map((r) => r.userName));
      pages++;
      await addUser();
      if (list.Resources.length === 0 || startIndex + list.itemsPerPage > list.totalResults) break;
      startIndex += list.itemsPerPage;
    }
    expect(pages).toBeGreaterThanOrEqual(4);
    const originalsSeen = seen.filter((n) => !n.startsWith('late-'));
    expect(new Set(seen).size).toBe(seen.length);
    expect(originalsSeen.sort()).toEqual(originals.map((o) => o.userName).sort());
  });

  it('Okta-style import pages of 10 with a sort: every page has integer fields and the pages tile the result', async () => {
    const total = expectListResponse(await scim.get(`/Users${qs({ count: 0 })}`)).totalResults;
    const names: string[] = [];
    for (let startIndex = 1; startIndex <= total; startIndex += 10) {
      const list = expectListResponse(await scim.get(`/Users${qs({ startIndex, count: 10, sortBy: 'userName' })}`));
      expect(list.itemsPerPage).toBe(Math.min(10, total - startIndex + 1));
      names.push(...list.Resources.map((r) => r.userName));
    }
    expect(names).toHaveLength(total);
    expect(names).toEqual(names.slice().sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  });

  it('count=0 returns only totalResults; startIndex past the end returns an empty page', async () => {
    const res = await scim.get(`/Users${qs({ count: 0 })}`);
    const list = expectListResponse(res);
    expect(list.totalResults).toBe(N + added);
    expect(list.Resources).toEqual([]);
    expect(list.itemsPerPage).toBe(0);
    const filtered = expectListResponse(await scim.get(`/Users${qs({ count: 0, filter: 'title eq "Odd"' })}`));
    expect(filtered.totalResults).toBe(12);
    const past = expectListResponse(await scim.get(`/Users${qs({ startIndex: 1000, count: 10 })}`));
    expect(past).toMatchObject({ startIndex: 1000, itemsPerPage: 0, totalResults: N + added, Resources: [] });
  });

  it('count above the maximum is clamped to the advertised maxPageSize; startIndex < 1 reads as 1; non-integers are 400', async () => {
    const spc = await scim.get('/ServiceProviderConfig');
    const max = spc.body.pagination.maxPageSize;
    expect(max).toBe(1000);
    const list = expectListResponse(await scim.get(`/Users${qs({ count: 5000 })}`));
    expect(list.itemsPerPage).toBe(list.totalResults);
    expect(list.itemsPerPage).toBeLessThanOrEqual(max);
    const zero = expectListResponse(await scim.get(`/Users${qs({ startIndex: 0, count: 3 })}`));
    expect(zero.startIndex).toBe(1);
    expect(zero.itemsPerPage).toBe(3);
    const negative = expectListResponse(await scim.get(`/Users${qs({ count: -5 })}`));
    expect(negative).toMatchObject({ itemsPerPage: 0, Resources: [], totalResults: N + added });
    expectScimError(await scim.get(`/Users${qs({ count: 'ten' })}`), 400, 'invalidValue');
    expectScimError(await scim.get(`/Users${qs({ startIndex: '1.5' })}`), 400, 'invalidValue');
    // past PostgreSQL's bigint offset: a 400, not a 500 from the database (found by probing)
    for (const startIndex of ['99999999999999999999', '9223372036854775808', '2147483648'])
      for (const path of ['/Users', '/Groups']) expectScimError(await scim.get(`${path}${qs({ startIndex })}`), 400, 'invalidValue');
    expectScimError(await scim.post('/Users/.search', { startIndex: 1e20, count: 1 }), 400, 'invalidValue');
    const last = expectListResponse(await scim.get(`/Users${qs({ startIndex: 2147483647, count: 1 })}`));
    expect(last).toMatchObject({ startIndex: 2147483647, itemsPerPage: 0, Resources: [] });
  });
});

describe('sorting', () => {
  const fixtureOnly = 'userName ew "@page.test" and not (userName sw "late-")';
  const sorted = async (sortBy: string, sortOrder?: string) =>
    expectListResponse(await scim.get(`/Users${qs({ filter: fixtureOnly, sortBy, sortOrder, count: 100 })}`)).Resources;

  it('sortBy userName ascending (default) and descending', async () => {
    const expected = originals.map((o) => o.userName).sort();
    expect((await sorted('userName')).map((r) => r.userName)).toEqual(expected);
    expect((await sorted('userName', 'ascending')).map((r) => r.userName)).toEqual(expected);
    expect((await sorted('userName', 'descending')).map((r) => r.userName)).toEqual(expected.slice().reverse());
  });

  it('sortBy meta.created ascending and descending', async () => {
    const expected = originals.map((o) => o.id);
    expect((await sorted('meta.created')).map((r) => r.id)).toEqual(expected);
    expect((await sorted('meta.created', 'descending')).map((r) => r.id)).toEqual(expected.slice().reverse());
  });

  it('sortBy name.familyName ascending and descending, names compared case-insensitively', async () => {
    const expected = originals.map((o) => o.family).sort();
    expect((await sorted('name.familyName')).map((r) => r.name.familyName)).toEqual(expected);
    expect((await sorted('NAME.FAMILYNAME', 'descending')).map((r) => r.name.familyName)).toEqual(expected.slice().reverse());
  });

  it('sorting and paging combine: pages of a sorted list tile it', async () => {
    const all = (await sorted('name.familyName', 'descending')).map((r) => r.id);
    const paged: string[] = [];
    for (let startIndex = 1; startIndex <= N; startIndex += 6) {
      const list = expectListResponse(
        await scim.get(`/Users${qs({ filter: fixtureOnly, sortBy: 'name.familyName', sortOrder: 'descending', startIndex, count: 6 })}`),
      );
      paged.push(...list.Resources.map((r) => r.id));
    }
    expect(paged).toEqual(all);
  });

  it('an unknown sortBy attribute or sortOrder is 400', async () => {
    expectScimError(await scim.get(`/Users${qs({ sortBy: 'shoeSize' })}`), 400, 'invalidValue');
    expectScimError(await scim.get(`/Users${qs({ sortBy: 'userName', sortOrder: 'sideways' })}`), 400, 'invalidValue');
  });
});

describe('cursor pagination (RFC 9865)', () => {
  it('cursor= then nextCursor covers every row exactly once; the last page has no nextCursor', async () => {
    const total = expectListResponse(await scim.get(`/Users${qs({ count: 0 })}`)).totalResults;
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    for (;;) {
      const list = expectListResponse(await scim.get(`/Users?cursor=${encodeURIComponent(cursor)}&count=4`));
      expect(list.totalResults).toBe(total);
      seen.push(...list.Resources.map((r) => r.id));
      pages++;
      if (!list.nextCursor) break;
      expect(typeof list.nextCursor).toBe('string');
      cursor = list.nextCursor;
      expect(pages).toBeLessThan(100);
    }
    expect(pages).toBe(Math.ceil(total / 4));
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    for (const o of originals) expect(seen).toContain(o.id);
  });

  it('with a filter, and through .search', async () => {
    const ids: string[] = [];
    let cursor = '';
    for (;;) {
      const res = await scim.post('/Users/.search', { schemas: [SEARCH], filter: 'title eq "Even"', cursor, count: 5 });
      const list = expectListResponse(res);
      ids.push(...list.Resources.map((r) => r.id));
      if (!list.nextCursor) break;
      cursor = list.nextCursor;
    }
    expect(ids).toHaveLength(13);
    expect(new Set(ids).size).toBe(13);
  });

  it('a cursor the server did not issue is 400 invalidCursor; cursor with startIndex or sortBy is 400', async () => {
    expectScimError(await scim.get('/Users?cursor=bm90LWEtY3Vyc29y&count=5'), 400, 'invalidCursor');
    expectScimError(await scim.get('/Users?cursor=&startIndex=1'), 400, 'invalidValue');
    expectScimError(await scim.get('/Users?cursor=&sortBy=userName'), 400, 'invalidValue');
  });
});

describe('POST /Users/.search', () => {
  it('takes a SearchRequest body: filter, sortBy, sortOrder, startIndex, count, attributes', async () => {
    const res = await scim.post('/Users/.search', {
      schemas: [SEARCH],
      filter: 'title eq "Odd" and name.familyName lt "E"',
      sortBy: 'name.familyName',
      sortOrder: 'descending',
      startIndex: 2,
      count: 2,
      attributes: ['userName', 'name.familyName'],
    });
    const list = expectListResponse(res);
    expect(list).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
    expect(list.Resources.map((r) => r.name.familyName)).toEqual(['Clark', 'Baker']);
    expect(Object.keys(list.Resources[0]).sort()).toEqual(['id', 'name', 'schemas', 'userName']);
    const all = expectListResponse(
      await scim.post('/Users/.search', {
        schemas: [SEARCH],
        filter: 'title eq "Even"',
        startIndex: 3,
        count: 4,
        excludedAttributes: ['emails', 'name'],
      }),
    );
    expect(all.totalResults).toBe(13);
    expect(all.startIndex).toBe(3);
    expect(all.itemsPerPage).toBe(4);
    for (const r of all.Resources) {
      expect(r.emails).toBeUndefined();
      expect(r.name).toBeUndefined();
      expect(r.userName).toBeDefined();
    }
  });
});

describe('attribute projection', () => {
  let id: string;
  let groupId: string;

  beforeAll(async () => {
    id = originals[0].id;
    const g = await scim.post('/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Projected',
      externalId: 'PRJ',
      members: originals.slice(0, 3).map((o) => ({ value: o.id })),
    });
    expectStatus(g, 201);
    groupId = g.body.id;
  });

  it('GET ?attributes=userName,emails.value returns only those (and id, schemas)', async () => {
    const res = await scim.get(`/Users/${id}?attributes=userName,emails.value`);
    expectStatus(res, 200);
    expect(res.body).toEqual({ schemas: [USER_SCHEMA], id, userName: originals[0].userName, emails: [{ value: originals[0].userName }] });
  });

  it('GET ?excludedAttributes=emails leaves emails out and keeps the rest', async () => {
    const res = await scim.get(`/Users/${id}?excludedAttributes=emails`);
    expectStatus(res, 200);
    expect(res.body.emails).toBeUndefined();
    expect(res.body).toMatchObject({
      id,
      userName: originals[0].userName,
      name: { familyName: originals[0].family },
      active: true,
      title: 'Even',
      meta: { resourceType: 'User' },
    });
    expect(res.body[ENTERPRISE]).toEqual({ department: 'Dept 0' });
  });

  it('URN-qualified and case-insensitive names', async () => {
    const qualified = await scim.get(
      `/Users/${id}?attributes=${encodeURIComponent(`urn:ietf:params:scim:schemas:core:2.0:User:userName,${ENTERPRISE}:department`)}`,
    );
    expectStatus(qualified, 200);
    expect(qualified.body).toEqual({
      schemas: [USER_SCHEMA, ENTERPRISE],
      id,
      userName: originals[0].userName,
      [ENTERPRISE]: { department: 'Dept 0' },
    });
    const cased = await scim.get(`/Users/${id}?attributes=USERNAME,Name.FamilyName`);
    expect(cased.body).toEqual({ schemas: [USER_SCHEMA], id, userName: originals[0].userName, name: { familyName: originals[0].family } });
    const excludedExt = await scim.get(`/Users/${id}?excludedAttributes=${encodeURIComponent(ENTERPRISE)},TITLE`);
    expect(excludedExt.body[ENTERPRISE]).toBeUndefined();
    expect(excludedExt.body.schemas).toEqual([USER_SCHEMA]);
    expect(excludedExt.body.title).toBeUndefined();
    expect(excludedExt.body.userName).toBe(originals[0].userName);
  });

  it('id is always returned, even when excluded', async () => {
    const res = await scim.get(`/Users/${id}?excludedAttributes=id,userName`);
    expect(res.body.id).toBe(id);
    expect(res.body.userName).toBeUndefined();
  });

  it('on lists and .search', async () => {
    const list = expectListResponse(await scim.get(`/Users${qs({ filter: 'title eq "Odd"', attributes: 'userName,emails.value' })}`));
    expect(list.totalResults).toBe(12);
    for (const r of list.Resources) expect(Object.keys(r).sort()).toEqual(['emails', 'id', 'schemas', 'userName']);
    const excluded = expectListResponse(await scim.get(`/Users${qs({ filter: 'title eq "Odd"', excludedAttributes: 'emails,meta' })}`));
    for (const r of excluded.Resources) {
      expect(r.emails).toBeUndefined();
      expect(r.meta).toBeUndefined();
      expect(r.name).toBeDefined();
    }
    const search = expectListResponse(
      await scim.post('/Users/.search', {
        schemas: [SEARCH],
        filter: 'title eq "Odd"',
        attributes: ['urn:ietf:params:scim:schemas:core:2.0:User:emails.value'],
      }),
    );
    for (const r of search.Resources) expect(Object.keys(r).sort()).toEqual(['emails', 'id', 'schemas']);
  });

  it('groups: excludedAttributes=members on GET and list; attributes=displayName', async () => {
    const full = await scim.get(`/Groups/${groupId}`);
    expect(full.body.members).toHaveLength(3);
    const without = await scim.get(`/Groups/${groupId}?excludedAttributes=members`);
    expectStatus(without, 200);
    expect(without.body.members).toBeUndefined();
    expect(without.body).toMatchObject({ id: groupId, displayName: 'Projected', externalId: 'PRJ' });
    const list = expectListResponse(await scim.get(`/Groups${qs({ excludedAttributes: 'members' })}`));
    expect(list.Resources.map((g) => g.id)).toEqual([groupId]);
    expect(list.Resources[0].members).toBeUndefined();
    const only = await scim.get(`/Groups/${groupId}?attributes=displayName`);
    expect(only.body).toEqual({ schemas: [GROUP_SCHEMA], id: groupId, displayName: 'Projected' });
    const memberValues = await scim.get(`/Groups/${groupId}?attributes=members.value`);
    expect(memberValues.body.members.map((m: any) => Object.keys(m))).toEqual([['value'], ['value'], ['value']]);
  });

  it('unknown attribute names are 400 invalidValue', async () => {
    expectScimError(await scim.get(`/Users/${id}?attributes=shoeSize`), 400, 'invalidValue');
    expectScimError(await scim.get(`/Users${qs({ excludedAttributes: 'userName.first' })}`), 400, 'invalidValue');
  });

  it('projection applies to write responses too', async () => {
    const res = await scim.post('/Users?attributes=userName', { schemas: [USER_SCHEMA], userName: 'late-projected@page.test' });
    expectStatus(res, 201);
    expect(res.body).toEqual({ schemas: [USER_SCHEMA], id: res.body.id, userName: 'late-projected@page.test' });
    added++;
  });
});

describe('parallel page reads', () => {
  it('concurrent requests for different pages all see the same order', async () => {
    const filter = 'userName ew "@page.test" and not (userName sw "late-")';
    const pages = await inParallel([1, 6, 11, 16, 21], 5, async (startIndex) =>
      expectListResponse(await scim.get(`/Users${qs({ filter, startIndex, count: 5, sortBy: 'userName' })}`)).Resources.map(
        (r) => r.userName,
      ),
    );
    expect(pages.flat()).toEqual(originals.map((o) => o.userName).sort());
  });
});
