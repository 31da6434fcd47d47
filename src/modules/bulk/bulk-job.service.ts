import { z } from 'zod';
import { keysetPage } from '../../infra/orm/keyset.js';
import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { Page, PageArgs } from '../../kernel/pagination.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { BulkJob, BulkJobLine, type BulkJobRow, type BulkJobStatus, type BulkLineRow, type BulkLineStatus } from './bulk-job.entity.js';

/** The limits a deployment sets (config: ROSTER_BULK_MAX_LINES, ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT). */
export interface BulkLimits {
  maxLines: number;
  maxRunningJobsPerTenant: number;
}

/** Jobs that count against the per-tenant limit: still uploading, waiting, or running. */
const ACTIVE_SQL = `('uploading', 'queued', 'running')`;

const StartInput = z.object({
  clientKey: z.string().trim().min(1).max(200).nullish(),
  lines: z.string().nullish(),
  complete: z.boolean().default(true),
});

const AppendInput = z.object({
  lines: z.string(),
  firstLineNumber: z.number().int().min(1),
  complete: z.boolean().default(false),
});

async function jobRow(scope: TenantScope, id: string, lock = false): Promise<BulkJobRow | null> {
  if (!isUuid(id)) return null;
  const rows = await scope.em.execute<BulkJobRow[]>(`select * from bulk_jobs where tenant_id = ? and id = ?${lock ? ' for update' : ''}`, [
    scope.tenantId,
    id,
  ]);
  return rows[0] ?? null;
}

export async function getJob(scope: TenantScope, id: string): Promise<BulkJob | null> {
  const row = await jobRow(scope, id);
  return row ? new BulkJob(row) : null;
}

export async function requireJob(scope: TenantScope, id: string, field = 'id'): Promise<BulkJob> {
  const job = await getJob(scope, id);
  if (!job) throw notFound('bulk job', field);
  return job;
}

/** Jobs by id, in the order asked, null where absent (DataLoader batch function). */
export async function jobsByIds(scope: TenantScope, ids: readonly string[]): Promise<Array<BulkJob | null>> {
  const valid = ids.filter(isUuid);
  const rows = valid.length
    ? await scope.em.execute<BulkJobRow[]>(
        `select * from bulk_jobs where tenant_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
        [scope.tenantId, JSON.stringify(valid)],
      )
    : [];
  const byId = new Map(rows.map((r) => [r.id, new BulkJob(r)]));
  return ids.map((id) => byId.get(id) ?? null);
}

interface ParsedLine {
  n: number;
  body: string;
  op: string | null;
}

/** The `op` of a line when it is a JSON object with a string op; null otherwise (it fails when applied). */
function opOf(body: string): string | null {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { op?: unknown }).op === 'string'
      ? (v as { op: string }).op.slice(0, 64)
      : null;
  } catch {
    return null;
  }
}

/**
 * Splits a JSON Lines chunk into numbered lines. A final newline ends the last line (it does not start
 * an empty one); blank lines keep their number, so line numbers are the file's, but are not stored.
 */
export function splitJsonLines(text: string, first: number): { lines: ParsedLine[]; last: number } {
  const raw = text.split(/\r?\n/);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const lines: ParsedLine[] = [];
  raw.forEach((body, i) => {
    if (body.trim() !== '') lines.push({ n: first + i, body, op: opOf(body) });
  });
  return { lines, last: first + raw.length - 1 };
}

/**
 * Stores a chunk of lines. Lines at or below the numbers already received are skipped, so re-sending a
 * chunk (a retry after a timeout, a resumed upload) is harmless; a chunk that would leave a gap is refused.
 */
async function storeChunk(scope: TenantScope, job: BulkJobRow, text: string, first: number, limits: BulkLimits): Promise<void> {
  const received = Number(job.received_through);
  if (first > received + 1) {
    throw new DomainError(
      ErrorCode.INVALID_INPUT,
      `firstLineNumber: lines ${received + 1}–${first - 1} are missing; continue at line ${received + 1}`,
      { field: 'firstLineNumber', reason: 'LINE_GAP' },
    );
  }
  const { lines, last } = splitJsonLines(text, first);
  const fresh = lines.filter((l) => l.n > received);
  if (last <= received) return;
  const total = Number(job.total_lines) + fresh.length;
  if (total > limits.maxLines) {
    throw new DomainError(ErrorCode.LIMIT_EXCEEDED, `a bulk job holds at most ${limits.maxLines} lines; this one would hold ${total}`, {
      field: 'lines',
      reason: 'MAX_LINES',
    });
  }
  if (fresh.length > 0) {
    await scope.em.execute(
      `insert into bulk_job_lines (tenant_id, job_id, line_no, op, body)
       select ?, ?, x.n, x.op, x.body from jsonb_to_recordset(?::jsonb) as x(n integer, op text, body text)
       on conflict do nothing`,
      [scope.tenantId, job.id, JSON.stringify(fresh)],
    );
  }
  await scope.em.execute(`update bulk_jobs set total_lines = ?, received_through = ?, updated_at = now() where tenant_id = ? and id = ?`, [
    total,
    last,
    scope.tenantId,
    job.id,
  ]);
  job.total_lines = total;
  job.received_through = last;
}

/** Marks an uploading job complete: queued for the workers, or completed at once when it has no lines. */
async function completeUpload(scope: TenantScope, job: BulkJobRow): Promise<void> {
  if (job.status !== 'uploading') return;
  const empty = Number(job.total_lines) === 0;
  await scope.em.execute(
    `update bulk_jobs set status = ?, updated_at = now(), finished_at = ${empty ? 'now()' : 'null'} where tenant_id = ? and id = ?`,
    [empty ? 'completed' : 'queued', scope.tenantId, job.id],
  );
}

/**
 * Starts a bulk job, optionally with its first lines (the whole file, for a small one). With a
 * `clientKey` already used in this tenant, returns that job instead (`reused`): a client that lost the
 * answer, or a re-run of the same import, continues the job rather than starting over. At most
 * `maxRunningJobsPerTenant` jobs may be uploading, queued or running at once.
 */
export async function startJob(
  scope: TenantScope,
  input: z.input<typeof StartInput>,
  limits: BulkLimits,
): Promise<{ job: BulkJob; reused: boolean }> {
  const cmd = parseInput(StartInput, input);
  // Serialises starts within the tenant, so the running-jobs count and the client key check hold.
  await scope.em.execute(`select pg_advisory_xact_lock(hashtextextended('roster.bulk-start:' || ?, 0))`, [scope.tenantId]);
  if (cmd.clientKey) {
    const existing = await scope.em.execute<BulkJobRow[]>(`select * from bulk_jobs where tenant_id = ? and client_key = ?`, [
      scope.tenantId,
      cmd.clientKey,
    ]);
    if (existing[0]) {
      const job = existing[0];
      if (cmd.lines && job.status === 'uploading') {
        await storeChunk(scope, job, cmd.lines, 1, limits);
        if (cmd.complete) await completeUpload(scope, job);
      }
      return { job: await requireJob(scope, job.id), reused: true };
    }
  }
  const [{ active }] = await scope.em.execute<Array<{ active: string }>>(
    `select count(*) as active from bulk_jobs where tenant_id = ? and status in ${ACTIVE_SQL}`,
    [scope.tenantId],
  );
  if (Number(active) >= limits.maxRunningJobsPerTenant) {
    throw new DomainError(
      ErrorCode.LIMIT_EXCEEDED,
      `this tenant already has ${active} bulk jobs uploading, queued or running (at most ${limits.maxRunningJobsPerTenant}); wait for one to finish or cancel one`,
      { field: 'jobs', reason: 'MAX_RUNNING_JOBS' },
    );
  }
  const id = uuidv7();
  const rows = await scope.em.execute<BulkJobRow[]>(
    `insert into bulk_jobs (id, tenant_id, client_key, status, door, actor_kind, actor_id, actor_label)
     values (?, ?, ?, 'uploading', ?, ?, ?, ?) returning *`,
    [id, scope.tenantId, cmd.clientKey ?? null, scope.door, scope.actor.kind, scope.actor.id ?? null, scope.actor.label],
  );
  const job = rows[0];
  if (cmd.lines) await storeChunk(scope, job, cmd.lines, 1, limits);
  if (cmd.complete) await completeUpload(scope, job);
  await recordAudit(scope, {
    action: 'bulk_job.created',
    targetType: 'bulk_job',
    targetId: id,
    changes: { clientKey: { before: null, after: cmd.clientKey ?? null } },
  });
  await scope.em.flush();
  return { job: await requireJob(scope, id), reused: false };
}

/**
 * Appends a chunk of lines to an uploading job (uploads larger than one request), numbered from
 * `firstLineNumber`; with `complete`, the upload ends and the job is queued. Re-sending a chunk already
 * stored changes nothing, also after the job was completed.
 */
export async function appendLines(
  scope: TenantScope,
  jobId: string,
  input: z.input<typeof AppendInput>,
  limits: BulkLimits,
): Promise<BulkJob> {
  const cmd = parseInput(AppendInput, input);
  const job = await jobRow(scope, jobId, true);
  if (!job) throw notFound('bulk job', 'jobId');
  if (job.status !== 'uploading') {
    const { last } = splitJsonLines(cmd.lines, cmd.firstLineNumber);
    if (last <= Number(job.received_through)) return new BulkJob(job);
    throw new DomainError(ErrorCode.CONFLICT, `the job no longer accepts lines (it is ${job.status})`, {
      field: 'jobId',
      reason: 'JOB_NOT_UPLOADING',
    });
  }
  await storeChunk(scope, job, cmd.lines, cmd.firstLineNumber, limits);
  if (cmd.complete) await completeUpload(scope, job);
  return requireJob(scope, job.id);
}

/**
 * Cancels a job: workers claim none of its lines any more (a batch already in flight finishes). Lines
 * not applied stay pending and are reported as such. Cancelling a cancelled job is a no-op; a completed
 * one cannot be cancelled.
 */
export async function cancelJob(scope: TenantScope, jobId: string): Promise<BulkJob> {
  const job = await jobRow(scope, jobId, true);
  if (!job) throw notFound('bulk job', 'id');
  if (job.status === 'cancelled') return new BulkJob(job);
  if (job.status === 'completed')
    throw new DomainError(ErrorCode.CONFLICT, 'the job has already completed', { field: 'id', reason: 'JOB_FINISHED' });
  await scope.em.execute(
    `update bulk_jobs set status = 'cancelled', finished_at = now(), updated_at = now() where tenant_id = ? and id = ?`,
    [scope.tenantId, job.id],
  );
  await recordAudit(scope, {
    action: 'bulk_job.cancelled',
    targetType: 'bulk_job',
    targetId: job.id,
    changes: { status: { before: job.status, after: 'cancelled' } },
  });
  await scope.em.flush();
  return requireJob(scope, job.id);
}

/** The tenant's jobs, newest first. */
export async function listJobs(scope: TenantScope, filter: { status?: BulkJobStatus | null }, args: PageArgs): Promise<Page<BulkJob>> {
  const where = ['j.tenant_id = ?'];
  const params: unknown[] = [scope.tenantId];
  if (filter.status) {
    where.push('j.status = ?');
    params.push(filter.status);
  }
  const page = await keysetPage<BulkJobRow & Record<string, unknown>>(
    scope.em,
    {
      select: 'j.*',
      from: `from bulk_jobs j where ${where.join(' and ')}`,
      params,
      alias: 'j',
      sortExpr: 'j.created_at',
      sortType: 'timestamptz',
      descending: true,
    },
    args,
  );
  return { ...page, nodes: page.nodes.map((r) => new BulkJob(r)) };
}

/** A job's lines in line order, optionally only those with a status (e.g. the failed ones). */
export async function listLines(
  scope: TenantScope,
  jobId: string,
  filter: { status?: BulkLineStatus | null },
  args: PageArgs,
): Promise<Page<BulkJobLine>> {
  const where = ['l.tenant_id = ?', 'l.job_id = ?'];
  const params: unknown[] = [scope.tenantId, jobId];
  if (filter.status) {
    where.push('l.status = ?');
    params.push(filter.status);
  }
  // keysetPage breaks ties by an `id` column; within one job the line number alone is unique.
  const page = await keysetPage<BulkLineRow & Record<string, unknown>>(
    scope.em,
    {
      select: 'l.*, l.job_id as id',
      from: `from bulk_job_lines l where ${where.join(' and ')}`,
      params,
      alias: 'l',
      sortExpr: 'l.line_no',
      sortType: 'integer',
    },
    args,
  );
  return { ...page, nodes: page.nodes.map((r) => new BulkJobLine(r)) };
}
