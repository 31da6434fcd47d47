import type { MikroORM } from '@mikro-orm/postgresql';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import type { Config } from '../config/env.js';
import type { Logger } from '../infra/logger.js';
import { inTenantTransaction, inTransaction } from '../infra/orm/session.js';
import { loadOpeningKeys } from '../infra/secret-box.js';
import type { TenantScope } from '../kernel/scope.js';
import type { Changes } from '../modules/audit/audit.service.js';
import {
  claimDeliveries,
  fanOutEvents,
  loadEventSources,
  pruneWebhookHistory,
  recordDeliveryAttempt,
  type AttemptOutcome,
  type ClaimedDelivery,
} from '../modules/webhooks/webhook.delivery.js';
import { signingSecrets } from '../modules/webhooks/webhook.service.js';
import { signatureHeader } from '../modules/webhooks/webhook-signature.js';
import { sendWebhook } from './http-sender.js';
import { buildPayload } from './payload.js';

export interface WebhookWorkerDeps {
  orm: MikroORM;
  config: Pick<Config, 'webhooks' | 'secretKey' | 'secretKeyPrevious' | 'databaseUrl' | 'dataDir'>;
  logger: Logger;
}

/** Outbox events fanned out per round. */
const FAN_OUT_BATCH = 500;
/** How long the fan-out waits for a transaction holding an outbox sequence value before moving past it. */
const GAP_TIMEOUT_MS = 10_000;
/** Housekeeping (pruning delivered history) at most this often. */
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 1000;

let workerCount = 0;

const SYSTEM_ACTOR: TenantScope['actor'] = { kind: 'system', label: 'webhook delivery worker', permissions: new Set() };

interface Prepared {
  claim: ClaimedDelivery;
  tenantSlug: string;
  changes: Changes;
}

/**
 * Delivers webhooks: fans outbox events out to subscriptions, leases due deliveries, POSTs them signed,
 * records each attempt. Runs in every Roster process; processes coordinate through PostgreSQL only
 * (an advisory lock for the fan-out, FOR UPDATE SKIP LOCKED and leases for deliveries), so any number can
 * run. At least once: a process that dies mid-delivery leaves a lease that expires, and the delivery is
 * retried. At most `concurrency` requests are in flight per process.
 */
export class WebhookDeliveryWorker {
  readonly workerId = `${hostname()}:${process.pid}/webhooks-${++workerCount}`;
  private readonly orm: MikroORM;
  private readonly settings: Config['webhooks'];
  private readonly logger: Logger;
  private readonly config: WebhookWorkerDeps['config'];
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  private readonly inFlight = new Set<Promise<void>>();
  private loopPromise: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private lastPrune = 0;
  private failedRounds = 0;

  constructor(deps: WebhookWorkerDeps) {
    this.orm = deps.orm;
    this.settings = deps.config.webhooks;
    this.logger = deps.logger.child({ component: 'webhooks', worker: this.workerId });
    this.config = deps.config;
  }

  /** Starts the background loop (idempotent). */
  start(): this {
    if (!this.loopPromise) {
      this.stopping = false;
      this.loopPromise = this.loop();
    }
    return this;
  }

  /** Stops claiming, waits for the requests in flight (each bounded by the timeout), closes connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loopPromise;
    this.loopPromise = null;
    await Promise.allSettled([...this.inFlight]);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * One round, for tests and tools: fan out, then claim and deliver what is due, waiting for the
   * deliveries. Returns how many deliveries were attempted.
   */
  async runOnce(): Promise<number> {
    await this.fanOut();
    const claims = await this.claim(this.settings.concurrency);
    await Promise.all(claims.map((p) => this.deliver(p)));
    return claims.length;
  }

  private async loop(): Promise<void> {
    this.logger.debug('webhook delivery worker started');
    while (!this.stopping) {
      let progressed = false;
      let delay = this.settings.pollIntervalMs;
      try {
        await this.maybePrune();
        progressed = (await this.fanOut()) > 0;
        const free = this.settings.concurrency - this.inFlight.size;
        if (free > 0) {
          const claims = await this.claim(free);
          for (const p of claims) this.launch(p);
          progressed ||= claims.length > 0;
        }
        this.failedRounds = 0;
      } catch (err) {
        // The database is away (restart, failover): back off up to 30 s rather than log every poll.
        this.failedRounds++;
        delay = Math.min(30_000, this.settings.pollIntervalMs * 2 ** Math.min(this.failedRounds, 15));
        this.logger.error({ err, retryInMs: delay }, 'webhook worker round failed');
        progressed = false;
      }
      // Sleep until the poll interval passes, a delivery finishes (its successor may now be due) or stop().
      if (!this.stopping && (!progressed || this.inFlight.size >= this.settings.concurrency)) await this.sleep(delay);
    }
    this.logger.debug('webhook delivery worker stopped');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private launch(p: Prepared): void {
    const task = this.deliver(p).finally(() => {
      this.inFlight.delete(task);
      this.wake?.();
    });
    this.inFlight.add(task);
  }

  private async fanOut(): Promise<number> {
    const { events } = await inTransaction(this.orm, (em) => fanOutEvents(em, FAN_OUT_BATCH, GAP_TIMEOUT_MS));
    return events;
  }

  private async maybePrune(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const n = await inTransaction(this.orm, (em) => pruneWebhookHistory(em, this.settings.retentionDays * 86_400_000, PRUNE_BATCH));
    if (n > 0) this.logger.debug({ events: n }, 'pruned delivered webhook history');
  }

  /** Leases due deliveries and reads what their payloads need, per tenant, inside that tenant. */
  private async claim(limit: number): Promise<Prepared[]> {
    if (limit <= 0 || this.stopping) return [];
    // The lease outlives the attempt (bounded by the timeout) with a margin for recording its outcome.
    const leaseMs = this.settings.timeoutMs + 30_000;
    const claims = await inTransaction(this.orm, (em) => claimDeliveries(em, limit, this.workerId, leaseMs));
    const byTenant = new Map<string, ClaimedDelivery[]>();
    for (const c of claims) byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), c]);
    const prepared: Prepared[] = [];
    for (const [tenantId, list] of byTenant) {
      const sources = await inTenantTransaction(this.orm, tenantId, (em) =>
        loadEventSources(
          { tenantId, actor: SYSTEM_ACTOR, door: 'system', em },
          list.map((c) => c.eventId),
        ),
      );
      for (const c of list) prepared.push({ claim: c, tenantSlug: sources.tenantSlug, changes: sources.changes.get(c.eventId) ?? {} });
    }
    return prepared;
  }

  private async deliver({ claim, tenantSlug, changes }: Prepared): Promise<void> {
    const startedAt = new Date();
    let outcome: AttemptOutcome;
    try {
      // Memoised; a failure (unreadable data directory) is reported in the attempt and retried next time.
      const keys = await loadOpeningKeys(this.config);
      if (!keys) throw new Error('ROSTER_SECRET_KEY is not configured: cannot read the signing secret');
      const secrets = signingSecrets(keys, { ...claim, id: claim.subscriptionId }, startedAt);
      const body = JSON.stringify(
        buildPayload({
          eventId: claim.eventId,
          eventType: claim.eventType,
          occurredAt: claim.occurredAt,
          tenantSlug,
          resourceType: claim.resourceType,
          resourceId: claim.resourceId,
          changes,
        }),
      );
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Roster-Webhooks/1',
        'roster-event-id': claim.eventId,
        'roster-event-type': claim.eventType,
        'roster-delivery-id': claim.deliveryId,
        'roster-delivery-attempt': String(claim.attempt),
        'roster-signature': signatureHeader(secrets, timestamp, body),
      };
      const res = await sendWebhook(claim.url, body, headers, {
        timeoutMs: this.settings.timeoutMs,
        endpoints: this.settings,
        agents: this.agents,
      });
      outcome = { ...res, startedAt, durationMs: Date.now() - startedAt.getTime() };
    } catch (err) {
      outcome = {
        ok: false,
        statusCode: null,
        error: err instanceof Error ? err.message : String(err),
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
      };
    }
    try {
      const result = await inTenantTransaction(this.orm, claim.tenantId, (em) =>
        recordDeliveryAttempt(
          { tenantId: claim.tenantId, actor: SYSTEM_ACTOR, door: 'system', em },
          claim,
          this.workerId,
          outcome,
          this.settings,
        ),
      );
      const log = {
        tenantId: claim.tenantId,
        subscriptionId: claim.subscriptionId,
        deliveryId: claim.deliveryId,
        eventType: claim.eventType,
        attempt: claim.attempt,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
      };
      if (outcome.ok) this.logger.debug(log, 'webhook delivered');
      else this.logger.info({ ...log, error: outcome.error, nextRetryAt: result.nextRetryAt }, 'webhook delivery failed');
      if (result.disabled)
        this.logger.warn(
          { tenantId: claim.tenantId, subscriptionId: claim.subscriptionId },
          'webhook subscription disabled after repeated failures',
        );
    } catch (err) {
      // The lease expires and the delivery is attempted again: at least once.
      this.logger.error({ err, deliveryId: claim.deliveryId }, 'could not record a webhook delivery attempt');
    }
  }
}

/** The worker of this process, started (main.ts). */
export function startWebhookWorker(deps: WebhookWorkerDeps): WebhookDeliveryWorker {
  return new WebhookDeliveryWorker(deps).start();
}
