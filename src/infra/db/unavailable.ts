/**
 * Which failures mean "the database cannot serve us right now" (restart, failover, network, a full pool)
 * rather than "this request is wrong". The doors answer those with 503 and Retry-After, never 500: the
 * caller should simply try again later, and nothing was written (the request's transaction did not commit).
 */

/** Seconds a client is told to wait (Retry-After) after a 503 caused by the database. */
export const DB_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Socket-level failures of a connection to PostgreSQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception; not 08P01), 57P01 admin_shutdown (fast
 * shutdown / restart), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down),
 * 53300 too_many_connections, 40001/40P01 serialization failure / deadlock (transient by definition:
 * the transaction was rolled back and a retry succeeds).
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);

/** Messages of node-postgres and pg-pool that carry no code. */
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /Client has encountered a connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /terminating connection due to administrator command/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /Cannot use a pool after calling end on the pool/i,
  /connect ECONNREFUSED/i,
];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function check(err: unknown, depth: number): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as ErrorLike;
  // Class 08 except 08P01 protocol_violation: that one is caused by what was sent (e.g. a NUL byte), not by an outage.
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SQLSTATES.has(e.code) || (e.code.startsWith('08') && e.code !== '08P01')))
    return true;
  // Over a Unix socket (the embedded database), a stopped server's socket file is gone: connect() says ENOENT.
  if (e.code === 'ENOENT' && (err as { syscall?: unknown }).syscall === 'connect') return true;
  if (typeof e.message === 'string' && MESSAGES.some((m) => m.test(e.message as string))) return true;
  // AggregateError (a host name resolving to several addresses), and errors wrapped by the ORM or GraphQL.
  if (Array.isArray(e.errors) && e.errors.some((x) => check(x, depth + 1))) return true;
  return check(e.cause, depth + 1) || check((err as { originalError?: unknown }).originalError, depth + 1);
}

/** True when `err` (or what it wraps) says the database is unreachable, restarting, overloaded, or the transaction must be retried. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return check(err, 0);
}
