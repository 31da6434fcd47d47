import { uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { webhookEventTypeFor } from '../webhooks/webhook-event-types.js';
import { AuditEvent } from './audit-event.entity.js';

export type Changes = Record<string, { before: unknown; after: unknown }>;

export interface AuditRecord {
  action: string;
  targetType:
    | 'user'
    | 'team'
    | 'role'
    | 'credential'
    | 'api_key'
    | 'custom_attribute'
    | 'tenant'
    | 'bulk_job'
    | 'webhook_subscription'
    | 'oauth_client';
  targetId?: string | null;
  changes?: Changes;
}

/**
 * Persists an audit event in the scope's unit of work: it is flushed, and committed, with the change it
 * describes, or not at all. So is the webhook outbox row of a webhook-worthy action: the audit row names its
 * event type, and a trigger writes the outbox row in the same statement (migration audit_outbox; the
 * delivery worker fans it out to the subscriptions, modules/webhooks).
 */
export function recordAudit(scope: TenantScope, rec: AuditRecord): AuditEvent {
  const event = scope.em.create(AuditEvent, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    occurredAt: new Date(),
    door: scope.door,
    actorKind: scope.actor.kind,
    actorId: scope.actor.id ?? null,
    actorLabel: scope.actor.label,
    action: rec.action,
    targetType: rec.targetType,
    targetId: rec.targetId ?? null,
    changes: rec.changes ?? {},
    requestId: scope.requestId ?? null,
    webhookType: webhookEventTypeFor(rec.action),
  });
  return event;
}

/** Field-by-field before/after of the keys whose values differ (deep, by JSON). */
export function diff<T extends object>(before: Partial<T>, after: Partial<T>, keys: Array<keyof T>): Changes {
  const out: Changes = {};
  for (const k of keys) {
    const b = before[k] ?? null;
    const a = after[k] ?? null;
    if (canonicalJson(b) !== canonicalJson(a)) out[k as string] = { before: b, after: a };
  }
  return out;
}

/**
 * JSON with object keys sorted: values read back from jsonb come with jsonb's key order (shortest key
 * first), values just built with the code's, and the two must compare equal, or re-sending an unchanged
 * user (an IdP's PUT, a bulk upsert) would count as a change.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
