import type { TenantScope } from '../../kernel/scope.js';
import type { AuditEvent } from '../audit/audit-event.entity.js';
import { WebhookEvent } from './webhook.entity.js';
import { webhookEventTypeFor } from './webhook-event-types.js';

/**
 * The outbox write, called by recordAudit for every audit event: when the action is webhook-worthy, one
 * row joins the same unit of work, so it commits with the change or not at all. One row per event
 * whatever the number of subscriptions (the delivery worker fans out, and drops events nobody
 * subscribed to); no query here, so the write path costs one more row in the flush's insert batch.
 */
export function recordWebhookEvent(scope: TenantScope, audit: AuditEvent): WebhookEvent | null {
  const type = webhookEventTypeFor(audit.action);
  if (!type) return null;
  return scope.em.create(WebhookEvent, {
    id: audit.id,
    tenantId: audit.tenantId,
    type,
    resourceType: audit.targetType,
    resourceId: audit.targetId ?? null,
    occurredAt: audit.occurredAt,
  });
}
