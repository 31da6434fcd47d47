/**
 * Hostile input: the cross-tenant contract over EVERY SCIM route (issue 6). The routes are read from
 * the SCIM router itself, so a route added later without a case here fails this test. Tenant A attacks
 * tenant B with B's ids (404, empty lists, refused references); B's credential is presented on A's host,
 * and no credential at all (401). Afterwards B's whole directory is byte-for-byte what it was.
 */
import { createLogger } from '../../../src/infra/logger.js';
import { scimRouter } from '../../../src/scim/router.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { bearer, expectScimError, fingerprint, patchOp, request, SCIM_JSON, tenantSql, type HttpResponse } from './support.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const url = () => process.env.ROSTER_TEST_DATABASE_URL!;

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
const B: { user: string; userName: string; externalId: string; group: string; groupName: string; customUrn: string } = {} as never;

/** Each SCIM route (METHOD + template from the router) → what tenant A tries with tenant B's things. */
type Attack = (call: (method: string, path: string, body?: unknown) => Promise<HttpResponse>) => Promise<void>;

beforeAll(async () => {
  // Plenty of room for the deliberate authentication failures below (they are rate limited per address).
  app = await startTestApp({ ROSTER_AUTH_FAILURE_BURST: '100000', ROSTER_AUTH_FAILURE_RATE_PER_MINUTE: '100000' });
  [a, b] = [await app.createTenant(), await app.createTenant()];
  const decl = await b.raw<any>(
    'mutation { declareCustomAttribute(input: { name: "clearance", type: string, multiValued: false }) { userErrors { code } } }',
  );
  expect(decl.errors).toBeUndefined();
  const asB = (method: string, path: string, body?: unknown) =>
    request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { ...bearer(b.scimToken), ...SCIM_JSON }, body });
  B.customUrn = `urn:roster:params:scim:schemas:extension:${b.slug}:2.0:User`;
  B.userName = 'secret.agent@b.test';
  B.externalId = 'b-ext-1';
  const boss = await asB('POST', '/Users', { schemas: [CORE], userName: 'boss@b.test', externalId: 'b-boss' });
  const u = await asB('POST', '/Users', {
    schemas: [CORE, ENTERPRISE, B.customUrn],
    userName: B.userName,
    externalId: B.externalId,
    [ENTERPRISE]: { department: 'Covert', manager: { value: boss.json.id } },
    [B.customUrn]: { clearance: 'top' },
  });
  expect(u.status).toBe(201);
  B.user = u.json.id;
  B.groupName = 'B Admins';
  const g = await asB('POST', '/Groups', { schemas: [GROUP], displayName: B.groupName, members: [{ value: B.user }] });
  expect(g.status).toBe(201);
  B.group = g.json.id;
}, 60_000);
afterAll(() => app?.close());

const listIsEmpty = (res: HttpResponse) => {
  expect(res.status).toBe(200);
  expect(res.json.totalResults).toBe(0);
  expect(res.json.Resources).toEqual([]);
};
const notFound = (res: HttpResponse) => expectScimError(res, 404);

const ATTACKS: Record<string, Attack> = {
  'GET /scim/v2/ServiceProviderConfig': async (call) => {
    const res = await call('GET', '/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(b.slug);
  },
  'GET /scim/v2/ResourceTypes': async (call) => {
    const res = await call('GET', '/ResourceTypes');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(b.slug);
  },
  'GET /scim/v2/ResourceTypes/:id': async (call) => {
    const res = await call('GET', '/ResourceTypes/User');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(b.slug);
    notFound(await call('GET', `/ResourceTypes/${encodeURIComponent(B.customUrn)}`));
  },
  'GET /scim/v2/Schemas': async (call) => {
    const res = await call('GET', '/Schemas');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(b.slug);
    expect(res.text).not.toContain('clearance');
  },
  'GET /scim/v2/Schemas/:id': async (call) => notFound(await call('GET', `/Schemas/${encodeURIComponent(B.customUrn)}`)),
  'GET /scim/v2/Users': async (call) => {
    for (const filter of [
      `id eq "${B.user}"`,
      `userName eq "${B.userName}"`,
      `externalId eq "${B.externalId}"`,
      `${ENTERPRISE}:manager.value pr`,
      'userName pr',
    ]) {
      listIsEmpty(await call('GET', `/Users?filter=${encodeURIComponent(filter)}`));
    }
    listIsEmpty(await call('GET', '/Users?startIndex=1&count=1000'));
  },
  'POST /scim/v2/Users/.search': async (call) => {
    listIsEmpty(
      await call('POST', '/Users/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: `id eq "${B.user}" or userName eq "${B.userName}"`,
      }),
    );
  },
  'POST /scim/v2/Users': async (call) => {
    // A's own user may reuse B's userName and name B's user as its manager: it stays in A, linked to nothing of B.
    const res = await call('POST', '/Users', {
      schemas: [CORE, ENTERPRISE],
      userName: B.userName,
      externalId: B.externalId,
      groups: [{ value: B.group }],
      [ENTERPRISE]: { manager: { value: B.user } },
    });
    expect(res.status).toBe(201);
    expect(res.json.id).not.toBe(B.user);
    expect(res.json.groups ?? []).toEqual([]);
    // The manager reference is only kept pending (as for a manager not provisioned yet), never linked across tenants.
    const [row] = await tenantSql<{ manager_id: string | null }>(url(), a.id, 'select manager_id from users where id = $1', [res.json.id]);
    expect(row.manager_id).toBeNull();
  },
  'GET /scim/v2/Users/:id': async (call) => notFound(await call('GET', `/Users/${B.user}`)),
  'PUT /scim/v2/Users/:id': async (call) =>
    notFound(await call('PUT', `/Users/${B.user}`, { schemas: [CORE], userName: 'taken-over@a.test', active: false })),
  'PATCH /scim/v2/Users/:id': async (call) =>
    notFound(await call('PATCH', `/Users/${B.user}`, patchOp({ op: 'replace', path: 'active', value: false }))),
  'DELETE /scim/v2/Users/:id': async (call) => notFound(await call('DELETE', `/Users/${B.user}`)),
  'GET /scim/v2/Groups': async (call) => {
    listIsEmpty(await call('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${B.groupName}"`)}`));
    listIsEmpty(await call('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${B.user}"`)}`));
  },
  'POST /scim/v2/Groups/.search': async (call) => listIsEmpty(await call('POST', '/Groups/.search', { filter: `id eq "${B.group}"` })),
  'POST /scim/v2/Groups': async (call) => {
    // B's user as a member of A's group: refused as an unknown member, nothing created.
    const res = await call('POST', '/Groups', { schemas: [GROUP], displayName: 'A steals', members: [{ value: B.user }] });
    expectScimError(res, 400);
  },
  'GET /scim/v2/Groups/:id': async (call) => notFound(await call('GET', `/Groups/${B.group}`)),
  'PUT /scim/v2/Groups/:id': async (call) =>
    notFound(await call('PUT', `/Groups/${B.group}`, { schemas: [GROUP], displayName: 'renamed', members: [] })),
  'PATCH /scim/v2/Groups/:id': async (call) => {
    notFound(await call('PATCH', `/Groups/${B.group}`, patchOp({ op: 'remove', path: 'members' })));
    notFound(await call('PATCH', `/Groups/${B.group}`, patchOp({ op: 'add', path: 'members', value: [{ value: B.user }] })));
  },
  'DELETE /scim/v2/Groups/:id': async (call) => notFound(await call('DELETE', `/Groups/${B.group}`)),
  'POST /scim/v2/Bulk': async (call) => {
    const res = await call('POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'PATCH', path: `/Users/${B.user}`, data: patchOp({ op: 'replace', path: 'active', value: false }) },
        { method: 'PUT', path: `/Groups/${B.group}`, data: { schemas: [GROUP], displayName: 'bulk-renamed', members: [] } },
        { method: 'DELETE', path: `/Groups/${B.group}` },
        { method: 'DELETE', path: `/Users/${B.user}` },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.Operations.map((o: { status: string }) => o.status)).toEqual(['404', '404', '404', '404']);
  },
};

/** The SCIM routes as registered: METHOD + template, without the catch-all. */
function scimRoutes(): string[] {
  const router = scimRouter({ orm: app.orm, config: app.config, logger: createLogger('silent') });
  const out = new Set<string>();
  for (const layer of router.stack as Array<{ path: string | RegExp; methods: string[] }>) {
    if (typeof layer.path !== 'string' || layer.methods.length === 0 || layer.path.includes('{*')) continue;
    for (const m of layer.methods) if (m !== 'HEAD') out.add(`${m} ${layer.path}`);
  }
  return [...out].sort();
}

describe('cross-tenant contract on every SCIM route', () => {
  it('knows every route the SCIM router serves (a new route needs a case here)', () => {
    const routes = scimRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(19);
    expect(routes.filter((r) => !ATTACKS[r])).toEqual([]);
  });

  it("tenant A with B's ids: 404 / empty / refused, and B's directory is unchanged", async () => {
    const before = await fingerprint(url(), b.id);
    const asA = (method: string, path: string, body?: unknown) =>
      request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { ...bearer(a.scimToken), ...SCIM_JSON }, body });
    // The one case that creates something (in A) goes last, so that A's lists are empty for the others.
    const creating = 'POST /scim/v2/Users';
    for (const route of [...scimRoutes().filter((r) => r !== creating), creating]) {
      try {
        await ATTACKS[route](asA);
      } catch (err) {
        throw new Error(`${route}: ${(err as Error).message}`);
      }
    }
    expect(await fingerprint(url(), b.id)).toEqual(before);
  }, 60_000);

  it("B's credential on A's host, and no credential at all: 401 on every route, nothing changed", async () => {
    const beforeA = await fingerprint(url(), a.id);
    const beforeB = await fingerprint(url(), b.id);
    for (const route of scimRoutes()) {
      const [method, template] = route.split(' ');
      const path = template
        .replace(/^\/scim\/v2/, '')
        .replace(':id', template.includes('/Groups') ? B.group : template.includes('/Users') ? B.user : 'User');
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { schemas: [CORE], userName: 'x@x.test', Operations: [] } : undefined;
      for (const headers of [
        { ...bearer(b.scimToken), host: `${a.slug}.roster.test` },
        { host: `${a.slug}.roster.test` },
        { ...bearer(a.scimToken), host: `${b.slug}.roster.test` },
        { authorization: 'Bearer rst_scim_forged' },
      ] as Array<Record<string, string>>) {
        const res = await request(method, `${app.baseUrl}/scim/v2${path}`, { headers: { ...headers, ...SCIM_JSON }, body });
        try {
          expectScimError(res, 401);
        } catch (err) {
          throw new Error(`${route} with ${JSON.stringify(Object.keys(headers))}: ${(err as Error).message}`);
        }
      }
    }
    expect(await fingerprint(url(), a.id)).toEqual(beforeA);
    expect(await fingerprint(url(), b.id)).toEqual(beforeB);
  }, 60_000);
});
