import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { loadSecretKey } from '../../infra/secret-box.js';
import { Permission } from '../../kernel/scope.js';
import type { WebhookSubscription as WebhookSubscriptionEntity } from '../../modules/webhooks/webhook.entity.js';
import {
  backlogSizes,
  createWebhookSubscription,
  deleteWebhookSubscription,
  deliveryAttempts,
  disableWebhookSubscription,
  enableWebhookSubscription,
  getWebhookSubscription,
  listWebhookDeliveries,
  listWebhookSubscriptions,
  rotateWebhookSecret,
  updateWebhookSubscription,
  type WebhookAttemptRecord,
  type WebhookSettings,
} from '../../modules/webhooks/webhook.service.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import { toConnection } from '../types/common.js';
import { ConnectionArgs, DeletePayload } from '../types/directory.js';
import {
  CreateWebhookSubscriptionInput,
  UpdateWebhookSubscriptionInput,
  WebhookDelivery,
  WebhookDeliveryAttempt,
  WebhookDeliveryConnection,
  WebhookDeliveryStatus,
  WebhookSecretPayload,
  WebhookSubscription,
  WebhookSubscriptionPayload,
} from '../types/webhooks.js';
import { runMutation, tenantScope } from './helpers.js';

const subscriptionId = (id: string) => idOf(id, 'WebhookSubscription') ?? 'unknown';

async function settings(ctx: GraphQLContext): Promise<WebhookSettings> {
  return { key: await loadSecretKey(ctx.config), endpoints: ctx.config.webhooks };
}

/** Webhook subscriptions and their delivery log. All of it needs integrations:manage. */
@Resolver(() => WebhookSubscription)
export class WebhookSubscriptionResolver {
  @FieldResolver(() => ID) id(@Root() s: WebhookSubscriptionEntity) {
    return toGlobalId('WebhookSubscription', s.id);
  }

  @FieldResolver(() => Int, { description: 'Deliveries not done yet: pending, in flight or held.' })
  async backlog(@Root() s: WebhookSubscriptionEntity, @Ctx() ctx: GraphQLContext) {
    return (await backlogSizes(tenantScope(ctx), [s.id])).get(s.id) ?? 0;
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => [WebhookSubscription], { description: "The tenant's webhook subscriptions, oldest first." })
  webhookSubscriptions(@Ctx() ctx: GraphQLContext) {
    return listWebhookSubscriptions(tenantScope(ctx));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => WebhookSubscription, { nullable: true })
  webhookSubscription(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return getWebhookSubscription(tenantScope(ctx), subscriptionId(id));
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Query(() => WebhookDeliveryConnection, { description: "A subscription's deliveries, newest event first, with their attempts." })
  async webhookDeliveries(
    @Ctx() ctx: GraphQLContext,
    @Arg('subscriptionId', () => ID) id: string,
    @Args() page: ConnectionArgs,
    @Arg('statuses', () => [WebhookDeliveryStatus], { nullable: true, description: 'Only deliveries in one of these states.' })
    statuses?: WebhookDeliveryStatus[] | null,
  ) {
    const scope = tenantScope(ctx);
    const result = await listWebhookDeliveries(scope, subscriptionId(id), { statuses: statuses ?? null }, page);
    let attempts: Promise<Map<string, WebhookAttemptRecord[]>> | undefined;
    const loadAttempts = () =>
      (attempts ??= deliveryAttempts(
        scope,
        result.nodes.map((d) => d.id),
      ));
    const nodes = result.nodes.map((d) =>
      Object.assign(new WebhookDelivery(), {
        id: d.id,
        eventId: d.eventId,
        eventType: d.eventType,
        occurredAt: d.occurredAt,
        resourceType: d.resourceType,
        resourceId: d.resourceId,
        status: d.status,
        attemptCount: d.attempts,
        nextAttemptAt: d.nextAttemptAt,
        lastStatusCode: d.lastStatusCode,
        lastError: d.lastError,
        deliveredAt: d.deliveredAt,
        createdAt: d.createdAt,
        loadAttempts,
      }),
    );
    return toConnection({ ...result, nodes });
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => WebhookSecretPayload, { description: 'Subscribes an endpoint. The signing secret is in this payload only.' })
  async createWebhookSubscription(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => CreateWebhookSubscriptionInput) input: CreateWebhookSubscriptionInput,
  ) {
    const s = await settings(ctx);
    return runMutation(
      ctx,
      (scope) => createWebhookSubscription(scope, { url: input.url, eventTypes: input.eventTypes, description: input.description }, s),
      { subscription: null, secret: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => WebhookSubscriptionPayload)
  async updateWebhookSubscription(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWebhookSubscriptionInput) input: UpdateWebhookSubscriptionInput,
  ) {
    const s = await settings(ctx);
    return runMutation(
      ctx,
      async (scope) => ({
        subscription: await updateWebhookSubscription(
          scope,
          subscriptionId(id),
          { url: input.url ?? undefined, eventTypes: input.eventTypes ?? undefined, description: input.description },
          s,
        ),
      }),
      { subscription: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => DeletePayload, { description: 'Deletes a subscription, its undelivered events and its delivery log.' })
  deleteWebhookSubscription(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await deleteWebhookSubscription(scope, subscriptionId(id));
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => WebhookSecretPayload, {
    description:
      'A new signing secret (shown once). With overlapSeconds (at most 7 days) the previous one keeps signing as well until then.',
  })
  async rotateWebhookSecret(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('overlapSeconds', () => Int, { defaultValue: 0 }) overlapSeconds: number,
  ) {
    const s = await settings(ctx);
    return runMutation(ctx, (scope) => rotateWebhookSecret(scope, subscriptionId(id), { overlapSeconds }, s), {
      subscription: null,
      secret: null,
    });
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => WebhookSubscriptionPayload, { description: 'Re-enables a disabled subscription: what it missed is delivered, in order.' })
  enableWebhookSubscription(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(ctx, async (scope) => ({ subscription: await enableWebhookSubscription(scope, subscriptionId(id)) }), {
      subscription: null,
    });
  }

  @Authorized(Permission.INTEGRATIONS_MANAGE)
  @Mutation(() => WebhookSubscriptionPayload, { description: 'Pauses a subscription: events queue until it is re-enabled.' })
  disableWebhookSubscription(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => ({ subscription: await disableWebhookSubscription(scope, subscriptionId(id), `disabled by ${scope.actor.label}`) }),
      { subscription: null },
    );
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @FieldResolver(() => [WebhookDeliveryAttempt], { description: 'Every attempt, oldest first.' })
  async attempts(@Root() d: WebhookDelivery): Promise<WebhookDeliveryAttempt[]> {
    const records = (await d.loadAttempts()).get(d.id) ?? [];
    return records.map((a) => ({
      ...a,
      succeeded: a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 && a.error === null,
    }));
  }
}
