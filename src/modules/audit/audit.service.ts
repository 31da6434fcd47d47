import { uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { webhookEventTypeFor } from '../webhooks/webhook-event-types.js';
import { deferredWrite } from '../../infra/orm/sql.js';

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

const INSERT_AUDIT = `insert into audit_events
  (id, tenant_id, occurred_at, door, actor_kind, actor_id, actor_label, action, target_type, target_id, changes, request_id, webhook_type)
  values (?::uuid, ?::uuid, ?::timestamptz, ?, ?, ?::uuid, ?, ?, ?, ?::uuid, ?::jsonb, ?, ?)`;

/**
 * Writes an audit event in the scope's transaction: committed with the change it describes, or not at all.
 * So is the webhook outbox row of a webhook-worthy action: the audit row names its event type, and a trigger
 * writes the outbox row in the same statement (migration audit_outbox; the delivery worker fans it out to the
 * subscriptions, modules/webhooks). Nothing reads its answer, so the row travels with the transaction's next
 * statement, its commit at the latest (deferredWrite): no round trip of its own.
 */
export async function recordAudit(scope: TenantScope, rec: AuditRecord): Promise<void> {
  await deferredWrite(scope.em, INSERT_AUDIT, [
    uuidv7(),
    scope.tenantId,
    new Date(),
    scope.door,
    scope.actor.kind,
    scope.actor.id ?? null,
    scope.actor.label,
    rec.action,
    rec.targetType,
    rec.targetId ?? null,
    rec.changes ?? {},
    scope.requestId ?? null,
    webhookEventTypeFor(rec.action),
  ]);
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
