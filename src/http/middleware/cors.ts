import type { Middleware } from 'koa';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Accept, If-Match, If-None-Match, X-Request-Id';
const EXPOSE_HEADERS = 'ETag, Location, Retry-After, X-Request-Id';

/**
 * CORS, off unless ROSTER_CORS_ORIGINS lists origins. Off: no CORS header is ever sent, so browsers keep
 * other sites' scripts out (the APIs are for servers and IdPs). On: exactly the listed origins get
 * `Access-Control-Allow-Origin` (never `*`, never credentials: Roster authenticates with bearer headers,
 * not cookies); a preflight from any other origin is refused with 403.
 */
export function cors(origins: readonly string[]): Middleware {
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return async function corsMiddleware(ctx, next) {
    if (allowed.size === 0) return next();
    const origin = ctx.get('Origin');
    ctx.vary('Origin');
    const ok = origin !== '' && allowed.has(origin.toLowerCase());
    const preflight = ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '';
    if (preflight) {
      if (!ok) {
        ctx.status = 403;
        ctx.body = { error: 'this origin is not allowed (ROSTER_CORS_ORIGINS)' };
        return;
      }
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Methods', ALLOW_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOW_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
    try {
      await next();
    } finally {
      if (ok) {
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
      }
    }
  };
}
