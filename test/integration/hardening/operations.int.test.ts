/**
 * Operations (issue 6): structured access logs with request id and tenant, /healthz and /readyz,
 * Prometheus metrics with bounded labels, security headers, and CORS off unless configured.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../../src/app.js';
import { ConfigError, loadConfig } from '../../../src/config/env.js';
import { createLogger } from '../../../src/infra/logger.js';
import { createOrm } from '../../../src/infra/orm/orm.js';
import type { MikroORM } from '@mikro-orm/postgresql';
import { closeServer, startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { bearer, request, SCIM_JSON, waitFor } from './support.js';

const ORIGIN = 'https://admin.example.com';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** An app like the real one, logging into memory, with CORS and a metrics token configured. */
let orm: MikroORM;
let app: App;
let server: Server;
let base: string;
const lines: Array<Record<string, any>> = [];
let raw = '';
let plain: TestApp;
let t: TestTenant;

beforeAll(async () => {
  plain = await startTestApp();
  t = await plain.createTenant();
  const url = process.env.ROSTER_TEST_DATABASE_URL!;
  const config = loadConfig({
    DATABASE_URL: url,
    PORT: '0',
    LOG_LEVEL: 'info',
    ROSTER_BASE_DOMAIN: 'roster.test',
    ROSTER_CORS_ORIGINS: `${ORIGIN}, http://localhost:5173`,
    ROSTER_METRICS_TOKEN: METRICS_TOKEN,
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString('utf8');
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  orm = await createOrm({ url });
  app = await createApp({ orm, config, logger: createLogger('info', sink) });
  server = app.koa.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  await closeServer(server);
  await app.stop();
  await orm.close();
  await plain.close();
});

describe('health', () => {
  it('/healthz is liveness (no database), /readyz checks the database and migrations', async () => {
    const live = await request('GET', `${base}/healthz`);
    expect([live.status, live.json]).toEqual([200, { status: 'ok' }]);
    const ready = await request('GET', `${base}/readyz`);
    expect([ready.status, ready.json]).toEqual([200, { status: 'ok' }]);
    expect((await request('POST', `${base}/readyz`)).status).toBe(405);
  });
});

describe('access logs', () => {
  it('one JSON line per request with request id, door, route template, status, duration and tenant; no secrets, no personal data', async () => {
    const scim = await request('POST', `${base}/scim/v2/Users`, {
      headers: { ...bearer(t.scimToken), ...SCIM_JSON, 'x-request-id': 'ops-test-1' },
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'grace.hopper@ops.test', name: { familyName: 'Hopper' } },
    });
    expect(scim.status).toBe(201);
    const get = await request(
      'GET',
      `${base}/scim/v2/Users/${scim.json.id}?filter=${encodeURIComponent('userName eq "grace.hopper@ops.test"')}`,
      { headers: bearer(t.scimToken) },
    );
    expect(get.status).toBe(200);
    const gql = await request('POST', `${base}/graphql`, {
      headers: bearer(t.apiKey),
      body: { query: '{ users(first: 1) { totalCount } }' },
    });
    expect(gql.status).toBe(200);
    const denied = await request('GET', `${base}/scim/v2/Users`, { headers: bearer('rst_scim_not-a-real-token') });
    expect(denied.status).toBe(401);

    const byId = (id: string) => lines.find((l) => l.msg === 'request' && l.requestId === id);
    const created = await waitFor('the SCIM access line', async () => byId('ops-test-1'));
    expect(created).toEqual(
      expect.objectContaining({
        level: 30,
        service: 'roster',
        door: 'scim',
        method: 'POST',
        route: '/scim/v2/Users',
        status: 201,
        tenant: t.slug,
        durationMs: expect.any(Number),
      }),
    );
    expect(byId(get.headers['x-request-id'])).toEqual(
      expect.objectContaining({ route: '/scim/v2/Users/:id', status: 200, tenant: t.slug }),
    );
    // GraphQL authenticates by API key (tenant id); the slug is looked up once and cached.
    const gqlLine = await waitFor('the GraphQL access line with the slug', async () => byId(gql.headers['x-request-id']));
    expect(gqlLine).toEqual(expect.objectContaining({ door: 'graphql', route: '/graphql', status: 200, tenant: t.slug }));
    expect(byId(denied.headers['x-request-id'])).toEqual(expect.objectContaining({ door: 'scim', route: '/scim/v2/Users', status: 401 }));
    // Lines logged while serving a request carry its request id too (here: the failed authentication).
    const inner = lines.filter((l) => l.msg !== 'request' && l.requestId === denied.headers['x-request-id']);
    expect(inner.length).toBeGreaterThanOrEqual(1);
    expect(inner.every((l) => l.door === 'scim')).toBe(true);

    for (const secret of [t.scimToken, t.apiKey, 'rst_scim_not-a-real-token', METRICS_TOKEN]) expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/grace|hopper/i);
    expect(raw).not.toContain('filter=');
  });
});

describe('metrics', () => {
  it('serve Prometheus text with requests, errors and latency per door and route template, labels bounded', async () => {
    // Ids and unknown paths must not become label values.
    for (let i = 0; i < 3; i++)
      await request('GET', `${base}/scim/v2/Users/0000000${i}-0000-4000-8000-000000000000`, { headers: bearer(t.scimToken) });
    await request('GET', `${base}/no/such/path/${'x'.repeat(64)}`);
    await request('GET', `${base}/scim/v2/NoSuchThing/abc`, { headers: bearer(t.scimToken) });
    expect((await request('GET', `${base}/metrics`)).status).toBe(401);
    const res = await request('GET', `${base}/metrics`, { headers: bearer(METRICS_TOKEN) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toMatch(/^roster_http_requests_total\{door="scim",route="\/scim\/v2\/Users\/:id",method="GET",status="404"\} [3-9]\d*$/m);
    expect(text).toMatch(/^roster_http_request_errors_total\{door="scim",route="\/scim\/v2\/Users\/:id",method="GET",class="4xx"\} \d+$/m);
    expect(text).toMatch(
      /^roster_http_request_duration_seconds_bucket\{door="scim",route="\/scim\/v2\/Users",method="POST",le="0\.1"\} \d+$/m,
    );
    expect(text).toMatch(/^roster_http_request_duration_seconds_count\{door="graphql",route="\/graphql",method="POST"\} \d+$/m);
    expect(text).toMatch(/^roster_http_requests_total\{door="other",route="unmatched",method="GET",status="404"\} \d+$/m);
    expect(text).toMatch(/^roster_db_pool_connections \d+$/m);
    expect(text).toMatch(/^roster_http_requests_in_flight \d+$/m);
    // Bounded: no ids, no raw paths, no tenant in any label.
    expect(text).not.toMatch(/0000000\d-0000|NoSuchThing|no\/such|xxxx/);
    expect(text).not.toContain(t.slug);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const r of routes)
      expect(r === 'unmatched' || r.startsWith('/scim/v2/') || ['/graphql', '/healthz', '/readyz', '/metrics'].includes(r)).toBe(true);
  });
});

describe('security headers', () => {
  it('on JSON answers of both doors, errors and health; a restrictive CSP on anything that is not JSON; HSTS behind https', async () => {
    const answers = [
      await request('POST', `${base}/graphql`, { headers: bearer(t.apiKey), body: { query: '{ viewer { slug } }' } }),
      await request('GET', `${base}/scim/v2/Users`, { headers: bearer(t.scimToken) }),
      await request('GET', `${base}/scim/v2/Users`),
      await request('GET', `${base}/nothing-here`),
      await request('GET', `${base}/healthz`),
      await request('GET', `${base}/metrics`, { headers: bearer(METRICS_TOKEN) }),
    ];
    for (const res of answers) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['strict-transport-security']).toBeUndefined();
      if (/json/.test(res.headers['content-type'] ?? '')) expect(res.headers['content-security-policy']).toBeUndefined();
      else expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    }
    const metrics = answers[5];
    expect(metrics.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    const https = await request('GET', `${base}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
  });
});

describe('CORS', () => {
  it('is off unless ROSTER_CORS_ORIGINS is set', async () => {
    const res = await request('POST', `${plain.baseUrl}/graphql`, {
      headers: { ...bearer(t.apiKey), origin: ORIGIN },
      body: { query: '{ viewer { slug } }' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request('OPTIONS', `${plain.baseUrl}/graphql`, {
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('when configured, allows exactly the listed origins', async () => {
    const ok = await request('POST', `${base}/graphql`, {
      headers: { ...bearer(t.apiKey), origin: ORIGIN },
      body: { query: '{ viewer { slug } }' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(ok.headers.vary).toMatch(/origin/i);
    expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
    const preflight = await request('OPTIONS', `${base}/scim/v2/Users`, {
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(preflight.headers['access-control-allow-methods']).toContain('PATCH');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/i);

    const other = await request('POST', `${base}/graphql`, {
      headers: { ...bearer(t.apiKey), origin: 'https://evil.example.com' },
      body: { query: '{ viewer { slug } }' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const otherPreflight = await request('OPTIONS', `${base}/graphql`, {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(otherPreflight.status).toBe(403);
    expect(otherPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a wildcard or malformed origin list at start', () => {
    for (const bad of ['*', 'admin.example.com', 'https://a.example.com/path', 'https://*.example.com']) {
      expect(() => loadConfig({ ROSTER_CORS_ORIGINS: bad })).toThrow(ConfigError);
    }
  });
});
