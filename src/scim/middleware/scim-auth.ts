import type { MikroORM } from '@mikro-orm/postgresql';
import type { Context, Middleware } from 'koa';
import type { Config } from '../../config/env.js';
import type { Deadline } from '../../kernel/deadline.js';
import type { TenantScope } from '../../kernel/scope.js';
import type { Logger } from '../../infra/logger.js';
import { passDoorAndEnter, type FirstStatementPlan } from '../../infra/orm/door-transaction.js';
import { chargeTokens, doorLimits, type PresentedCredential } from '../../modules/credentials/door.js';
import { primeCustomAttributes } from '../../modules/custom-attributes/custom-attribute.service.js';
import { ScimError } from '../errors.js';

export interface ScimState {
  scope: TenantScope;
  tenantSlug: string;
  /** Absolute base URL of this tenant's SCIM endpoint as the client addressed it (for meta.location). */
  baseUrl: string;
}

function presented(header: string): PresentedCredential | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return { kind: 'bearer', token: bearer[1] };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { kind: 'basic', username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return null;
}

/** The tenant slug a host names (`acme.roster.example` → `acme`), or null for any other host. */
export function slugFromHost(hostname: string, baseDomain: string): string | null {
  const domain = baseDomain.replace(/:\d+$/, '').toLowerCase();
  const host = hostname.toLowerCase();
  if (!host.endsWith(`.${domain}`)) return null;
  const slug = host.slice(0, -domain.length - 1);
  return /^[a-z0-9-]+$/.test(slug) ? slug : null;
}

const unauthorized = (detail: string) =>
  new ScimError(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="roster-scim", Basic realm="roster-scim"' });

const tooManyRequests = (detail: string, retryAfter: number) =>
  new ScimError(429, detail, undefined, { 'Retry-After': String(retryAfter) });

/** Rate-limit headers of an admitted request: the bucket's size and what is left of it. */
export function setRateLimitHeaders(ctx: Context, burst: number, remaining: number | null): void {
  if (remaining === null) return;
  ctx.set('X-RateLimit-Limit', String(burst));
  ctx.set('X-RateLimit-Remaining', String(Math.max(0, Math.floor(remaining))));
}

/**
 * SCIM credentials (Bearer token — static or an OAuth access token — or HTTP Basic) → tenant scope.
 * The door (modules/credentials/door.ts) authenticates and applies the rate limits in one statement
 * committed on its own: 401 for a bad credential (also one presented on another tenant's host), 429 with
 * Retry-After when the tenant's bucket is empty or this address failed too often. The rest of the request
 * runs inside one transaction with the tenant set for row-level security, begun in the door's round trip
 * (passDoorAndEnter); a failure anywhere below rolls everything back, so a SCIM request is applied whole or
 * not at all.
 */
export function scimAuth(
  orm: MikroORM,
  config: Config,
  logger?: Logger,
  /** The request's first statement, where its route can tell it from a guess of the tenant (passDoorAndEnter's `first`). */
  firstStatement?: (ctx: Context) => FirstStatementPlan | undefined,
): Middleware {
  const limits = doorLimits(config, 'scim');
  return async function scimAuthMiddleware(ctx, next) {
    const cred = presented(ctx.get('authorization'));
    if (!cred)
      throw unauthorized('authentication required: send the SCIM token as "Authorization: Bearer <token>" (or HTTP Basic credentials)');
    const hostSlug = slugFromHost(ctx.hostname, config.baseDomain);
    const deadline = ctx.state.deadline as Deadline | undefined;
    // Reads (GET, and the POST of a search) write nothing: a read-only transaction (see inDoorTransaction).
    const readOnly = ctx.method === 'GET' || ctx.method === 'HEAD' || (ctx.method === 'POST' && /\/\.search\/?$/.test(ctx.path));
    // The door and the request's transaction travel together; the rest of the request runs in it (below).
    const { door, admitted } = await passDoorAndEnter(
      orm,
      {
        request: {
          door: 'scim',
          credential: cred,
          hostSlug,
          clientIp: ctx.ip,
          requestId: ctx.state.requestId,
          userAgent: ctx.get('user-agent') || undefined,
        },
        limits,
        operatorAllowed: false,
        first: firstStatement?.(ctx),
      },
      { deadline, statementTimeoutMs: config.dbStatementTimeoutMs, readOnly },
      async ({ tenantId, tenantSlug, actor, remaining }, em, entered) => {
        if (!tenantId || !tenantSlug) throw unauthorized('the SCIM credential is invalid');
        setRateLimitHeaders(ctx, limits.burst, remaining);
        primeCustomAttributes(em, entered.customAttributes);
        const state: ScimState = {
          scope: { tenantId, actor, door: 'scim', requestId: ctx.state.requestId, em },
          tenantSlug,
          baseUrl: `${ctx.protocol}://${ctx.host}/scim/v2`,
        };
        ctx.state.scim = state;
        await next();
        // A read writes nothing: drop what it loaded, so the commit has no change sets to compute.
        if (readOnly) em.clear();
      },
    );
    switch (door.outcome) {
      case 'invalid':
        logger?.warn(
          { door: 'scim', reason: door.reason, credentialPrefix: door.prefix, credentialTenantId: door.tenantId ?? undefined },
          'authentication failed',
        );
        if (door.reason === 'wrong_tenant') throw unauthorized('this credential belongs to another tenant than the one this URL names');
        if (door.reason === 'expired' && cred.kind === 'bearer' && cred.token.startsWith('rst_at_'))
          throw unauthorized('the access token has expired; request a new one from the token endpoint');
        throw unauthorized(
          'the SCIM credential is invalid, revoked or replaced; generate a new one in Roster and update the identity provider',
        );
      case 'auth_blocked':
        logger?.debug({ door: 'scim', retryAfter: door.retryAfter }, 'authentication refused: too many failures from this address');
        throw tooManyRequests(`too many failed authentications from this address; retry after ${door.retryAfter} seconds`, door.retryAfter);
      case 'rate_limited':
        throw tooManyRequests(
          `rate limit of this tenant exceeded (${limits.rps} requests per second, bursts of ${limits.burst}); retry after ${door.retryAfter} seconds`,
          door.retryAfter,
        );
    }
    const tenantId = door.tenantId;
    if (!admitted || !tenantId) throw unauthorized('the SCIM credential is invalid');
    // A /Bulk request pays one token per operation, like the requests it stands for: the first was taken
    // at the door, the rest after the fact (the bucket may go negative; the next requests wait).
    const operations = (ctx.request as { body?: { Operations?: unknown } }).body?.Operations;
    if (limits.rps > 0 && ctx.method === 'POST' && /\/Bulk\/?$/.test(ctx.path) && Array.isArray(operations) && operations.length > 1) {
      await chargeTokens(orm.em.fork(), tenantId, 'scim', operations.length - 1, limits).catch((err: unknown) =>
        logger?.warn({ err }, 'could not charge the bulk operations to the rate limit'),
      );
    }
  };
}
