// POST /scim/v2/Bulk (RFC 7644 §3.7): bulkId references (also forward ones), failOnErrors, per-operation
// results, versions, and the advertised limits.
import { ENTERPRISE, PATCH_OP, patchOp, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { tenantSql } from './support.js';

(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(120_000);

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function tenant(): Promise<{ t: TestTenant; scim: ScimClient }> {
  const t = await app.createTenant();
  return { t, scim: scimClient(app.baseUrl, t.scimToken) };
}

const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], ...extra, Operations });
const user = (userName: string, more: Record<string, unknown> = {}) => ({ schemas: [USER], userName, ...more });
const users = async (t: TestTenant) =>
  (await tenantSql<{ user_name: string }>(t.id, `select user_name from users where deleted_at is null order by user_name`)).map(
    (r) => r.user_name,
  );

describe('discovery', () => {
  it('/ServiceProviderConfig advertises bulk with its limits', async () => {
    const { scim } = await tenant();
    const res = await scim.get('/ServiceProviderConfig');
    expect(res.body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
  });
});

describe('bulkId references', () => {
  it('resolves references in path and data, also to operations later in the request', async () => {
    const { t, scim } = await tenant();
    const res = await scim.post(
      '/Bulk',
      bulk([
        // A group whose members are created further down.
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'eng',
          data: { schemas: [GROUP], displayName: 'Engineering', members: [{ value: 'bulkId:ada' }, { value: 'bulkId:bob' }] },
        },
        // A PATCH of a user created further down, addressed by bulkId in the path.
        {
          method: 'PATCH',
          path: '/Users/bulkId:ada',
          data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] },
        },
        // Ada's manager is created last.
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ada',
          data: user('ada@bulk.test', { [ENTERPRISE]: { manager: { value: 'bulkId:boss' } } }),
        },
        { method: 'POST', path: '/Users', bulkId: 'bob', data: user('bob@bulk.test') },
        { method: 'POST', path: '/Users', bulkId: 'boss', data: user('boss@bulk.test', { externalId: 'BOSS' }) },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body.schemas).toEqual([BULK_RESPONSE]);
    const ops = res.body.Operations as Array<Record<string, any>>;
    expect(ops.map((o) => [o.method, o.bulkId ?? null, o.status])).toEqual([
      ['POST', 'eng', '201'],
      ['PATCH', null, '204'],
      ['POST', 'ada', '201'],
      ['POST', 'bob', '201'],
      ['POST', 'boss', '201'],
    ]);
    for (const o of ops) {
      expect(o.location).toMatch(/\/scim\/v2\/(Users|Groups)\/[0-9a-f-]{36}$/);
      // a group's ETag is its version; a user's adds a digest of its relations (userEtag)
      expect(o.version).toMatch(/^W\/"\d+(-[0-9a-z]+)?"$/);
      expect(o.response).toBeUndefined();
    }
    const id = (i: number) => ops[i].location.split('/').pop();
    expect(ops[1].location).toBe(ops[2].location); // the PATCH addressed Ada

    const ada = await scim.get(`/Users/${id(2)}`);
    expect(ada.body.title).toBe('Lead');
    expect(ada.body[ENTERPRISE].manager.value).toBe(id(4));
    const group = await scim.get(`/Groups/${id(0)}`);
    expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual([id(2), id(3)].sort());
    // Each operation went through the domain and its audit trail, door SCIM.
    const audit = await tenantSql<{ action: string; door: string }>(
      t.id,
      `select action, door from audit_events where action in ('user.created', 'role.created', 'role.members_changed', 'user.updated') order by occurred_at`,
    );
    expect(audit.every((a) => a.door === 'scim')).toBe(true);
    expect(audit.filter((a) => a.action === 'user.created')).toHaveLength(3);
  });

  it('fails the operations of a reference cycle (409), and those depending on them; the rest apply', async () => {
    const { t, scim } = await tenant();
    const res = await scim.post(
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'a', data: user('a@cycle.test', { [ENTERPRISE]: { manager: { value: 'bulkId:b' } } }) },
        { method: 'POST', path: '/Users', bulkId: 'b', data: user('b@cycle.test', { [ENTERPRISE]: { manager: { value: 'bulkId:a' } } }) },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g',
          data: { schemas: [GROUP], displayName: 'Cyclists', members: [{ value: 'bulkId:a' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'c', data: user('c@cycle.test') },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'd',
          data: user('d@cycle.test', { [ENTERPRISE]: { manager: { value: 'bulkId:nowhere' } } }),
        },
      ]),
    );
    expect(res.status).toBe(200);
    const ops = res.body.Operations as Array<Record<string, any>>;
    expect(ops.map((o) => [o.bulkId, o.status, o.response?.scimType ?? null])).toEqual([
      ['a', '409', 'invalidValue'],
      ['b', '409', 'invalidValue'],
      ['g', '409', 'invalidValue'],
      ['c', '201', null],
      ['d', '400', 'invalidValue'],
    ]);
    expect(ops[0].response.detail).toMatch(/circular/);
    expect(ops[2].response.detail).toMatch(/bulkId:a .*failed/);
    expect(ops[4].response.detail).toMatch(/bulkId:nowhere/);
    for (const o of ops.filter((x) => x.response)) expect(o.response.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(await users(t)).toEqual(['c@cycle.test']);
    expect(await tenantSql(t.id, `select 1 from roles`)).toEqual([]);
  });
});

describe('errors', () => {
  it('an operation that fails leaves nothing behind; the others are applied', async () => {
    const { t, scim } = await tenant();
    await scim.post('/Users', user('taken@err.test'));
    const res = await scim.post(
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'ok1', data: user('ok1@err.test') },
        { method: 'POST', path: '/Users', bulkId: 'dup', data: user('TAKEN@err.test') },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'self',
          data: user('self@err.test', { externalId: 'SELF', [ENTERPRISE]: { manager: { value: 'SELF' }, department: 'Ghost Team' } }),
        },
        { method: 'DELETE', path: '/Users/00000000-0000-0000-0000-000000000000' },
        { method: 'POST', path: '/Users', bulkId: 'ok2', data: user('ok2@err.test') },
      ]),
    );
    const ops = res.body.Operations as Array<Record<string, any>>;
    expect(ops.map((o) => o.status)).toEqual(['201', '409', '400', '404', '201']);
    expect(ops[1].response).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect(await users(t)).toEqual(['ok1@err.test', 'ok2@err.test', 'taken@err.test']);
    // The failed operation's side effects (its department's team) were rolled back with it.
    expect(await tenantSql(t.id, `select 1 from teams`)).toEqual([]);
  });

  it('stops after failOnErrors errors; operations after that are neither applied nor reported', async () => {
    const { t, scim } = await tenant();
    const res = await scim.post(
      '/Bulk',
      bulk(
        [
          { method: 'POST', path: '/Users', bulkId: 'u1', data: user('u1@foe.test') },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: { schemas: [USER] } },
          { method: 'POST', path: '/Users', bulkId: 'u3', data: user('u3@foe.test') },
          { method: 'POST', path: '/Users', bulkId: 'u4', data: user('u1@foe.test') },
          { method: 'POST', path: '/Users', bulkId: 'u5', data: user('u5@foe.test') },
        ],
        { failOnErrors: 2 },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.Operations.map((o: { bulkId: string; status: string }) => [o.bulkId, o.status])).toEqual([
      ['u1', '201'],
      ['u2', '400'],
      ['u3', '201'],
      ['u4', '409'],
    ]);
    expect(await users(t)).toEqual(['u1@foe.test', 'u3@foe.test']);
  });

  it('honours version (If-Match) on PUT, PATCH and DELETE', async () => {
    const { scim } = await tenant();
    const created = await scim.post('/Users', user('v@ver.test'));
    const id = created.body.id;
    const stale = 'W/"999"';
    const res = await scim.post(
      '/Bulk',
      bulk([
        { method: 'PUT', path: `/Users/${id}`, version: stale, data: user('v@ver.test', { title: 'stale' }) },
        { method: 'PUT', path: `/Users/${id}`, version: created.headers.etag, data: user('v@ver.test', { title: 'fresh' }) },
        { method: 'DELETE', path: `/Users/${id}`, version: created.headers.etag },
      ]),
    );
    const ops = res.body.Operations as Array<Record<string, any>>;
    expect(ops.map((o) => o.status)).toEqual(['412', '200', '412']);
    expect(ops[1].version).not.toBe(created.headers.etag);
    expect(ops[1].location).toMatch(new RegExp(`/Users/${id}$`));
    expect((await scim.get(`/Users/${id}`)).body.title).toBe('fresh');
  });

  it('refuses malformed operations one by one, and a malformed request as a whole', async () => {
    const { scim } = await tenant();
    const res = await scim.post(
      '/Bulk',
      bulk([
        { method: 'GET', path: '/Users' },
        { method: 'POST', path: '/Users', data: user('nobulkid@bad.test') },
        { method: 'POST', path: '/Widgets', bulkId: 'w', data: {} },
        { method: 'PATCH', path: '/Users', data: {} },
        { method: 'POST', path: '/Users', bulkId: 'x', data: user('x@bad.test') },
        { method: 'POST', path: '/Users', bulkId: 'x', data: user('x2@bad.test') },
        // a malformed percent-escape in the id (it failed the whole request with a 500)
        { method: 'DELETE', path: '/Users/%zz' },
        // a reference to a PATCH's bulkId (it was called a circular reference, 409)
        { method: 'PATCH', path: '/Users/bulkId:x', bulkId: 'p', data: patchOp({ op: 'replace', path: 'title', value: 'T' }) },
        { method: 'DELETE', path: '/Users/bulkId:p' },
      ]),
    );
    expect(
      res.body.Operations.map((o: { status: string; response?: { scimType?: string } }) => [o.status, o.response?.scimType ?? null]),
    ).toEqual([
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
      ['400', 'invalidPath'],
      ['400', 'invalidPath'],
      ['201', null],
      ['400', 'uniqueness'],
      ['400', 'invalidPath'],
      // (its bulkId x is the earlier POST's: the duplicate refused above does not fail it)
      ['204', null],
      ['400', 'invalidValue'],
    ]);
    expect(res.body.Operations[8].response.detail).toMatch(/bulkId:p names a PATCH; only the bulkId of a POST/);
    for (const body of [
      { Operations: [] },
      { schemas: [BULK_REQUEST] },
      { schemas: [BULK_REQUEST], Operations: [], failOnErrors: 0 },
      [],
    ]) {
      const bad = await scim.post('/Bulk', body);
      expect(bad.status).toBe(400);
      expect(bad.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
    expect((await scim.get('/Bulk')).status).toBe(404);
  });
});

describe('limits', () => {
  it('more than maxOperations: 413 tooMany, nothing applied', async () => {
    const { t, scim } = await tenant();
    const ops = Array.from({ length: 1001 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: user(`m${i}@max.test`) }));
    const res = await scim.post('/Bulk', bulk(ops));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ status: '413', scimType: 'tooMany' });
    expect(res.body.detail).toMatch(/maxOperations is 1000/);
    expect(await users(t)).toEqual([]);
  });

  it('exactly maxOperations is fine', async () => {
    const { t, scim } = await tenant();
    const ops = Array.from({ length: 1000 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: user(`m${i}@max.test`) }));
    const res = await scim.post('/Bulk', bulk(ops));
    expect(res.status).toBe(200);
    expect(res.body.Operations.every((o: { status: string }) => o.status === '201')).toBe(true);
    expect(await users(t)).toHaveLength(1000);
  });

  it('a body over maxPayloadSize: 413, nothing applied', async () => {
    const { t, scim } = await tenant();
    const big = 'x'.repeat(2000);
    const ops = Array.from({ length: 600 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `b${i}`,
      data: user(`p${i}@payload.test`, { displayName: big }),
    }));
    const res = await scim.post('/Bulk', bulk(ops));
    expect(JSON.stringify(bulk(ops)).length).toBeGreaterThan(1048576);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '413' });
    expect(res.body.detail).toMatch(/maxPayloadSize is 1048576/);
    expect(await users(t)).toEqual([]);
  });
});
