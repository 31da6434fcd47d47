import { ENTERPRISE, USER_SCHEMA, patchOp, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { statementsOf } from '../../setup/sql-counter.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';

/**
 * A SCIM lookup's page travels with the door's message once the connection has prepared it
 * (infra/db/prefetch.ts): one round trip instead of two, the same answer, and nothing another tenant could see.
 */
let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let scimA: ScimClient;
let scimB: ScimClient;

beforeAll(async () => {
  app = await startTestApp();
  a = await app.createTenant();
  b = await app.createTenant();
  scimA = scimClient(app.baseUrl, a.scimToken);
  scimB = scimClient(app.baseUrl, b.scimToken);
});
afterAll(() => app.close());

const lookup = (scim: ScimClient, userName: string) => scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);

/** Lookups of the same shape, enough for every connection the tests' pool (10) hands out in turn to have prepared it. */
async function warm(scim: ScimClient) {
  for (let i = 0; i < 12; i++) expect((await lookup(scim, `warm-${i}@x.test`)).status).toBe(200);
}

/** The statements of `fn`, from a quiet start, its read's deferred commit included. */
const measured = (fn: () => Promise<void>) => statementsOf(app, fn);

const userBody = (userName: string, displayName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA, ENTERPRISE],
  userName,
  displayName,
  [ENTERPRISE]: { department: 'Engineering' },
  ...extra,
});

describe('a SCIM lookup', () => {
  it('is one round trip once its connection has prepared the page, and answers as before', async () => {
    const boss = await scimA.post('/Users', userBody('pf-boss@x.test', 'The Boss'));
    const ic = await scimA.post(
      '/Users',
      userBody('pf-ic@x.test', 'An IC', { [ENTERPRISE]: { department: 'Engineering', manager: { value: boss.body.id } } }),
    );
    expect(ic.status).toBe(201);
    const group = await scimA.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'PF Group',
      members: [{ value: ic.body.id }],
    });
    expect(group.status).toBe(201);
    await warm(scimA);

    let body: any;
    const hit = await measured(async () => {
      const res = await lookup(scimA, 'PF-IC@x.test');
      expect(res.status).toBe(200);
      body = res.body;
    });
    expect(body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(body.Resources[0]).toMatchObject({
      id: ic.body.id,
      userName: 'pf-ic@x.test',
      displayName: 'An IC',
      groups: [expect.objectContaining({ value: group.body.id, display: 'PF Group' })],
      [ENTERPRISE]: { department: 'Engineering', manager: { value: boss.body.id, displayName: 'The Boss' } },
    });
    // the door's message with the page's `execute`, then the deferred commit: no message of its own for the page
    const door = hit.sql.filter((q) => /roster_door/.test(q));
    expect(door).toEqual([expect.stringMatching(/roster_enter_door\(.*; execute roster_\d+\('[0-9a-f-]{36}', 'PF-IC@x.test'/s)]);
    expect(hit.sql.filter((q) => /with page as/.test(q))).toEqual([]);
    expect(hit.statements).toBeLessThanOrEqual(2);

    const miss = await measured(async () => {
      const res = await lookup(scimA, 'nobody@x.test');
      expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
    });
    expect(miss.statements).toBeLessThanOrEqual(2);
  });

  it('of /Users/{id}: GET and an Entra PATCH read the user with the door, and answer as before', async () => {
    const u = await scimA.post('/Users', userBody('pf-patch@x.test', 'Patch Me'));
    expect(u.status).toBe(201);
    for (let i = 0; i < 12; i++) expect((await scimA.get(`/Users/${u.body.id}`)).status).toBe(200);
    let got: any;
    const get = await measured(async () => {
      got = await scimA.get(`/Users/${u.body.id}`);
    });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: u.body.id, displayName: 'Patch Me', [ENTERPRISE]: { department: 'Engineering' } });
    expect(get.sql.filter((q) => /roster_door/.test(q))).toEqual([
      expect.stringMatching(new RegExp(`; execute roster_\\d+\\('[0-9a-f-]{36}', '${u.body.id}'\\)$`)),
    ]);
    expect(get.statements).toBeLessThanOrEqual(2);

    const patch = await measured(async () => {
      const res = await scimA.patch(`/Users/${u.body.id}`, patchOp({ op: 'Replace', path: 'title', value: 'Lead' }));
      expect(res.status).toBe(204);
    });
    expect(patch.sql.filter((q) => /roster_door/.test(q))).toEqual([expect.stringMatching(/; execute roster_\d+\(/)]);
    // the user with its relations is not read again (the lock is another statement: the row, for no key update)
    expect(patch.sql.filter((q) => /_team_name[\s\S]*u\.id = \$2::uuid and u\.deleted_at is null/.test(q))).toEqual([]);
    // … as a prepared statement of the connection (planned once, not on every PATCH)
    expect(patch.sql.filter((q) => /u\.id = \$2::uuid and u\.deleted_at is null for no key update$/.test(q))).toEqual([
      expect.stringMatching(/^\/\* roster:prepared \*\/ select u\.id, u\.tenant_id, /),
    ]);
    expect((await scimA.get(`/Users/${u.body.id}`)).body.title).toBe('Lead');

    const missing = await scimA.get('/Users/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect((await scimA.get('/Users/%E0%A4%A')).status).toBe(404);
  });

  it("answers from its own tenant only, whichever tenant's lookups ran on the connection before", async () => {
    expect((await scimA.post('/Users', userBody('same@x.test', 'In A'))).status).toBe(201);
    expect((await scimB.post('/Users', userBody('same@x.test', 'In B'))).status).toBe(201);
    await warm(scimA);
    await warm(scimB);
    for (let i = 0; i < 6; i++) {
      const [inA, inB] = await Promise.all([lookup(scimA, 'same@x.test'), lookup(scimB, 'same@x.test')]);
      expect(inA.body.Resources.map((r: any) => r.displayName)).toEqual(['In A']);
      expect(inB.body.Resources.map((r: any) => r.displayName)).toEqual(['In B']);
    }
  });

  it('with a credential revoked since its last lookup is refused as before, though its message carried the page', async () => {
    const t = await app.createTenant();
    const scim = scimClient(app.baseUrl, t.scimToken);
    expect((await scim.post('/Users', userBody('gone@x.test', 'Gone'))).status).toBe(201);
    await warm(scim);
    const revoked = await t.raw('mutation { revokeScimCredential { revoked } }');
    expect(revoked.errors).toBeUndefined();
    const m = await measured(async () => {
      const res = await lookup(scim, 'gone@x.test');
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
      expect(JSON.stringify(res.body)).not.toContain('Gone');
    });
    // the process still guessed the tenant, and the page ran where the door entered no tenant: it read nothing
    expect(m.sql.some((q) => /roster_enter_door\(.*; execute roster_\d+\(/s.test(q))).toBe(true);
  });

  it('of an import: each page travels with the door, continuing where the previous one ended, and a join between pages is seen', async () => {
    const t = await app.createTenant();
    const scim = scimClient(app.baseUrl, t.scimToken);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await scim.post('/Users', userBody(`imp-${i}@x.test`, `Imported ${i}`));
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    /** An Okta import with pages of 2: every page's ids, in order. */
    const importAll = async () => {
      const pages: string[][] = [];
      for (let start = 1, total = Infinity; start <= total;) {
        const res = await scim.get(`/Users?startIndex=${start}&count=2`);
        expect(res.status).toBe(200);
        pages.push(res.body.Resources.map((r: any) => r.id));
        total = res.body.totalResults;
        start += res.body.itemsPerPage;
      }
      return pages;
    };
    // every connection of the tests' pool (10) prepares the first page's statement and the continuing one
    for (let i = 0; i < 6; i++) await importAll();

    let pages: string[][] = [];
    const m = await measured(async () => {
      pages = await importAll();
    });
    expect(pages.flat()).toEqual([...ids].sort());
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    // four pages, four door messages each ending with its page: the first by offset, the others after the
    // previous page's last user (its id and the collection's version)
    const doors = m.sql.filter((q) => /roster_door/.test(q));
    expect(doors).toHaveLength(4);
    expect(doors[0]).toMatch(/; execute roster_\d+\('[0-9a-f-]{36}', 0, /);
    for (const [k, door] of doors.slice(1).entries())
      expect(door).toMatch(new RegExp(`; execute roster_\\d+\\('[0-9a-f-]{36}', '${pages[k].at(-1)}', `));
    expect(m.sql.filter((q) => /with page as/.test(q))).toEqual([]);

    // someone joins between two pages: the remembered position is stale (the version moved), the page that
    // travelled with the door reads nothing, and the page is taken by its offset
    const first = await scim.get('/Users?startIndex=1&count=2');
    expect(first.body.Resources.map((r: any) => r.id)).toEqual(pages[0]);
    const joined = await scim.post('/Users', userBody('imp-joined@x.test', 'Joined'));
    expect(joined.status).toBe(201);
    const all = [...ids, joined.body.id].sort();
    let second: any;
    const stale = await measured(async () => {
      second = await scim.get('/Users?startIndex=3&count=2');
    });
    expect(second.body).toMatchObject({ totalResults: 8, startIndex: 3, itemsPerPage: 2 });
    expect(second.body.Resources.map((r: any) => r.id)).toEqual(all.slice(2, 4));
    expect(stale.sql.filter((q) => /roster_door/.test(q))).toEqual([
      expect.stringMatching(new RegExp(`; execute roster_\\d+\\('[0-9a-f-]{36}', '${pages[0][1]}', `)),
    ]);
    expect(stale.sql.filter((q) => /with page as .* offset \$\d+\)/s.test(q))).toHaveLength(1);
  });

  it('by an attribute declared since the tenant was last entered is answered from the declaration', async () => {
    const t = await app.createTenant();
    const scim = scimClient(app.baseUrl, t.scimToken);
    await warm(scim);
    const declared = await t.raw(`mutation { declareCustomAttribute(input: { name: "desk", type: integer }) { userErrors { message } } }`);
    expect((declared.data as any).declareCustomAttribute.userErrors).toEqual([]);
    const urn = (await scim.get('/Schemas')).body.Resources.map((s: any) => s.id).find(
      (id: string) => /:custom:/i.test(id) || id.includes(t.slug),
    );
    expect(urn).toBeDefined();
    const u = await scim.post('/Users', { schemas: [USER_SCHEMA, urn], userName: 'desk@x.test', [urn]: { desk: 42 } });
    expect(u.status).toBe(201);
    const res = await scim.get(`/Users?filter=${encodeURIComponent(`${urn}:desk eq 42`)}`);
    expect(res.status).toBe(200);
    expect(res.body.Resources.map((r: any) => r.userName)).toEqual(['desk@x.test']);
  });
});
