import type { Door } from '../../kernel/scope.js';

/**
 * Bulk jobs and their lines are read and written with SQL only (claims need FOR UPDATE SKIP LOCKED and
 * counters are set-based), so they are plain records mapped from rows rather than ORM entities. The class
 * names are the GraphQL type names (the Node interface resolves types by constructor name).
 */

export type BulkJobStatus = 'uploading' | 'queued' | 'running' | 'completed' | 'cancelled';
export type BulkLineStatus = 'pending' | 'succeeded' | 'failed';

export interface BulkJobRow {
  id: string;
  tenant_id: string;
  client_key: string | null;
  status: BulkJobStatus;
  total_lines: number;
  received_through: number;
  processed: number;
  succeeded: number;
  failed: number;
  door: Door;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

export class BulkJob {
  readonly id: string;
  readonly tenantId: string;
  readonly clientKey: string | null;
  readonly status: BulkJobStatus;
  /** Lines stored (blank lines are numbered but not stored). */
  readonly totalLines: number;
  /** The highest line number received: the next upload starts at receivedThrough + 1. */
  readonly receivedThrough: number;
  readonly processed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly door: Door;
  readonly actorKind: string;
  readonly actorId: string | null;
  readonly actorLabel: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;

  constructor(row: BulkJobRow) {
    this.id = row.id;
    this.tenantId = row.tenant_id;
    this.clientKey = row.client_key;
    this.status = row.status;
    this.totalLines = Number(row.total_lines);
    this.receivedThrough = Number(row.received_through);
    this.processed = Number(row.processed);
    this.succeeded = Number(row.succeeded);
    this.failed = Number(row.failed);
    this.door = row.door;
    this.actorKind = row.actor_kind;
    this.actorId = row.actor_id;
    this.actorLabel = row.actor_label;
    this.createdAt = date(row.created_at) as Date;
    this.updatedAt = date(row.updated_at) as Date;
    this.startedAt = date(row.started_at);
    this.finishedAt = date(row.finished_at);
  }

  get finished(): boolean {
    return this.status === 'completed' || this.status === 'cancelled';
  }
}

export interface BulkLineRow {
  job_id: string;
  line_no: number;
  op: string | null;
  body: string;
  status: BulkLineStatus;
  result: Record<string, unknown> | null;
  processed_at: Date | string | null;
  processed_by: string | null;
}

/** What a failed line reports: the domain error, as GraphQL userErrors show it. */
export interface LineError {
  code: string;
  field: string | null;
  reason: string | null;
  message: string;
}

export class BulkJobLine {
  readonly jobId: string;
  readonly lineNumber: number;
  readonly op: string | null;
  readonly body: string;
  readonly status: BulkLineStatus;
  readonly outcome: 'created' | 'updated' | 'unchanged' | null;
  readonly userId: string | null;
  readonly roleId: string | null;
  readonly error: LineError | null;
  readonly processedAt: Date | null;
  readonly processedBy: string | null;

  constructor(row: BulkLineRow) {
    this.jobId = row.job_id;
    this.lineNumber = Number(row.line_no);
    this.op = row.op;
    this.body = row.body;
    this.status = row.status;
    const r = (row.result ?? {}) as Record<string, unknown>;
    const ok = row.status === 'succeeded';
    this.outcome = ok ? ((r.outcome as BulkJobLine['outcome']) ?? null) : null;
    this.userId = ok ? ((r.userId as string | undefined) ?? null) : null;
    this.roleId = ok ? ((r.roleId as string | undefined) ?? null) : null;
    this.error =
      row.status === 'failed'
        ? {
            code: String(r.code ?? 'INTERNAL'),
            field: (r.field as string | null) ?? null,
            reason: (r.reason as string | null) ?? null,
            message: String(r.message ?? ''),
          }
        : null;
    this.processedAt = date(row.processed_at);
    this.processedBy = row.processed_by;
  }
}
