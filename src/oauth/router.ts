import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Context, Middleware } from 'koa';
import type { Config } from '../config/env.js';
import { requestDeadline } from '../http/middleware/deadline.js';
import { isDatabaseUnavailable } from '../infra/db/unavailable.js';
import { isTimeout } from '../infra/db/timeouts.js';
import type { Logger } from '../infra/logger.js';
import { doorLimits } from '../modules/credentials/door.js';
import { issueAccessToken } from '../modules/credentials/oauth.service.js';
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

/**
 * `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) for the SCIM door.
 * Form-encoded body, `grant_type=client_credentials`, client authentication by HTTP Basic or by
 * `client_id`/`client_secret` in the body. Answers `{access_token, token_type: "Bearer", expires_in,
 * scope}` with `Cache-Control: no-store`; the token is then accepted by /scim/v2 as
 * `Authorization: Bearer <access_token>`. Errors follow §5.2; a bad client is 401 `invalid_client`.
 */
export function oauthRouter(deps: { orm: MikroORM; config: Config; logger: Logger }): Router {
  const { orm, config, logger } = deps;
  const limits = doorLimits(config, 'scim');
  const router = new Router({ prefix: '/oauth' });
  router.use(oauthErrors(logger));
  router.use(requestDeadline(config.requestTimeoutMs, logger));

  const token: Middleware = async (ctx) => {
    if (!ctx.is('application/x-www-form-urlencoded'))
      throw new OAuthError(400, 'invalid_request', 'send the token request as application/x-www-form-urlencoded');
    const raw = (ctx.request as { body?: unknown }).body;
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw && typeof raw === 'object' ? raw : {})) {
      // RFC 6749 §3.2: parameters must not be repeated.
      if (typeof v !== 'string')
        throw new OAuthError(400, 'invalid_request', `parameter ${k.slice(0, 40)} must appear once, as a plain value`);
      form[k] = v;
    }
    if (!form.grant_type) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    if (form.grant_type !== 'client_credentials')
      throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    const { clientId, clientSecret } = clientCredentials(ctx, form);
    const result = await issueAccessToken(
      orm.em.fork(),
      {
        clientId,
        clientSecret,
        hostSlug: slugFromHost(ctx.hostname, config.baseDomain),
        clientIp: ctx.ip,
        requestId: ctx.state.requestId,
        userAgent: ctx.get('user-agent') || undefined,
      },
      config.oauthTokenTtlSeconds,
      limits,
    );
    switch (result.outcome) {
      case 'invalid':
        logger.warn({ door: 'oauth', reason: result.reason, credentialTenantId: result.tenantId ?? undefined }, 'authentication failed');
        throw new OAuthError(401, 'invalid_client', 'client authentication failed', INVALID_CLIENT_CHALLENGE);
      case 'auth_blocked':
        throw new OAuthError(
          429,
          'temporarily_unavailable',
          `too many failed authentications from this address; retry after ${result.retryAfter} seconds`,
          { 'Retry-After': String(result.retryAfter) },
        );
      case 'rate_limited':
        throw new OAuthError(
          429,
          'temporarily_unavailable',
          `rate limit of this tenant exceeded; retry after ${result.retryAfter} seconds`,
          { 'Retry-After': String(result.retryAfter) },
        );
    }
    noStore(ctx);
    ctx.status = 200;
    ctx.body = { access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn, scope: OAUTH_SCOPE };
  };

  router.post('/token', bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' }), token);
  router.all('/token', (ctx) => {
    ctx.set('Allow', 'POST');
    throw new OAuthError(405, 'invalid_request', 'use POST');
  });
  return router;
}
