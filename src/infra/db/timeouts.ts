import { RequestTimeoutError } from '../../kernel/deadline.js';

/**
 * True when `err` (or what it wraps) means "this request ran out of time": the request deadline passed,
 * or PostgreSQL cancelled a statement (SQLSTATE 57014 query_canceled: statement_timeout, or the
 * cancellation the deadline sends). Either way the request's transaction did not commit.
 */
export function isTimeout(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err instanceof RequestTimeoutError) return true;
  const e = err as { code?: unknown; sqlState?: unknown; cause?: unknown; originalError?: unknown };
  if (e.code === '57014' || e.sqlState === '57014') return true;
  return isTimeout(e.cause, depth + 1) || isTimeout(e.originalError, depth + 1);
}
