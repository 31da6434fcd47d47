import type { MikroORM } from '@mikro-orm/postgresql';
import type { Middleware } from 'koa';
import type { Config } from '../../config/env.js';
import type { TenantScope } from '../../kernel/scope.js';
import { enterTenant } from '../../infra/orm/session.js';
import { authenticateScim, type ScimPresented } from '../../modules/credentials/credential.service.js';
import { getTenant } from '../../modules/tenants/tenant.service.js';
import { ScimError } from '../errors.js';

export interface ScimState {
  scope: TenantScope;
  tenantSlug: string;
  /** Absolute base URL of this tenant's SCIM endpoint as the client addressed it (for meta.location). */
  baseUrl: string;
}

function presented(header: string): ScimPresented | null {
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

/**
 * SCIM credentials (Bearer token, or HTTP Basic) → tenant scope. Runs the rest of the request inside one
 * transaction with the tenant set for row-level security; a failure anywhere below rolls everything back,
 * so a SCIM request is applied whole or not at all. A credential presented on another tenant's host is 401.
 */
export function scimAuth(orm: MikroORM, config: Config): Middleware {
  return async function scimAuthMiddleware(ctx, next) {
    const cred = presented(ctx.get('authorization'));
    if (!cred) throw unauthorized('authentication required: send the SCIM token as "Authorization: Bearer <token>" (or HTTP Basic credentials)');
    const hostSlug = slugFromHost(ctx.hostname, config.baseDomain);
    await orm.em.fork().transactional(async (em) => {
      const auth = await authenticateScim(em, cred);
      if (!auth?.tenantId) throw unauthorized('the SCIM credential is invalid, revoked or replaced; generate a new one in Roster and update the identity provider');
      await enterTenant(em, auth.tenantId);
      const tenant = await getTenant(em, auth.tenantId);
      if (!tenant) throw unauthorized('the SCIM credential is invalid');
      if (hostSlug && hostSlug !== tenant.slug) throw unauthorized('this credential belongs to another tenant than the one this URL names');
      const state: ScimState = {
        scope: { tenantId: auth.tenantId, actor: auth.actor, door: 'scim', requestId: ctx.state.requestId, em },
        tenantSlug: tenant.slug,
        baseUrl: `${ctx.protocol}://${ctx.host}/scim/v2`,
      };
      ctx.state.scim = state;
      await next();
    });
  };
}
