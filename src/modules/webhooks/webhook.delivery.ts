import type { EntityManager } from '@mikro-orm/postgresql';
import { UUID_LIST, jsonList } from '../../infra/orm/sql.js';
import { uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import type { Changes } from '../audit/audit.service.js';
import { retryDelayMs, shouldDisable, type RetryPolicy } from './retry-policy.js';
import { disableWebhookSubscription, holdDeliveries } from './webhook.service.js';

/**
 * The delivery worker's database side. The three cross-tenant steps (fan-out, claim, prune) are the
 * roster_webhook_* functions of the webhooks migration, the only place rows of several tenants are
 * visible; the outcome of an attempt is recorded in the delivery's own tenant.
 */

/** Fans outbox events out to subscriptions; one caller at a time across all processes. */
export async function fanOutEvents(
  em: EntityManager,
  limit: number,
  gapTimeoutMs: number,
): Promise<{ events: number; deliveries: number }> {
  const [row] = await em.execute<Array<{ events: number; deliveries: number }>>(`select * from roster_webhook_fan_out(?, ?)`, [
    limit,
    gapTimeoutMs,
  ]);
  return { events: Number(row?.events ?? 0), deliveries: Number(row?.deliveries ?? 0) };
}

export interface ClaimedDelivery {
  deliveryId: string;
  tenantId: string;
  subscriptionId: string;
  eventId: string;
  attempt: number;
  url: string;
  secretCiphertext: string;
  previousSecretCiphertext: string | null;
  previousSecretExpiresAt: Date | null;
  eventType: string;
  occurredAt: Date;
  resourceType: string;
  resourceId: string | null;
}

/** Requests in flight per subscription across all workers (soft): a slow endpoint cannot take every slot. */
export const MAX_IN_FLIGHT_PER_SUBSCRIPTION = 4;

/** Leases up to `limit` due deliveries to this worker (FOR UPDATE SKIP LOCKED: workers never share one). */
export async function claimDeliveries(
  em: EntityManager,
  limit: number,
  workerId: string,
  leaseMs: number,
  perSubscription = MAX_IN_FLIGHT_PER_SUBSCRIPTION,
): Promise<ClaimedDelivery[]> {
  const rows = await em.execute<Array<Record<string, unknown>>>(`select * from roster_webhook_claim(?, ?, ?, ?)`, [
    limit,
    workerId,
    leaseMs,
    perSubscription,
  ]);
  return rows.map((r) => ({
    deliveryId: String(r.delivery_id),
    tenantId: String(r.tenant_id),
    subscriptionId: String(r.subscription_id),
    eventId: String(r.event_id),
    attempt: Number(r.attempt),
    url: String(r.url),
    secretCiphertext: String(r.secret_ciphertext),
    previousSecretCiphertext: (r.previous_secret_ciphertext as string | null) ?? null,
    previousSecretExpiresAt: r.previous_secret_expires_at ? new Date(r.previous_secret_expires_at as string) : null,
    eventType: String(r.event_type),
    occurredAt: new Date(r.occurred_at as string),
    resourceType: String(r.resource_type),
    resourceId: (r.resource_id as string | null) ?? null,
  }));
}

/** Deletes delivered history older than the retention; returns how many events went. */
export async function pruneWebhookHistory(em: EntityManager, retentionMs: number, limit: number): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>(`select roster_webhook_prune(?, ?) as n`, [retentionMs, limit]);
  return Number(row?.n ?? 0);
}

/**
 * What the payloads of some of the tenant's events are made of: the tenant's slug and each event's
 * changes, read from its audit event (so a user's erasure also empties undelivered payloads).
 */
export async function loadEventSources(
  scope: TenantScope,
  eventIds: readonly string[],
): Promise<{ tenantSlug: string; changes: Map<string, Changes> }> {
  const [tenant] = await scope.em.execute<Array<{ slug: string }>>(`select slug from tenants where id = ?`, [scope.tenantId]);
  const rows = eventIds.length
    ? await scope.em.execute<Array<{ id: string; changes: Changes }>>(
        `select id, changes from audit_events where tenant_id = ? and id in ${UUID_LIST}`,
        [scope.tenantId, jsonList(eventIds)],
      )
    : [];
  return { tenantSlug: tenant?.slug ?? '', changes: new Map(rows.map((r) => [r.id, r.changes ?? {}])) };
}

export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  startedAt: Date;
  durationMs: number;
}

const MAX_ERROR_LENGTH = 1000;

/**
 * Records an attempt and its consequences, in the delivery's tenant: success finishes the delivery and
 * resets the subscription's failure count; failure schedules the retry (exponential backoff with
 * jitter) and may disable the subscription (retry-policy.ts), which holds its pending deliveries.
 * A worker whose lease expired meanwhile still records its attempt but no longer moves the delivery.
 */
export async function recordDeliveryAttempt(
  scope: TenantScope,
  claim: Pick<ClaimedDelivery, 'deliveryId' | 'subscriptionId' | 'attempt'>,
  workerId: string,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  now: Date = new Date(),
): Promise<{ disabled: boolean; nextRetryAt: Date | null }> {
  const em = scope.em;
  const error = outcome.error ? outcome.error.slice(0, MAX_ERROR_LENGTH) : null;
  let nextRetryAt: Date | null = null;
  let disabled = false;
  if (outcome.ok) {
    await em.execute(
      `update webhook_deliveries set status = 'succeeded', delivered_at = ?, lease_until = null, leased_by = null,
              last_status_code = ?, last_error = null, updated_at = now()
        where tenant_id = ? and id = ? and status = 'delivering' and leased_by = ?`,
      [now, outcome.statusCode, scope.tenantId, claim.deliveryId, workerId],
    );
    await em.execute(
      `update webhook_subscriptions set consecutive_failures = 0, failing_since = null, last_success_at = ? where tenant_id = ? and id = ?`,
      [now, scope.tenantId, claim.subscriptionId],
    );
  } else {
    const [sub] = await em.execute<Array<{ consecutive_failures: number; failing_since: string | Date; status: string }>>(
      `update webhook_subscriptions set consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, ?), last_failure_at = ?
        where tenant_id = ? and id = ? returning consecutive_failures, failing_since, status`,
      [now, now, scope.tenantId, claim.subscriptionId],
    );
    const active = sub?.status === 'active';
    disabled = active && shouldDisable(Number(sub.consecutive_failures), new Date(sub.failing_since), now, policy);
    if (active && !disabled) nextRetryAt = new Date(now.getTime() + retryDelayMs(claim.attempt, policy));
    await em.execute(
      `update webhook_deliveries set status = ?, next_attempt_at = ?, lease_until = null, leased_by = null,
              last_status_code = ?, last_error = ?, updated_at = now()
        where tenant_id = ? and id = ? and status = 'delivering' and leased_by = ?`,
      [nextRetryAt ? 'pending' : 'held', nextRetryAt ?? now, outcome.statusCode, error, scope.tenantId, claim.deliveryId, workerId],
    );
    if (disabled) {
      const minutes = Math.round((now.getTime() - new Date(sub.failing_since).getTime()) / 60_000);
      await disableWebhookSubscription(
        scope,
        claim.subscriptionId,
        `${sub.consecutive_failures} consecutive failed attempts over ${minutes} minute(s); last: ${error ?? `HTTP ${outcome.statusCode}`}`.slice(
          0,
          MAX_ERROR_LENGTH,
        ),
      );
    } else if (!active) {
      await holdDeliveries(scope, claim.subscriptionId);
    }
  }
  // (unless the subscription, and with it the delivery, was deleted meanwhile)
  await em.execute(
    `insert into webhook_delivery_attempts (id, tenant_id, delivery_id, attempt_number, started_at, duration_ms, status_code, error, next_retry_at, worker)
     select ?::uuid, ?::uuid, ?::uuid, ?::integer, ?::timestamptz, ?::integer, ?::integer, ?::text, ?::timestamptz, ?::text
      where exists (select 1 from webhook_deliveries where tenant_id = ? and id = ?)`,
    [
      uuidv7(),
      scope.tenantId,
      claim.deliveryId,
      claim.attempt,
      outcome.startedAt,
      Math.max(0, Math.round(outcome.durationMs)),
      outcome.statusCode,
      error,
      nextRetryAt,
      workerId,
      scope.tenantId,
      claim.deliveryId,
    ],
  );
  return { disabled, nextRetryAt };
}
