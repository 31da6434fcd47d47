import type { EntityManager } from '@mikro-orm/postgresql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { scimBaseUrl } from '../../config/env.js';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { Permission, TENANT_PERMISSIONS, type TenantScope } from '../../kernel/scope.js';
import { enterTenant } from '../../infra/orm/session.js';
import { translatingDbErrors } from '../../infra/orm/db-errors.js';
import { listAuditEvents } from '../../modules/audit/audit.queries.js';
import { recordAudit } from '../../modules/audit/audit.service.js';
import type { AuditEvent as AuditEventEntity } from '../../modules/audit/audit-event.entity.js';
import type { ApiKey as ApiKeyEntity, ScimCredential as ScimCredentialEntity } from '../../modules/credentials/credential.entity.js';
import {
  createApiKey,
  generateScimCredential,
  listApiKeys,
  listScimCredentials,
  revokeApiKey,
  revokeScimCredentials,
} from '../../modules/credentials/credential.service.js';
import type { CustomAttribute as CustomAttributeEntity } from '../../modules/custom-attributes/custom-attribute.entity.js';
import {
  declareCustomAttribute,
  listCustomAttributes,
  removeCustomAttribute,
} from '../../modules/custom-attributes/custom-attribute.service.js';
import type { Tenant as TenantEntity } from '../../modules/tenants/tenant.entity.js';
import { createTenant, getTenant, listTenants } from '../../modules/tenants/tenant.service.js';
import type { GraphQLContext } from '../context.js';
import { fromGlobalId, idOf, toGlobalId } from '../ids.js';
import { toConnection, UserErrorCode } from '../types/common.js';
import {
  ApiKey,
  ApiKeyPayload,
  CreateApiKeyInput,
  CreateApiKeyPayload,
  CreateTenantInput,
  CreateTenantPayload,
  CustomAttribute,
  CustomAttributePayload,
  DeclareCustomAttributeInput,
  GenerateScimCredentialInput,
  GenerateScimCredentialPayload,
  RevokePayload,
  ScimCredential,
  Tenant,
} from '../types/admin.js';
import { AuditActor, AuditEvent, AuditEventConnection, AuditFilter, ConnectionArgs, DeletePayload } from '../types/directory.js';
import { runMutation, tenantScope } from './helpers.js';

@Resolver(() => Tenant)
export class TenantResolver {
  @Query(() => Tenant, { nullable: true, description: "The caller's tenant (null for operator keys)." })
  async viewer(@Ctx() ctx: GraphQLContext) {
    return ctx.scope ? getTenant(ctx.em, ctx.scope.tenantId) : null;
  }

  @Authorized(Permission.TENANTS_MANAGE)
  @Query(() => [Tenant], { description: 'Operator only: tenants by slug.' })
  async tenants(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('afterSlug', () => String, { nullable: true }) afterSlug?: string | null,
  ) {
    if (first < 1 || first > 1000) throw new DomainError(ErrorCode.INVALID_INPUT, 'first must be from 1 to 1000', { field: 'first' });
    return listTenants(ctx.em, { limit: first, afterSlug: afterSlug ?? undefined });
  }

  @FieldResolver(() => ID) id(@Root() t: TenantEntity) {
    return toGlobalId('Tenant', t.id);
  }
  @FieldResolver(() => String) scimBaseUrl(@Root() t: TenantEntity, @Ctx() ctx: GraphQLContext) {
    return scimBaseUrl(ctx.config, t.slug);
  }

  @Authorized(Permission.TENANTS_MANAGE)
  @Mutation(() => CreateTenantPayload, {
    description: 'Operator only: creates a tenant with a SCIM token and an admin API key (shown once).',
  })
  async createTenant(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateTenantInput) input: CreateTenantInput) {
    try {
      return await ctx.em.transactional(async (em) => {
        const tenant = await translatingDbErrors(() => createTenant(em, { slug: input.slug, displayName: input.displayName ?? undefined }));
        const secrets = await provisionTenantCredentials(em, tenant.id, { ...ctx.actor, label: ctx.actor.label }, 'graphql');
        return { tenant, ...secrets, userErrors: [] };
      });
    } catch (err) {
      if (err instanceof DomainError && (err.code === ErrorCode.CONFLICT || err.code === ErrorCode.INVALID_INPUT)) {
        return {
          tenant: null,
          scimToken: null,
          apiKey: null,
          userErrors: [
            { code: err.code as unknown as UserErrorCode, field: err.field ?? null, reason: err.reason ?? null, message: err.message },
          ],
        };
      }
      throw err;
    }
  }
}

/**
 * A new tenant's first SCIM token and all-permissions admin key, created inside the tenant (row-level
 * security) in the caller's transaction. Used by the operator mutation and by the CLI.
 */
export async function provisionTenantCredentials(
  em: EntityManager,
  tenantId: string,
  actor: TenantScope['actor'],
  door: TenantScope['door'],
): Promise<{ scimToken: string; apiKey: string }> {
  await enterTenant(em, tenantId);
  const scope: TenantScope = { tenantId, actor, door, em };
  await recordAudit(scope, { action: 'tenant.created', targetType: 'tenant', targetId: tenantId });
  const { secret: scimToken } = await generateScimCredential(scope, { kind: 'bearer' });
  const { secret: apiKey } = await createApiKey(scope, { name: 'admin', permissions: TENANT_PERMISSIONS });
  return { scimToken, apiKey };
}

@Resolver(() => ScimCredential)
export class CredentialResolver {
  @FieldResolver(() => ID) id(@Root() c: ScimCredentialEntity) {
    return toGlobalId('ScimCredential', c.id);
  }
  @FieldResolver(() => Boolean) active(@Root() c: ScimCredentialEntity) {
    return !c.revokedAt && (!c.expiresAt || c.expiresAt > new Date());
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => [ScimCredential], { description: 'SCIM credentials of the tenant, newest first (never the secrets).' })
  scimCredentials(@Ctx() ctx: GraphQLContext) {
    return listScimCredentials(tenantScope(ctx));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => GenerateScimCredentialPayload, {
    description:
      'Generates a SCIM bearer token (or Basic credential). Previous ones of that kind stop working now, or after overlapSeconds.',
  })
  async generateScimCredential(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => GenerateScimCredentialInput, { nullable: true }) input?: GenerateScimCredentialInput | null,
  ) {
    return runMutation(
      ctx,
      async (scope) => {
        const { credential, secret } = await generateScimCredential(scope, {
          kind: input?.kind ?? 'bearer',
          overlapSeconds: input?.overlapSeconds ?? 0,
        });
        const tenant = await getTenant(scope.em, scope.tenantId);
        return { credential, secret, scimBaseUrl: scimBaseUrl(ctx.config, tenant!.slug) };
      },
      { credential: null, secret: null, scimBaseUrl: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => RevokePayload, { description: 'Revokes one SCIM credential, or every one when id is omitted.' })
  revokeScimCredential(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { nullable: true }) id?: string | null) {
    return runMutation(
      ctx,
      async (scope) => ({ revoked: await revokeScimCredentials(scope, id ? (idOf(id, 'ScimCredential') ?? 'unknown') : undefined) }),
      { revoked: null },
    );
  }
}

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @FieldResolver(() => ID) id(@Root() k: ApiKeyEntity) {
    return toGlobalId('ApiKey', k.id);
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => [ApiKey])
  apiKeys(@Ctx() ctx: GraphQLContext) {
    return listApiKeys(tenantScope(ctx));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => CreateApiKeyPayload)
  createApiKey(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput) {
    return runMutation(
      ctx,
      async (scope) => {
        const { key, secret } = await createApiKey(scope, { name: input.name, permissions: input.permissions as Permission[] });
        return { apiKey: key, secret };
      },
      { apiKey: null, secret: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => ApiKeyPayload)
  revokeApiKey(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => ({ apiKey: await revokeApiKey(scope, idOf(id, 'ApiKey') ?? '00000000-0000-0000-0000-000000000000') }),
      { apiKey: null },
    );
  }
}

@Resolver(() => CustomAttribute)
export class CustomAttributeResolver {
  @FieldResolver(() => ID) id(@Root() a: CustomAttributeEntity) {
    return toGlobalId('CustomAttribute', a.id);
  }

  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => [CustomAttribute], { description: "The tenant's custom user attributes (its SCIM schema extension)." })
  customAttributes(@Ctx() ctx: GraphQLContext) {
    return listCustomAttributes(tenantScope(ctx));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => CustomAttributePayload)
  declareCustomAttribute(@Ctx() ctx: GraphQLContext, @Arg('input', () => DeclareCustomAttributeInput) input: DeclareCustomAttributeInput) {
    return runMutation(ctx, async (scope) => ({ customAttribute: await declareCustomAttribute(scope, input) }), { customAttribute: null });
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => DeletePayload, { description: 'Removes a declaration; stored values are no longer published or accepted.' })
  removeCustomAttribute(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await removeCustomAttribute(scope, idOf(id, 'CustomAttribute') ?? '00000000-0000-0000-0000-000000000000');
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }
}

@Resolver(() => AuditEvent)
export class AuditResolver {
  @Authorized(Permission.AUDIT_READ)
  @Query(() => AuditEventConnection, { description: 'Every change in the tenant, newest first.' })
  async auditEvents(
    @Ctx() ctx: GraphQLContext,
    @Args() page: ConnectionArgs,
    @Arg('filter', () => AuditFilter, { nullable: true }) filter?: AuditFilter | null,
  ) {
    const targetId = filter?.targetId ? (fromGlobalId(filter.targetId)?.id ?? 'none') : null;
    return toConnection(
      await listAuditEvents(
        tenantScope(ctx),
        { door: filter?.door, action: filter?.action, since: filter?.since, until: filter?.until, targetId },
        page,
      ),
    );
  }

  @FieldResolver(() => ID) id(@Root() e: AuditEventEntity) {
    return toGlobalId('AuditEvent', e.id);
  }
  @FieldResolver(() => AuditActor) actor(@Root() e: AuditEventEntity): AuditActor {
    return { kind: e.actorKind, id: e.actorId ?? null, label: e.actorLabel ?? null };
  }
  @FieldResolver(() => String, { nullable: true }) targetId(@Root() e: AuditEventEntity) {
    const type = (
      {
        user: 'User',
        team: 'Team',
        role: 'Role',
        credential: 'ScimCredential',
        api_key: 'ApiKey',
        custom_attribute: 'CustomAttribute',
        tenant: 'Tenant',
        webhook_subscription: 'WebhookSubscription',
        oauth_client: 'OAuthClient',
      } as const
    )[e.targetType as 'user'];
    return e.targetId && type ? toGlobalId(type, e.targetId) : null;
  }
}
