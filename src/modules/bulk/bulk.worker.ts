import type { MikroORM } from '@mikro-orm/postgresql';
import { hostname } from 'node:os';
import type { Logger } from '../../infra/logger.js';
import { isDatabaseUnavailable } from '../../infra/db/unavailable.js';
import { inTenantTransaction, inTransaction } from '../../infra/orm/session.js';
import { DomainError } from '../../kernel/errors.js';
import { Permission, type Actor, type TenantScope } from '../../kernel/scope.js';
import { recordAudit } from '../audit/audit.service.js';
import type { BulkJobRow } from './bulk-job.entity.js';
import { applyLine } from './bulk-ops.service.js';

export interface BulkWorkerOptions {
  orm: MikroORM;
  logger: Logger;
  /** Lines claimed and applied per transaction. */
  batchSize: number;
  /** How long an idle worker waits before looking for work again. */
  pollIntervalMs: number;
  /** Recorded on every line it applies (default host:pid/n). */
  name?: string;
}

export interface BulkWorker {
  readonly name: string;
  /** Lines this worker has applied (committed) since it was created. */
  readonly applied: number;
  /** Starts the loop (idempotent). */
  start(): void;
  /** Stops the loop after the batch in flight commits; resolves when it has. */
  stop(): Promise<void>;
  /** One scheduling round, at most one batch: the number of lines applied (for tests and tools). */
  tick(): Promise<number>;
}

/** The permissions a job's lines are applied with: those needed to start it. */
const JOB_PERMISSIONS = new Set<Permission>([Permission.DIRECTORY_READ, Permission.DIRECTORY_WRITE]);

/** How many jobs one scheduling round looks at before it finds one whose tenant is free. */
const SCHEDULING_WINDOW = 20;

/**
 * PostgreSQL errors that say "try again" rather than "this line is wrong": serialisation failures,
 * deadlocks, lock timeouts, a connection going away. The whole batch rolls back and is claimed again.
 */
function isTransient(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return (e?.code ?? e?.cause?.code) === '55P03' || isDatabaseUnavailable(err);
}

let workers = 0;

/**
 * The loop that applies bulk job lines; one per Roster process (src/main.ts), any number of processes.
 *
 * A round asks PostgreSQL for jobs with work (of any tenant, least recently progressed first) and runs
 * one batch of the first whose tenant no other worker is busy with. A batch is one transaction in the
 * job's tenant (row-level security applies):
 *   1. take the tenant's bulk lock (pg_try_advisory_xact_lock; held: try the next job). One batch at a
 *      time per tenant keeps lines in order, so a manager line applied after its reports backfills them,
 *      and two workers never race on the same users;
 *   2. claim up to batchSize pending lines FOR UPDATE SKIP LOCKED (exactly-once even without step 1);
 *   3. apply each line in its own savepoint through the domain (audit included), recording success or
 *      the domain error;
 *   4. mark the lines, bump the job's counters, complete the job when nothing is pending; commit.
 * A crash anywhere before the commit leaves changes, audit entries and marks uncommitted together: the
 * lines are pending again and the next claim applies them once.
 */
export function createBulkWorker(opts: BulkWorkerOptions): BulkWorker {
  const name = opts.name ?? `${hostname()}:${process.pid}/${++workers}`;
  const log = opts.logger.child({ worker: name });
  let applied = 0;
  let loop: Promise<void> | null = null;
  let stopping = false;
  let wake: (() => void) | null = null;

  async function runBatch(jobId: string, tenantId: string): Promise<number | 'busy'> {
    return inTenantTransaction(opts.orm, tenantId, async (em) => {
      const [{ locked }] = await em.execute<Array<{ locked: boolean }>>(
        `select pg_try_advisory_xact_lock(hashtextextended('roster.bulk:' || ?, 0)) as locked`,
        [tenantId],
      );
      if (!locked) return 'busy';
      const [job] = await em.execute<BulkJobRow[]>(
        `select * from bulk_jobs where tenant_id = ? and id = ? and status in ('queued', 'running')`,
        [tenantId, jobId],
      );
      if (!job) return 0;
      const lines = await em.execute<Array<{ line_no: number; body: string }>>(
        `select line_no, body from bulk_job_lines where tenant_id = ? and job_id = ? and status = 'pending'
          order by line_no limit ? for update skip locked`,
        [tenantId, jobId, opts.batchSize],
      );
      const actor: Actor = {
        kind: job.actor_kind as Actor['kind'],
        id: job.actor_id ?? undefined,
        label: job.actor_label ?? 'bulk job',
        permissions: JOB_PERMISSIONS,
      };
      const base: TenantScope = { tenantId, actor, door: job.door, requestId: `bulk:${jobId}`, em };
      const marks: Array<{ n: number; status: 'succeeded' | 'failed'; result: unknown }> = [];
      for (const line of lines) {
        const n = Number(line.line_no);
        try {
          // Each line in its own savepoint: a failing line leaves nothing behind and the batch goes on.
          // clear: a fresh identity map per line keeps every flush as cheap as the first.
          const result = await em.transactional((tx) => applyLine({ ...base, em: tx, requestId: `bulk:${jobId}:${n}` }, line.body), {
            clear: true,
          });
          marks.push({ n, status: 'succeeded', result });
        } catch (err) {
          if (isTransient(err)) throw err;
          if (err instanceof DomainError) {
            marks.push({
              n,
              status: 'failed',
              result: { code: err.code, field: err.field ?? null, reason: err.reason ?? null, message: err.message },
            });
          } else {
            log.error({ err, jobId, line: n }, 'bulk line failed unexpectedly');
            marks.push({
              n,
              status: 'failed',
              result: {
                code: 'INTERNAL_ERROR',
                field: null,
                reason: null,
                message: 'internal error while applying this line (logged with the job id and line number)',
              },
            });
          }
        }
      }
      if (marks.length > 0) {
        await em.execute(
          `update bulk_job_lines l set status = x.status, result = x.result, processed_at = now(), processed_by = ?
             from jsonb_to_recordset(?::jsonb) as x(n integer, status text, result jsonb)
            where l.tenant_id = ? and l.job_id = ? and l.line_no = x.n`,
          [name, JSON.stringify(marks), tenantId, jobId],
        );
        const ok = marks.filter((m) => m.status === 'succeeded').length;
        await em.execute(
          // A job cancelled while this batch was in flight stays cancelled: the batch finishes, no later one runs.
          `update bulk_jobs set processed = processed + ?, succeeded = succeeded + ?, failed = failed + ?,
                  status = case when status = 'queued' then 'running' else status end,
                  started_at = coalesce(started_at, now()), updated_at = now()
            where tenant_id = ? and id = ?`,
          [marks.length, ok, marks.length - ok, tenantId, jobId],
        );
      }
      const done = await em.execute<Array<{ processed: number; succeeded: number; failed: number }>>(
        `update bulk_jobs j set status = 'completed', finished_at = now(), updated_at = now(), started_at = coalesce(started_at, now())
          where j.tenant_id = ? and j.id = ? and j.status in ('queued', 'running')
            and not exists (select 1 from bulk_job_lines l where l.tenant_id = j.tenant_id and l.job_id = j.id and l.status = 'pending')
          returning processed, succeeded, failed`,
        [tenantId, jobId],
      );
      if (done[0]) {
        await recordAudit(base, {
          action: 'bulk_job.completed',
          targetType: 'bulk_job',
          targetId: jobId,
          changes: {
            succeeded: { before: null, after: Number(done[0].succeeded) },
            failed: { before: null, after: Number(done[0].failed) },
          },
        });
        log.info({ jobId, tenantId, ...done[0] }, 'bulk job completed');
      }
      return marks.length;
    });
  }

  async function tick(): Promise<number> {
    const jobs = await inTransaction(opts.orm, (em) =>
      em.execute<Array<{ id: string; tenant_id: string }>>(`select * from roster_runnable_bulk_jobs(?)`, [SCHEDULING_WINDOW]),
    );
    for (const job of jobs) {
      if (stopping) return 0;
      const n = await runBatch(job.id, job.tenant_id);
      if (n === 'busy' || n === 0) continue;
      applied += n;
      return n;
    }
    return 0;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  async function run(): Promise<void> {
    log.debug('bulk worker started');
    while (!stopping) {
      let n = 0;
      try {
        n = await tick();
      } catch (err) {
        if (isTransient(err)) log.warn({ err }, 'bulk batch rolled back; retrying');
        else log.error({ err }, 'bulk worker round failed');
      }
      if (n === 0 && !stopping) await sleep(opts.pollIntervalMs);
    }
    log.debug('bulk worker stopped');
  }

  return {
    name,
    get applied() {
      return applied;
    },
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      loop = null;
    },
    tick,
  };
}
