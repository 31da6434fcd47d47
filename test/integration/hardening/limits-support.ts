import http from 'node:http';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { CreateOAuthClientDocument } from '../../__generated__/graphql.js';
import { scimClient, USER_SCHEMA, type ScimClient, type ScimResponse } from '../../setup/scim-client.js';
import type { TestApp, TestTenant } from '../../setup/test-app.js';

export { USER_SCHEMA };

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A raw HTTP request over node:http (fetch cannot set Host), for any path of the app. */
export function httpRequest(
  baseUrl: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResponse> {
  const base = new URL(baseUrl);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const payload = opts.body !== undefined ? Buffer.from(opts.body, 'utf8') : undefined;
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, hostname: base.hostname, port: base.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: flat, text, json });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A fresh, unique client address (sent as X-Forwarded-For) so tests do not share failed-authentication buckets. */
export const freshIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0] % 250)}`;

/** A GraphQL POST with extra headers, returning status, headers and body. */
export async function graphqlRaw(
  baseUrl: string,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  return httpRequest(baseUrl, 'POST', '/graphql', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
}

export const scimOf = (app: TestApp, token: string, headers: { host?: string } = {}): ScimClient => scimClient(app.baseUrl, token, headers);

export const scimUser = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER_SCHEMA], userName, ...extra });

/** POST /oauth/token with a form body; `basic` sends the client credentials as HTTP Basic (form-urlencoded halves). */
export async function tokenRequest(
  app: TestApp,
  form: Record<string, string>,
  opts: { basic?: { id: string; secret: string }; headers?: Record<string, string>; contentType?: string; path?: string } = {},
): Promise<HttpResponse> {
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    ...(opts.headers ?? {}),
  };
  if (opts.basic)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(opts.basic.id)}:${encodeURIComponent(opts.basic.secret)}`).toString('base64')}`;
  return httpRequest(app.baseUrl, 'POST', opts.path ?? '/oauth/token', { headers, body: new URLSearchParams(form).toString() });
}

export async function createOAuthClient(t: TestTenant, name = 'Entra gallery app') {
  const res = await t.gql(CreateOAuthClientDocument, { input: { name } });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  const payload = res.data!.createOAuthClient;
  expect(payload.userErrors).toEqual([]);
  return {
    client: payload.client!,
    secret: payload.clientSecret!,
    tokenEndpoint: payload.tokenEndpoint!,
    scimBaseUrl: payload.scimBaseUrl!,
  };
}

export async function accessToken(app: TestApp, clientId: string, secret: string): Promise<string> {
  const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: { id: clientId, secret } });
  expect(res.status).toBe(200);
  return res.json.access_token as string;
}

/**
 * SQL as the application role inside one transaction whose settings open the row-level security
 * policies the statements need (e.g. `{ 'roster.operator': 'on' }`). Returns the last statement's rows.
 */
export async function sqlWith<R = Record<string, unknown>>(
  app: TestApp,
  settings: Record<string, string>,
  statements: Array<[string, unknown[]?]>,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: process.env.ROSTER_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query('begin');
    for (const [k, v] of Object.entries(settings)) await client.query('select set_config($1, $2, true)', [k, v]);
    let rows: R[] = [];
    for (const [text, params] of statements) rows = (await client.query(text, params)).rows as R[];
    await client.query('commit');
    return rows;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

export const expectScimError = (res: ScimResponse, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/scim\+json/);
  expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) });
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tenant's uuid behind its GraphQL global id (for SQL). */
export const tenantUuid = (t: TestTenant): string => Buffer.from(t.id, 'base64url').toString('utf8').split(':')[1];
