import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Context, Middleware } from 'koa';
import type { Config } from '../config/env.js';
import { requestDeadline } from '../http/middleware/deadline.js';
import { readingBody } from '../http/middleware/input-guard.js';
import { isDatabaseUnavailable } from '../infra/db/unavailable.js';
import { isTimeout } from '../infra/db/timeouts.js';
import type { Logger } from '../infra/logger.js';
import { doorLimits } from '../modules/credentials/door.js';
import { issueAccessToken, revokeAccessToken } from '../modules/credentials/oauth.service.js';
import { slugFromHost } from '../scim/middleware/scim-auth.js';

/** The scope every access token carries: the SCIM door of the client's tenant. */
export const OAUTH_SCOPE = 'scim';

/** RFC 6749 §5.2 error codes (and `temporarily_unavailable` for 429/503, as commonly used). */
type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'server_error' | 'temporarily_unavailable';

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: OAuthErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const INVALID_CLIENT_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="roster-oauth"' };

function noStore(ctx: Context) {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}

/** Every failure of the token endpoint is an RFC 6749 §5.2 JSON error, never HTML or internals. */
function oauthErrors(logger: Logger): Middleware {
  return async function oauthErrorsMiddleware(ctx, next) {
    try {
      await next();
    } catch (err) {
      let e: OAuthError;
      if (err instanceof OAuthError) e = err;
      else if (isTimeout(err) || isDatabaseUnavailable(err)) {
        logger.warn({ err }, 'token request failed: service unavailable');
        e = new OAuthError(503, 'temporarily_unavailable', 'the service is temporarily unavailable; retry later', { 'Retry-After': '5' });
      } else {
        const status = (err as { status?: number }).status;
        if (status === 413) e = new OAuthError(413, 'invalid_request', 'the request body is too large');
        else if (status && status >= 400 && status < 500) e = new OAuthError(400, 'invalid_request', 'malformed request body');
        else {
          logger.error({ err }, 'token request failed');
          e = new OAuthError(500, 'server_error', `internal error (request id ${ctx.state.requestId ?? 'n/a'})`);
        }
      }
      ctx.status = e.status;
      for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v);
      noStore(ctx);
      ctx.body = { error: e.code, error_description: e.message };
    }
  };
}

/** application/x-www-form-urlencoded decoding of one Basic credential half (RFC 6749 §2.3.1). */
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The client's id and secret, from HTTP Basic or from the form body (never both: RFC 6749 §2.3). */
function clientCredentials(ctx: Context, form: Record<string, string>): { clientId: string; clientSecret: string } {
  const header = ctx.get('authorization');
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (header && !basic)
    throw new OAuthError(
      401,
      'invalid_client',
      'client authentication must be HTTP Basic, or client_id and client_secret in the body',
      INVALID_CLIENT_CHALLENGE,
    );
  if (basic) {
    if (form.client_secret !== undefined)
      throw new OAuthError(
        400,
        'invalid_request',
        'use one client authentication method: HTTP Basic or client_secret in the body, not both',
      );
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const clientId = i > 0 ? formDecode(decoded.slice(0, i)) : null;
    const clientSecret = i > 0 ? formDecode(decoded.slice(i + 1)) : null;
    if (!clientId || !clientSecret)
      throw new OAuthError(401, 'invalid_client', 'malformed HTTP Basic client credentials', INVALID_CLIENT_CHALLENGE);
    if (form.client_id !== undefined && form.client_id !== clientId)
      throw new OAuthError(400, 'invalid_request', 'client_id in the body differs from the authenticated client');
    return { clientId, clientSecret };
  }
  if (!form.client_id || !form.client_secret)
    throw new OAuthError(
      401,
      'invalid_client',
      'client authentication required: HTTP Basic, or client_id and client_secret in the body',
      INVALID_CLIENT_CHALLENGE,
    );
  return { clientId: form.client_id, clientSecret: form.client_secret };
}

/** The form body's parameters; RFC 6749 §3.2: none may be repeated. */
function formOf(ctx: Context, what: string): Record<string, string> {
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new OAuthError(400, 'invalid_request', `send the ${what} as application/x-www-form-urlencoded`);
  const raw = (ctx.request as { body?: unknown }).body;
  const form: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw && typeof raw === 'object' ? raw : {})) {
    if (typeof v !== 'string')
      throw new OAuthError(400, 'invalid_request', `parameter ${k.slice(0, 40)} must appear once, as a plain value`);
    form[k] = v;
  }
  return form;
}

/** A refused client authentication, as both endpoints answer it. */
function refused(
  logger: Logger,
  result: { outcome: 'invalid'; reason: string; tenantId: string | null } | { outcome: 'auth_blocked'; retryAfter: number },
): OAuthError {
  if (result.outcome === 'auth_blocked')
    return new OAuthError(
      429,
      'temporarily_unavailable',
      `too many failed authentications from this address; retry after ${result.retryAfter} seconds`,
      {
        'Retry-After': String(result.retryAfter),
      },
    );
  logger.warn({ door: 'oauth', reason: result.reason, credentialTenantId: result.tenantId ?? undefined }, 'authentication failed');
  return new OAuthError(401, 'invalid_client', 'client authentication failed', INVALID_CLIENT_CHALLENGE);
}

/**
 * The OAuth 2.0 endpoints of the SCIM door, each a form-encoded POST with client authentication by HTTP Basic
 * or by `client_id`/`client_secret` in the body:
 *
 * - `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4), `grant_type=client_credentials`.
 *   Answers `{access_token, token_type: "Bearer", expires_in, scope}` with `Cache-Control: no-store`; the
 *   token is then accepted by /scim/v2 as `Authorization: Bearer <access_token>`.
 * - `POST /oauth/revoke`: token revocation (RFC 7009), `token=<access token>`. Ends the token if it was
 *   issued to the authenticated client, and answers 200 with no body whatever the token was (§2.2).
 *
 * Errors follow RFC 6749 §5.2; a bad client is 401 `invalid_client`.
 */
export function oauthRouter(deps: { orm: MikroORM; config: Config; logger: Logger }): Router {
  const { orm, config, logger } = deps;
  const limits = doorLimits(config, 'scim');
  const router = new Router({ prefix: '/oauth' });
  router.use(oauthErrors(logger));
  router.use(requestDeadline(config.requestTimeoutMs, logger));
  const form = readingBody(bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' }));
  const caller = (ctx: Context) => ({
    hostSlug: slugFromHost(ctx.hostname, config.baseDomain),
    clientIp: ctx.ip,
    requestId: ctx.state.requestId as string | undefined,
    userAgent: ctx.get('user-agent') || undefined,
  });

  const token: Middleware = async (ctx) => {
    const params = formOf(ctx, 'token request');
    if (!params.grant_type) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    if (params.grant_type !== 'client_credentials')
      throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    const result = await issueAccessToken(
      orm.em.fork(),
      { ...clientCredentials(ctx, params), ...caller(ctx) },
      config.oauthTokenTtlSeconds,
      limits,
    );
    if (result.outcome === 'invalid' || result.outcome === 'auth_blocked') throw refused(logger, result);
    if (result.outcome === 'rate_limited')
      throw new OAuthError(429, 'temporarily_unavailable', `rate limit of this tenant exceeded; retry after ${result.retryAfter} seconds`, {
        'Retry-After': String(result.retryAfter),
      });
    noStore(ctx);
    ctx.status = 200;
    ctx.body = { access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn, scope: OAUTH_SCOPE };
  };

  const revoke: Middleware = async (ctx) => {
    const params = formOf(ctx, 'revocation request');
    // Credentials missing or malformed: 401 invalid_client; then a missing token is a 400 before the database
    // authenticates anything (the client's secret is checked with the revocation itself, in one statement).
    const credentials = clientCredentials(ctx, params);
    if (!params.token) throw new OAuthError(400, 'invalid_request', 'token is required');
    // token_type_hint is only a hint (§2.1): Roster issues access tokens alone, so every hint leads to them.
    const result = await revokeAccessToken(orm.em.fork(), { ...credentials, ...caller(ctx), token: params.token }, limits);
    if (result.outcome !== 'ok') throw refused(logger, result);
    if (result.revoked > 0)
      logger.info({ door: 'oauth', tenantId: result.tenantId, clientId: credentials.clientId }, 'access token revoked');
    noStore(ctx);
    ctx.status = 200;
    ctx.body = '';
  };

  for (const [path, handler] of [
    ['/token', token],
    ['/revoke', revoke],
  ] as const) {
    router.post(path, form, handler);
    router.all(path, (ctx) => {
      ctx.set('Allow', 'POST');
      throw new OAuthError(405, 'invalid_request', 'use POST');
    });
  }
  return router;
}
