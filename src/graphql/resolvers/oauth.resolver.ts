import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { oauthTokenUrl, scimBaseUrl } from '../../config/env.js';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { Permission } from '../../kernel/scope.js';
import type { OAuthClient as OAuthClientEntity } from '../../modules/credentials/oauth.entity.js';
import {
  createOAuthClient,
  listOAuthClients,
  listOAuthClientSecrets,
  revokeOAuthClient,
  rotateOAuthClientSecret,
} from '../../modules/credentials/oauth.service.js';
import { getTenant } from '../../modules/tenants/tenant.service.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import {
  AuthFailure,
  CreateOAuthClientInput,
  CreateOAuthClientPayload,
  RotateOAuthClientSecretInput,
  RotateOAuthClientSecretPayload,
  OAuthClient,
  OAuthClientPayload,
  OAuthClientSecret,
} from '../types/oauth.js';
import { runMutation, tenantScope } from './helpers.js';

const NO_ID = '00000000-0000-0000-0000-000000000000';

async function tenantSlug(ctx: GraphQLContext, tenantId: string): Promise<string> {
  const tenant = await getTenant(ctx.em, tenantId);
  if (!tenant) throw new DomainError(ErrorCode.NOT_FOUND, 'tenant not found');
  return tenant.slug;
}

@Resolver(() => OAuthClient)
export class OAuthClientResolver {
  @FieldResolver(() => ID) id(@Root() c: OAuthClientEntity) {
    return toGlobalId('OAuthClient', c.id);
  }
  @FieldResolver(() => Boolean) active(@Root() c: OAuthClientEntity) {
    return !c.revokedAt;
  }
  @FieldResolver(() => String) async tokenEndpoint(@Root() c: OAuthClientEntity, @Ctx() ctx: GraphQLContext) {
    return oauthTokenUrl(ctx.config, await tenantSlug(ctx, c.tenantId));
  }
  @FieldResolver(() => [OAuthClientSecret]) async secrets(
    @Root() c: OAuthClientEntity,
    @Ctx() ctx: GraphQLContext,
  ): Promise<OAuthClientSecret[]> {
    const now = new Date();
    return (await listOAuthClientSecrets(tenantScope(ctx), c.id)).map((s) => ({
      prefix: s.prefix,
      createdBy: s.createdBy ?? null,
      createdAt: s.createdAt,
      expiresAt: s.expiresAt ?? null,
      revokedAt: s.revokedAt ?? null,
      lastUsedAt: s.lastUsedAt ?? null,
      active: !c.revokedAt && !s.revokedAt && (!s.expiresAt || s.expiresAt > now),
    }));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => [OAuthClient], { description: 'OAuth clients of the SCIM door, newest first (never their secrets).' })
  oauthClients(@Ctx() ctx: GraphQLContext) {
    return listOAuthClients(tenantScope(ctx));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => CreateOAuthClientPayload, {
    description:
      'Creates an OAuth 2.0 client for the SCIM door (client credentials grant, for Microsoft Entra gallery apps). The secret is shown once.',
  })
  createOAuthClient(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => CreateOAuthClientInput, { nullable: true }) input?: CreateOAuthClientInput | null,
  ) {
    return runMutation(
      ctx,
      async (scope) => {
        const { client, secret } = await createOAuthClient(scope, { name: input?.name ?? undefined });
        const slug = await tenantSlug(ctx, scope.tenantId);
        return { client, clientSecret: secret, tokenEndpoint: oauthTokenUrl(ctx.config, slug), scimBaseUrl: scimBaseUrl(ctx.config, slug) };
      },
      { client: null, clientSecret: null, tokenEndpoint: null, scimBaseUrl: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => RotateOAuthClientSecretPayload, {
    description:
      'Generates a new client secret. The previous one, and the access tokens issued with it, stop working now, or after overlapSeconds.',
  })
  rotateOAuthClientSecret(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => RotateOAuthClientSecretInput) input: RotateOAuthClientSecretInput,
  ) {
    return runMutation(
      ctx,
      async (scope) => {
        const { client, secret } = await rotateOAuthClientSecret(scope, idOf(input.id, 'OAuthClient') ?? NO_ID, {
          overlapSeconds: input.overlapSeconds,
        });
        return { client, clientSecret: secret };
      },
      { client: null, clientSecret: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => OAuthClientPayload, { description: 'Revokes an OAuth client, its secrets and its access tokens, at once.' })
  revokeOAuthClient(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(ctx, async (scope) => ({ client: await revokeOAuthClient(scope, idOf(id, 'OAuthClient') ?? NO_ID) }), {
      client: null,
    });
  }
}

interface AuthFailureRow {
  window_start: Date;
  door: string;
  client_ip: string;
  credential_prefix: string;
  reason: string;
  tenant_slug: string | null;
  attempts: number;
  first_at: Date;
  last_at: Date;
  last_request_id: string | null;
  user_agent: string | null;
}

@Resolver(() => AuthFailure)
export class AuthFailureResolver {
  @Query(() => [AuthFailure], {
    description:
      'Failed authentications at the SCIM, GraphQL and token endpoints, newest first. Operators see all of them; a tenant (audit:read) those attributed to it (its own revoked, expired or misdirected credentials).',
  })
  async authFailures(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('since', () => Date, { nullable: true }) since?: Date | null,
  ): Promise<AuthFailure[]> {
    const required = ctx.scope ? Permission.AUDIT_READ : Permission.TENANTS_MANAGE;
    if (!ctx.actor.permissions.has(required))
      throw new DomainError(ErrorCode.FORBIDDEN, 'this credential lacks the permission for this field');
    if (first < 1 || first > 1000) throw new DomainError(ErrorCode.INVALID_INPUT, 'first must be from 1 to 1000', { field: 'first' });
    const params: unknown[] = [];
    const where: string[] = [];
    if (ctx.scope) {
      where.push('f.tenant_id = ?');
      params.push(ctx.scope.tenantId);
    }
    if (since) {
      where.push('f.last_at >= ?');
      params.push(since);
    }
    params.push(first);
    const rows = await ctx.em.execute<AuthFailureRow[]>(
      `select f.window_start, f.door, f.client_ip, f.credential_prefix, f.reason, t.slug as tenant_slug, f.attempts, f.first_at, f.last_at, f.last_request_id, f.user_agent
         from auth_failures f left join tenants t on t.id = f.tenant_id
        ${where.length ? `where ${where.join(' and ')}` : ''}
        order by f.last_at desc, f.id desc limit ?`,
      params,
    );
    return rows.map((r) => ({
      windowStart: new Date(r.window_start),
      door: r.door,
      clientIp: r.client_ip,
      credentialPrefix: r.credential_prefix,
      reason: r.reason,
      tenantSlug: r.tenant_slug,
      attempts: r.attempts,
      firstAt: new Date(r.first_at),
      lastAt: new Date(r.last_at),
      lastRequestId: r.last_request_id,
      userAgent: r.user_agent,
    }));
  }
}
