import type { Middleware } from 'koa';

/** Nothing may be loaded, framed or submitted by a non-JSON response (error pages, 404s, metrics text). */
export const RESTRICTIVE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Security headers on every response. Roster serves APIs only, so: no MIME sniffing, no referrer, no
 * framing, nothing cached by browsers or shared caches (directory data and secrets shown once), HSTS when
 * the client reached us over https (directly or, with `koa.proxy`, per X-Forwarded-Proto), and a CSP that
 * allows nothing on anything that is not JSON.
 */
export function securityHeaders(): Middleware {
  return async function securityHeadersMiddleware(ctx, next) {
    try {
      await next();
    } finally {
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('X-Frame-Options', 'DENY');
      if (!ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-store');
      if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
      if (!/json/i.test(ctx.response.type ?? '')) ctx.set('Content-Security-Policy', RESTRICTIVE_CSP);
    }
  };
}
