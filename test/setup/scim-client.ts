import http from 'node:http';

/** What a SCIM call returned: the status, the headers (lower-cased names) and the parsed body. */
export interface ScimResponse<B = any> {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: B;
  /** The body exactly as received. */
  text: string;
}

export interface ScimClientOptions {
  /** Sent as the Host header (e.g. `<slug>.roster.test`), to address a tenant by host name. */
  host?: string;
  /** Replaces the whole Authorization header (`null`: none at all). Default `Bearer <token>`. */
  authorization?: string | null;
  /** Content-Type for bodies. Default application/scim+json. */
  contentType?: string;
}

export type Body = unknown;
export type Headers = Record<string, string | null | undefined>;

export interface ScimClient {
  get(path: string, headers?: Headers): Promise<ScimResponse>;
  /** A string body is sent as is (malformed JSON tests); anything else is JSON-encoded. */
  post(path: string, body?: Body, headers?: Headers): Promise<ScimResponse>;
  put(path: string, body?: Body, headers?: Headers): Promise<ScimResponse>;
  patch(path: string, body?: Body, headers?: Headers): Promise<ScimResponse>;
  delete(path: string, headers?: Headers): Promise<ScimResponse>;
  request(method: string, path: string, body?: Body, headers?: Headers): Promise<ScimResponse>;
  /** The same client with other options (another token, host or Authorization). */
  with(options: ScimClientOptions & { token?: string }): ScimClient;
}

export const SCIM_JSON = 'application/scim+json';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** A PatchOp body from operations. */
export const patchOp = (...Operations: Array<Record<string, unknown>>) => ({ schemas: [PATCH_OP], Operations });

/**
 * A small SCIM 2.0 client over node:http (fetch cannot set the Host header): every path is relative to
 * `${baseUrl}/scim/v2`, bodies go out as application/scim+json, answers come back parsed.
 */
export function scimClient(baseUrl: string, token: string, options: ScimClientOptions = {}): ScimClient {
  const base = new URL(baseUrl);
  const request = (method: string, path: string, body?: Body, extra: Headers = {}): Promise<ScimResponse> => {
    const headers: Record<string, string> = { accept: SCIM_JSON };
    const auth = options.authorization === undefined ? `Bearer ${token}` : options.authorization;
    if (auth !== null) headers.authorization = auth;
    if (options.host) headers.host = options.host;
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
      headers['content-type'] = options.contentType ?? SCIM_JSON;
      headers['content-length'] = String(payload.length);
    }
    for (const [k, v] of Object.entries(extra)) {
      if (v === null || v === undefined) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { agent, hostname: base.hostname, port: base.port, method, path: `/scim/v2${path.startsWith('/') ? path : `/${path}`}`, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const flat: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
            let parsed: unknown = text === '' ? undefined : text;
            if (text !== '' && /json/i.test(flat['content-type'] ?? '')) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: flat, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  };
  return {
    request,
    get: (path, headers) => request('GET', path, undefined, headers),
    post: (path, body, headers) => request('POST', path, body, headers),
    put: (path, body, headers) => request('PUT', path, body, headers),
    patch: (path, body, headers) => request('PATCH', path, body, headers),
    delete: (path, headers) => request('DELETE', path, undefined, headers),
    with: ({ token: t, ...o }) => scimClient(baseUrl, t ?? token, { ...options, ...o }),
  };
}

/** `?filter=…&…` with proper encoding. */
export function qs(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
