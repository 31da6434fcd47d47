import http from 'node:http';

/**
 * A small keep-alive HTTP/1.1 client for the load driver. Only 127.0.0.1 is ever addressed: the host is
 * fixed here, callers give a port and a path.
 */
export const BENCH_HOST = '127.0.0.1';
const REQUEST_TIMEOUT_MS = 60_000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });

export interface HttpResponse {
  status: number;
  body: string;
}

export function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  attempt = 0,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host: BENCH_HOST, port, method, path, headers: h, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed for idleness just as it was reused: the server never
      // read this request, so sending it again is safe (the retry Node's documentation recommends).
      if (attempt === 0 && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        request(port, method, path, headers, body, 1).then(resolve, reject);
      } else reject(err);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The response when its status is one of `expected`; otherwise an error naming what came back (for the error samples). */
export function expectStatus(res: HttpResponse, ...expected: number[]): HttpResponse {
  if (!expected.includes(res.status)) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return res;
}

/** A client bound to one Roster (or baseline) process and one credential. */
export class Client {
  constructor(
    readonly port: number,
    private readonly token: string,
  ) {}

  scim(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/scim+json' };
    if (body !== undefined) headers['content-type'] = 'application/scim+json';
    return request(this.port, method, `/scim/v2${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
  }

  graphql(query: string, variables?: Record<string, unknown>): Promise<HttpResponse> {
    return request(
      this.port,
      'POST',
      '/graphql',
      { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      JSON.stringify({ query, variables }),
    );
  }
}

export function closeHttp(): void {
  agent.destroy();
}
