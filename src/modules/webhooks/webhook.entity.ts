import { defineEntity, p } from '@mikro-orm/core';

export type WebhookSubscriptionStatus = 'active' | 'disabled';

/**
 * A tenant's endpoint subscribed to event types. The signing secret is stored encrypted (the raw value
 * is needed to compute signatures); it is shown once, at creation and at rotation.
 */
export const WebhookSubscriptionSchema = defineEntity({
  name: 'WebhookSubscription',
  tableName: 'webhook_subscriptions',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    url: p.string(),
    description: p.string().nullable(),
    eventTypes: p.array<string>().columnType('text[]'),
    secretCiphertext: p.string(),
    secretPrefix: p.string(),
    previousSecretCiphertext: p.string().nullable(),
    previousSecretExpiresAt: p.datetime().nullable(),
    secretRotatedAt: p.datetime().nullable(),
    status: p.string().$type<WebhookSubscriptionStatus>(),
    disabledAt: p.datetime().nullable(),
    disabledReason: p.string().nullable(),
    consecutiveFailures: p.integer(),
    failingSince: p.datetime().nullable(),
    lastSuccessAt: p.datetime().nullable(),
    lastFailureAt: p.datetime().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class WebhookSubscription extends WebhookSubscriptionSchema.class {}
WebhookSubscriptionSchema.setClass(WebhookSubscription);
