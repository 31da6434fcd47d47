import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { DomainError } from '../kernel/errors.js';
import { checkEndpointUrl, isAddressAllowed, type EndpointPolicy } from '../modules/webhooks/webhook-url.js';

export interface SendOptions {
  /** The whole exchange (connect, redirects, response) must finish within this. */
  timeoutMs: number;
  endpoints: EndpointPolicy;
  /** Same-origin redirects followed at most (a redirect to another origin is never followed). */
  maxRedirects?: number;
  agents?: { http: http.Agent; https: https.Agent };
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

/** The first bytes of an error response are kept for the delivery log; the rest is not read. */
const MAX_RESPONSE_SNIPPET = 512;

/**
 * A DNS lookup that refuses addresses the endpoint policy forbids, so a host name cannot smuggle a
 * request into the private network (and a name that resolves differently later is checked again: the
 * check is on every connection, not at subscription time).
 */
function guardedLookup(policy: EndpointPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const denied = addresses.find((a) => !isAddressAllowed(a.address, policy));
      if (denied || addresses.length === 0) {
        const e = Object.assign(new Error(`${hostname} resolves to ${denied?.address ?? 'nothing'}, which webhooks may not reach`), {
          code: 'EADDRNOTALLOWED',
        });
        return callback(e, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'timed out';
  return [e?.code, e?.message].filter(Boolean).join(': ') || String(err);
}

function postOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: SendOptions,
  signal: AbortSignal,
): Promise<{ status: number; location: string | null; snippet: string }> {
  const secure = url.protocol === 'https:';
  const request = secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal,
        lookup: guardedLookup(opts.endpoints),
        agent: opts.agents ? (secure ? opts.agents.https : opts.agents.http) : undefined,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = typeof res.headers.location === 'string' ? res.headers.location : null;
        if (status >= 200 && status < 300) {
          // The body of a success does not matter: drain it so the connection can be reused.
          res.resume();
          res.on('end', () => resolve({ status, location, snippet: '' }));
          res.on('error', () => resolve({ status, location, snippet: '' }));
          return;
        }
        let snippet = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          snippet += chunk;
          if (snippet.length >= MAX_RESPONSE_SNIPPET) res.destroy();
        });
        const done = () => resolve({ status, location, snippet: snippet.slice(0, MAX_RESPONSE_SNIPPET) });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs one webhook. 2xx is success; anything else, a network error or the timeout is a failure (the
 * worker retries). Redirects are followed only within the same origin (scheme, host and port), at most
 * `maxRedirects` times, and never to another host: the target was checked, a redirect target would not be.
 */
export async function sendWebhook(rawUrl: string, body: string, headers: Record<string, string>, opts: SendOptions): Promise<SendResult> {
  let url: URL;
  try {
    url = checkEndpointUrl(rawUrl, opts.endpoints);
  } catch (err) {
    return { ok: false, statusCode: null, error: err instanceof DomainError ? err.message : describe(err) };
  }
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const maxRedirects = opts.maxRedirects ?? 3;
  try {
    for (let hop = 0; ; hop++) {
      const res = await postOnce(url, body, headers, opts, signal);
      if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status, error: null };
      if (res.status >= 300 && res.status < 400 && res.location) {
        const next = new URL(res.location, url);
        if (next.origin !== url.origin)
          return { ok: false, statusCode: res.status, error: `redirect to another origin not followed: ${next.origin}` };
        if (hop >= maxRedirects) return { ok: false, statusCode: res.status, error: `more than ${maxRedirects} redirects` };
        url = next;
        continue;
      }
      return {
        ok: false,
        statusCode: res.status,
        error: `HTTP ${res.status}${res.snippet ? `: ${res.snippet.replace(/\s+/g, ' ').trim()}` : ''}`,
      };
    }
  } catch (err) {
    return { ok: false, statusCode: null, error: signal.aborted ? `timed out after ${opts.timeoutMs} ms` : describe(err) };
  }
}
