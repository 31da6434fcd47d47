import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { RequestTimeoutError, type Deadline } from '../../kernel/deadline.js';
import { READ_ONLY_MARK } from '../db/lazy-begin.js';
import { useTenantFilter } from './session.js';

export interface DoorTransactionOptions {
  /** The authenticated tenant, or null for an operator credential (tenants only, no directory). */
  tenantId: string | null;
  deadline?: Deadline;
  /** The configured statement_timeout (ms, 0: none); the transaction's is the lower of it and the deadline's remaining budget. */
  statementTimeoutMs: number;
  /**
   * The request writes nothing (a SCIM GET, a GraphQL query): the transaction is begun `read only`, so
   * PostgreSQL refuses a write, and its commit travels with the connection's next statement (infra/db/lazy-begin.ts).
   */
  readOnly?: boolean;
}

/**
 * The request's transaction after a door let the caller in (see modules/credentials/door.ts): one
 * statement (roster_enter) enters the tenant (row-level security, `roster.tenant_id`) or operator mode, bounds every
 * statement by what is left of the request's time, and notes which backend runs the transaction so that
 * an expiring deadline can cancel the statement in flight. A transaction whose deadline passed never
 * commits: it rolls back with RequestTimeoutError.
 */
/** What entering the tenant read in the same round trip (see roster_enter in the hot_paths migration). */
export interface Entered {
  /** The tenant's custom-attribute declarations as rows (snake_case columns), or null for an operator. */
  customAttributes: Array<Record<string, unknown>> | null;
}

export async function inDoorTransaction<T>(
  orm: MikroORM,
  opts: DoorTransactionOptions,
  fn: (em: EntityManager, entered: Entered) => Promise<T>,
): Promise<T> {
  const { tenantId, deadline } = opts;
  return orm.em.fork().transactional(async (em) => {
    const bounds = [opts.statementTimeoutMs, deadline ? Math.max(1, deadline.remainingMs()) : 0].filter((ms) => ms > 0);
    const statementTimeout = bounds.length > 0 ? Math.min(...bounds) : 0;
    const [backend] = await em.execute<
      Array<{ pid: number; xact_start: string; custom_attributes: Array<Record<string, unknown>> | null }>
    >(`select * from roster_enter(?, ?, ?)${opts.readOnly ? ` ${READ_ONLY_MARK}` : ''}`, [
      tenantId ?? '',
      tenantId ? 'off' : 'on',
      String(statementTimeout),
    ]);
    if (tenantId) useTenantFilter(em, tenantId);
    const unregister = deadline?.onExpire(() => void cancelBackend(orm, backend.pid, backend.xact_start));
    try {
      const result = await fn(em, { customAttributes: backend.custom_attributes });
      if (deadline?.expired) throw new RequestTimeoutError(deadline.ms);
      return result;
    } finally {
      unregister?.();
    }
  });
}

/**
 * Cancels the statement running in that backend, if it still runs the same transaction (a pooled
 * connection may have moved on to another request). Best effort, on another pooled connection.
 */
async function cancelBackend(orm: MikroORM, pid: number, xactStart: string): Promise<void> {
  try {
    await orm.em
      .fork()
      .execute(`select pg_cancel_backend(a.pid) from pg_stat_activity a where a.pid = ? and a.xact_start = ?::timestamptz`, [
        pid,
        xactStart,
      ]);
  } catch {
    // the pool or the database is unavailable: the statement_timeout still bounds the statement
  }
}
