import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { Permission } from '../../kernel/scope.js';
import { AuditEvent } from '../../modules/audit/audit-event.entity.js';
import { ApiKey, ScimCredential } from '../../modules/credentials/credential.entity.js';
import { OAuthClient } from '../../modules/credentials/oauth.entity.js';
import { CustomAttribute } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { getJob } from '../../modules/bulk/bulk-job.service.js';
import { getTenant } from '../../modules/tenants/tenant.service.js';
import { getWebhookSubscription } from '../../modules/webhooks/webhook.service.js';
import type { GraphQLContext } from '../context.js';
import { fromGlobalId } from '../ids.js';
import { Node } from '../types/common.js';

/**
 * Relay object identification. Each type checks the permission its own query needs, so node() is never
 * a way around one; an id of another tenant, like a malformed one, resolves to null.
 */
async function resolveNode(ctx: GraphQLContext, globalId: string): Promise<object | null> {
  const parsed = fromGlobalId(globalId);
  const scope = ctx.scope;
  if (!parsed || !scope) return null;
  const can = (p: Permission) => ctx.actor.permissions.has(p);
  const { type, id } = parsed;
  switch (type) {
    case 'User':
      return can(Permission.DIRECTORY_READ) ? ctx.loaders.user.load(id) : null;
    case 'Team':
      return can(Permission.DIRECTORY_READ) ? ctx.loaders.team.load(id) : null;
    case 'Role':
      return can(Permission.DIRECTORY_READ) ? ctx.loaders.role.load(id) : null;
    case 'Tenant':
      return id === scope.tenantId ? getTenant(scope.em, id) : null;
    case 'AuditEvent':
      return can(Permission.AUDIT_READ) ? scope.em.findOne(AuditEvent, { id, tenantId: scope.tenantId }) : null;
    case 'CustomAttribute':
      return can(Permission.DIRECTORY_READ) ? scope.em.findOne(CustomAttribute, { id, tenantId: scope.tenantId }) : null;
    case 'ScimCredential':
      return can(Permission.INTEGRATIONS_MANAGE) ? scope.em.findOne(ScimCredential, { id, tenantId: scope.tenantId }) : null;
    case 'ApiKey':
      return can(Permission.INTEGRATIONS_MANAGE) ? scope.em.findOne(ApiKey, { id, tenantId: scope.tenantId }) : null;
    case 'OAuthClient':
      return can(Permission.INTEGRATIONS_MANAGE) ? scope.em.findOne(OAuthClient, { id, tenantId: scope.tenantId }) : null;
    case 'BulkJob':
      return can(Permission.DIRECTORY_READ) ? getJob(scope, id) : null;
    case 'WebhookSubscription':
      return can(Permission.INTEGRATIONS_MANAGE) ? getWebhookSubscription(scope, id) : null;
  }
}

const MAX_NODES = 100;

@Resolver()
export class NodeResolver {
  @Query(() => Node, { nullable: true, description: 'Any object by its global id.' })
  node(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return resolveNode(ctx, id);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: 'Objects by global ids, null where not found, in the order given. At most 100 ids (more: INVALID_INPUT).',
  })
  async nodes(@Ctx() ctx: GraphQLContext, @Arg('ids', () => [ID]) ids: string[]) {
    // Refused, not cut: a client matching answers to its ids by position would lose the rest unawares.
    if (ids.length > MAX_NODES)
      throw new DomainError(ErrorCode.INVALID_INPUT, `ids: at most ${MAX_NODES} at a time (got ${ids.length})`, { field: 'ids' });
    return Promise.all(ids.map((id) => resolveNode(ctx, id)));
  }
}
