import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import type { Permission } from '../kernel/scope.js';
import type { GraphQLContext } from './context.js';
import { ApiKeyResolver, AuditResolver, CredentialResolver, CustomAttributeResolver, TenantResolver } from './resolvers/admin.resolver.js';
import { BulkBatchResolver, BulkJobLineResolver, BulkJobResolver } from './resolvers/bulk.resolver.js';
import { NodeResolver } from './resolvers/node.resolver.js';
import { AuthFailureResolver, OAuthClientResolver } from './resolvers/oauth.resolver.js';
import { RoleResolver } from './resolvers/role.resolver.js';
import { TeamResolver } from './resolvers/team.resolver.js';
import { UserResolver } from './resolvers/user.resolver.js';
import { WebhookDeliveryResolver, WebhookSubscriptionResolver } from './resolvers/webhook.resolver.js';

/** `@Authorized(p1, p2)` passes when the caller's credential holds every listed permission. */
const authChecker: AuthChecker<GraphQLContext> = ({ context }, required) =>
  required.every((p) => context.actor.permissions.has(p as Permission));

let cached: Promise<GraphQLSchema> | undefined;

/** The schema, built once per process (type-graphql metadata is global). schema/schema.graphql is its printed form. */
export function getSchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [
      UserResolver,
      TeamResolver,
      RoleResolver,
      TenantResolver,
      CredentialResolver,
      ApiKeyResolver,
      CustomAttributeResolver,
      AuditResolver,
      NodeResolver,
      BulkBatchResolver,
      BulkJobResolver,
      BulkJobLineResolver,
      WebhookSubscriptionResolver,
      WebhookDeliveryResolver,
      OAuthClientResolver,
      AuthFailureResolver,
    ],
    authChecker,
    authMode: 'error',
    validate: false,
    emitSchemaFile: false,
  });
  return cached;
}
