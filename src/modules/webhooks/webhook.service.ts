import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { UUID_LIST, jsonList } from '../../infra/orm/sql.js';
import { keysetPage } from '../../infra/orm/keyset.js';
import { SecretBoxError, open, openWith, seal } from '../../infra/secret-box.js';
import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { Page, PageArgs } from '../../kernel/pagination.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { diff, recordAudit } from '../audit/audit.service.js';
import { WebhookSubscription } from './webhook.entity.js';
import { WEBHOOK_EVENT_TYPES } from './webhook-event-types.js';
import { generateSigningSecret, signingSecretPrefix } from './webhook-signature.js';
import { checkEndpointUrl, type EndpointPolicy } from './webhook-url.js';

/** Subscriptions per tenant: each one multiplies the deliveries of every event. */
export const MAX_SUBSCRIPTIONS_PER_TENANT = 25;
/** The longest a rotated-out secret keeps signing (receivers switch secrets in the meantime). */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600;

/** What subscription management needs from the configuration. */
export interface WebhookSettings {
  /** The secret-box key (infra/secret-box.ts); null when none is configured. */
  key: Buffer | null;
  endpoints: EndpointPolicy;
}

const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, 'subscribe to at least one event type')
  .transform((types) => [...new Set(types)].sort());
const Fields = z.object({
  url: z.string().trim().min(1),
  eventTypes: EventTypes,
  description: z.string().trim().max(500).nullish(),
});
const UpdateFields = Fields.partial();
const RotateInput = z.object({ overlapSeconds: z.number().int().min(0).max(MAX_SECRET_OVERLAP_SECONDS).default(0) });

/** The additional authenticated data of a subscription's sealed secrets: they decrypt in this row only. */
export const secretAad = (tenantId: string, subscriptionId: string) => `webhook_subscriptions:${tenantId}:${subscriptionId}`;

function requireKey(settings: WebhookSettings): Buffer {
  if (!settings.key) {
    throw new DomainError(
      ErrorCode.PRECONDITION_FAILED,
      'webhooks need ROSTER_SECRET_KEY to be configured (signing secrets are stored encrypted with it)',
      { reason: 'SECRET_KEY_NOT_CONFIGURED' },
    );
  }
  return settings.key;
}

export async function getWebhookSubscription(scope: TenantScope, id: string): Promise<WebhookSubscription | null> {
  if (!isUuid(id)) return null;
  return scope.em.findOne(WebhookSubscription, { id, tenantId: scope.tenantId });
}

export async function requireWebhookSubscription(scope: TenantScope, id: string, field = 'id'): Promise<WebhookSubscription> {
  const sub = await getWebhookSubscription(scope, id);
  if (!sub) throw notFound('webhook subscription', field);
  return sub;
}

export async function listWebhookSubscriptions(scope: TenantScope): Promise<WebhookSubscription[]> {
  return scope.em.find(WebhookSubscription, { tenantId: scope.tenantId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** Subscribes an endpoint. The signing secret is returned here, once; it is stored encrypted. */
export async function createWebhookSubscription(
  scope: TenantScope,
  input: z.input<typeof Fields>,
  settings: WebhookSettings,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const cmd = parseInput(Fields, input);
  const url = checkEndpointUrl(cmd.url, settings.endpoints).toString();
  const key = requireKey(settings);
  // Serialises creations in the tenant so that the limit holds under concurrency.
  await scope.em.execute(`select pg_advisory_xact_lock(hashtextextended('roster.webhooks:' || ?, 0))`, [scope.tenantId]);
  const [{ n }] = await scope.em.execute<Array<{ n: string }>>(`select count(*) as n from webhook_subscriptions where tenant_id = ?`, [
    scope.tenantId,
  ]);
  if (Number(n) >= MAX_SUBSCRIPTIONS_PER_TENANT) {
    throw new DomainError(ErrorCode.LIMIT_EXCEEDED, `a tenant has at most ${MAX_SUBSCRIPTIONS_PER_TENANT} webhook subscriptions`, {
      reason: 'TOO_MANY_SUBSCRIPTIONS',
    });
  }
  const id = uuidv7();
  const secret = generateSigningSecret();
  const now = new Date();
  const subscription = scope.em.create(WebhookSubscription, {
    id,
    tenantId: scope.tenantId,
    url,
    description: cmd.description ?? null,
    eventTypes: cmd.eventTypes,
    secretCiphertext: seal(key, secret, secretAad(scope.tenantId, id)),
    secretPrefix: signingSecretPrefix(secret),
    status: 'active',
    consecutiveFailures: 0,
    createdAt: now,
    updatedAt: now,
  });
  await recordAudit(scope, {
    action: 'webhook_subscription.created',
    targetType: 'webhook_subscription',
    targetId: id,
    changes: diff({}, { url, eventTypes: cmd.eventTypes, description: cmd.description ?? null }, ['url', 'eventTypes', 'description']),
  });
  await scope.em.flush();
  return { subscription, secret };
}

export async function updateWebhookSubscription(
  scope: TenantScope,
  id: string,
  input: z.input<typeof UpdateFields>,
  settings: WebhookSettings,
): Promise<WebhookSubscription> {
  const cmd = parseInput(UpdateFields, input);
  const sub = await requireWebhookSubscription(scope, id);
  const before = { url: sub.url, eventTypes: sub.eventTypes, description: sub.description };
  if (cmd.url !== undefined) sub.url = checkEndpointUrl(cmd.url, settings.endpoints).toString();
  if (cmd.eventTypes !== undefined) sub.eventTypes = cmd.eventTypes;
  if (cmd.description !== undefined) sub.description = cmd.description ?? null;
  const changes = diff(before, { url: sub.url, eventTypes: sub.eventTypes, description: sub.description }, [
    'url',
    'eventTypes',
    'description',
  ]);
  if (Object.keys(changes).length > 0) {
    await recordAudit(scope, { action: 'webhook_subscription.updated', targetType: 'webhook_subscription', targetId: sub.id, changes });
    await scope.em.flush();
  }
  return sub;
}

/** Deletes a subscription with its undelivered deliveries and its delivery history. */
export async function deleteWebhookSubscription(scope: TenantScope, id: string): Promise<void> {
  const sub = await requireWebhookSubscription(scope, id);
  await recordAudit(scope, {
    action: 'webhook_subscription.deleted',
    targetType: 'webhook_subscription',
    targetId: sub.id,
    changes: { url: { before: sub.url, after: null } },
  });
  scope.em.remove(sub);
  await scope.em.flush();
}

/**
 * A new signing secret, returned once. With an overlap the previous secret keeps signing too (a second
 * v1 in Roster-Signature) for that many seconds, so receivers can switch without rejecting anything.
 */
export async function rotateWebhookSecret(
  scope: TenantScope,
  id: string,
  input: z.input<typeof RotateInput>,
  settings: WebhookSettings,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const { overlapSeconds } = parseInput(RotateInput, input);
  const key = requireKey(settings);
  const sub = await requireWebhookSubscription(scope, id);
  const secret = generateSigningSecret();
  const now = new Date();
  if (overlapSeconds > 0) {
    sub.previousSecretCiphertext = sub.secretCiphertext;
    sub.previousSecretExpiresAt = new Date(now.getTime() + overlapSeconds * 1000);
  } else {
    sub.previousSecretCiphertext = null;
    sub.previousSecretExpiresAt = null;
  }
  sub.secretCiphertext = seal(key, secret, secretAad(scope.tenantId, sub.id));
  sub.secretPrefix = signingSecretPrefix(secret);
  sub.secretRotatedAt = now;
  await recordAudit(scope, {
    action: 'webhook_subscription.secret_rotated',
    targetType: 'webhook_subscription',
    targetId: sub.id,
    changes: { overlapSeconds: { before: null, after: overlapSeconds } },
  });
  await scope.em.flush();
  return { subscription: sub, secret };
}

/**
 * The secrets that sign now: the current one, and the previous one during a rotation overlap. `keys`: the
 * opening keys (loadOpeningKeys), so a subscription sealed under a key since replaced still signs.
 */
export function signingSecrets(
  keys: Buffer | readonly Buffer[],
  row: {
    tenantId: string;
    id: string;
    secretCiphertext: string;
    previousSecretCiphertext: string | null;
    previousSecretExpiresAt: Date | null;
  },
  now = new Date(),
): string[] {
  const aad = secretAad(row.tenantId, row.id);
  const secrets = [open(keys, row.secretCiphertext, aad)];
  if (row.previousSecretCiphertext && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now)
    secrets.push(open(keys, row.previousSecretCiphertext, aad));
  return secrets;
}

/**
 * Re-enables a disabled subscription: its failure count starts over and everything it missed, queued
 * while it was disabled, is due now (in order, as always).
 */
export async function enableWebhookSubscription(scope: TenantScope, id: string): Promise<WebhookSubscription> {
  const sub = await requireWebhookSubscription(scope, id);
  if (sub.status === 'active') return sub;
  const before: { status: string; disabledReason: string | null } = { status: sub.status, disabledReason: sub.disabledReason ?? null };
  sub.status = 'active';
  sub.disabledAt = null;
  sub.disabledReason = null;
  sub.consecutiveFailures = 0;
  sub.failingSince = null;
  await recordAudit(scope, {
    action: 'webhook_subscription.enabled',
    targetType: 'webhook_subscription',
    targetId: sub.id,
    changes: diff(before, { status: sub.status, disabledReason: null }, ['status', 'disabledReason']),
  });
  await scope.em.flush();
  await scope.em.execute(
    `update webhook_deliveries set status = 'pending', next_attempt_at = now(), updated_at = now()
      where tenant_id = ? and subscription_id = ? and status in ('held', 'pending')`,
    [scope.tenantId, sub.id],
  );
  return sub;
}

/**
 * Disables a subscription (an admin pausing it, or the delivery worker giving up on a failing endpoint).
 * Nothing is dropped: its deliveries are held, and new events keep queueing, until it is re-enabled.
 */
export async function disableWebhookSubscription(scope: TenantScope, id: string, reason: string): Promise<WebhookSubscription> {
  const sub = await requireWebhookSubscription(scope, id);
  if (sub.status === 'disabled') return sub;
  sub.status = 'disabled';
  sub.disabledAt = new Date();
  sub.disabledReason = reason;
  await recordAudit(scope, {
    action: 'webhook_subscription.disabled',
    targetType: 'webhook_subscription',
    targetId: sub.id,
    changes: { status: { before: 'active', after: 'disabled' }, disabledReason: { before: null, after: reason } },
  });
  await scope.em.flush();
  await holdDeliveries(scope, sub.id);
  return sub;
}

export async function holdDeliveries(scope: TenantScope, subscriptionId: string): Promise<void> {
  await scope.em.execute(
    `update webhook_deliveries set status = 'held', updated_at = now() where tenant_id = ? and subscription_id = ? and status = 'pending'`,
    [scope.tenantId, subscriptionId],
  );
}

export type DeliveryStatus = 'pending' | 'delivering' | 'held' | 'succeeded';

export interface WebhookDeliveryRecord {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  resourceType: string;
  resourceId: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface WebhookAttemptRecord {
  id: string;
  deliveryId: string;
  attemptNumber: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  nextRetryAt: Date | null;
}

const date = (v: unknown): Date | null => (v == null ? null : v instanceof Date ? v : new Date(String(v)));

/** A subscription's deliveries, newest event first, optionally of some statuses only. */
export async function listWebhookDeliveries(
  scope: TenantScope,
  subscriptionId: string,
  filter: { statuses?: DeliveryStatus[] | null },
  args: PageArgs,
): Promise<Page<WebhookDeliveryRecord>> {
  const sub = await requireWebhookSubscription(scope, subscriptionId, 'subscriptionId');
  const where = ['d.tenant_id = ?', 'd.subscription_id = ?'];
  const params: unknown[] = [scope.tenantId, sub.id];
  if (filter.statuses?.length) {
    where.push(`d.status in (select jsonb_array_elements_text(?::jsonb))`);
    params.push(jsonList(filter.statuses));
  }
  const page = await keysetPage<Record<string, unknown>>(
    scope.em,
    {
      select: 'd.*, e.type as event_type, e.occurred_at, e.resource_type, e.resource_id',
      from: `from webhook_deliveries d join webhook_events e on e.tenant_id = d.tenant_id and e.id = d.event_id where ${where.join(' and ')}`,
      params,
      alias: 'd',
      // event_seq is a bigint; zero-padded text sorts the same and fits the keyset's text cursors
      sortExpr: `lpad(d.event_seq::text, 20, '0')`,
      sortType: 'text',
      descending: true,
    },
    args,
  );
  return {
    ...page,
    nodes: page.nodes.map((r) => ({
      id: String(r.id),
      subscriptionId: String(r.subscription_id),
      eventId: String(r.event_id),
      eventType: String(r.event_type),
      occurredAt: date(r.occurred_at)!,
      resourceType: String(r.resource_type),
      resourceId: (r.resource_id as string | null) ?? null,
      status: r.status as DeliveryStatus,
      attempts: Number(r.attempts),
      nextAttemptAt: r.status === 'pending' ? date(r.next_attempt_at) : null,
      lastStatusCode: r.last_status_code == null ? null : Number(r.last_status_code),
      lastError: (r.last_error as string | null) ?? null,
      deliveredAt: date(r.delivered_at),
      createdAt: date(r.created_at)!,
    })),
  };
}

/** The attempts of some deliveries, oldest first, in one query. */
export async function deliveryAttempts(scope: TenantScope, deliveryIds: readonly string[]): Promise<Map<string, WebhookAttemptRecord[]>> {
  const out = new Map<string, WebhookAttemptRecord[]>(deliveryIds.map((id) => [id, []]));
  const ids = deliveryIds.filter(isUuid);
  if (ids.length === 0) return out;
  const rows = await scope.em.execute<Array<Record<string, unknown>>>(
    `select * from webhook_delivery_attempts where tenant_id = ? and delivery_id in ${UUID_LIST} order by delivery_id, attempt_number, started_at`,
    [scope.tenantId, jsonList(ids)],
  );
  for (const r of rows) {
    out.get(String(r.delivery_id))?.push({
      id: String(r.id),
      deliveryId: String(r.delivery_id),
      attemptNumber: Number(r.attempt_number),
      startedAt: date(r.started_at)!,
      durationMs: Number(r.duration_ms),
      statusCode: r.status_code == null ? null : Number(r.status_code),
      error: (r.error as string | null) ?? null,
      nextRetryAt: date(r.next_retry_at),
    });
  }
  return out;
}

/** Deliveries not yet done (pending, in flight or held), per subscription. */
export async function backlogSizes(scope: TenantScope, subscriptionIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>(subscriptionIds.map((id) => [id, 0]));
  const ids = subscriptionIds.filter(isUuid);
  if (ids.length === 0) return out;
  const rows = await scope.em.execute<Array<{ subscription_id: string; n: string }>>(
    `select subscription_id, count(*) as n from webhook_deliveries
      where tenant_id = ? and subscription_id in ${UUID_LIST} and status <> 'succeeded' group by subscription_id`,
    [scope.tenantId, jsonList(ids)],
  );
  for (const r of rows) out.set(r.subscription_id, Number(r.n));
  return out;
}

/** What `roster secrets reseal` did in one tenant. */
export interface ResealReport {
  subscriptions: number;
  /** Secrets sealed again under the current key (a subscription's current and previous secret count apart). */
  resealed: number;
  /** Subscriptions none of the keys opens: they sign nothing until their secret is rotated. */
  unreadable: string[];
}

/**
 * Seals again, under the current key (`keys[0]`), every stored signing secret of the tenant that only a
 * previous key opens (after ROSTER_SECRET_KEY changed, with the old one in ROSTER_SECRET_KEY_PREVIOUS). The
 * secrets themselves do not change: receivers verify as before. A previous secret whose overlap has ended
 * signs nothing any more: it is dropped, not opened, so a key that only sealed it can go. Idempotent; the
 * rows are locked while read.
 */
export async function resealWebhookSecrets(em: EntityManager, tenantId: string, keys: readonly Buffer[]): Promise<ResealReport> {
  const rows = await em.execute<
    Array<{ id: string; secret_ciphertext: string; previous_secret_ciphertext: string | null; expired: boolean }>
  >(
    `select id, secret_ciphertext, previous_secret_ciphertext, coalesce(previous_secret_expires_at <= now(), true) as expired
       from webhook_subscriptions where tenant_id = ? order by id for update`,
    [tenantId],
  );
  const report: ResealReport = { subscriptions: rows.length, resealed: 0, unreadable: [] };
  for (const row of rows) {
    const aad = secretAad(tenantId, row.id);
    const dropPrevious = row.previous_secret_ciphertext !== null && row.expired;
    let opened;
    try {
      opened = [row.secret_ciphertext, dropPrevious ? null : row.previous_secret_ciphertext].map(
        (sealed) => sealed && { sealed, ...openWith(keys, sealed, aad) },
      );
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      report.unreadable.push(row.id);
      continue;
    }
    const stale = opened.filter((o) => o && o.keyIndex > 0).length;
    if (stale === 0 && !dropPrevious) continue;
    const [current, previous] = opened.map((o) => o && (o.keyIndex === 0 ? o.sealed : seal(keys[0], o.plaintext, aad)));
    await em.execute(
      `update webhook_subscriptions set secret_ciphertext = ?, previous_secret_ciphertext = ?,
         previous_secret_expires_at = case when ? then null else previous_secret_expires_at end
       where tenant_id = ? and id = ?`,
      [current, previous, dropPrevious, tenantId, row.id],
    );
    report.resealed += stale;
  }
  return report;
}
