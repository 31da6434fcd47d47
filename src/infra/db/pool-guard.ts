/**
 * Keeps the connection pool whole across database restarts.
 *
 * MikroORM runs transactions through Kysely's controlled transactions, which give their connection back
 * to the pool only after a *successful* COMMIT or ROLLBACK (kysely 0.29, `ControlledTransaction`). When
 * PostgreSQL restarts mid-transaction both fail, so the dead connection is never released: it keeps its
 * slot in the pool for ever. Measured before this guard: three slots lost per restart under load; a pool
 * of 10 is exhausted by the fourth restart and every request then waits for a connection until the
 * acquire timeout — the service never recovers.
 *
 * The guard wraps `pool.connect()` (what Kysely calls): a client whose connection ends or fails while it
 * is checked out is released at once, with the error, so the pool discards it and opens a fresh one on
 * demand; and release becomes idempotent, so the holder's own release later is a no-op instead of
 * pg-pool's "Release called on client which has already been released".
 */

import { deferBegin, dropDeferredBegin, dropDeferredCommit, flushDeferredCommit, hasDeferredCommit } from './lazy-begin.js';

/** How long a connection back in the pool may hold a read-only transaction's deferred commit before it is sent alone. */
const COMMIT_FLUSH_MS = 5;

interface GuardedClient {
  release: (err?: Error | boolean) => void;
  once(event: 'end' | 'error', fn: (err?: Error) => void): unknown;
  removeListener(event: 'end' | 'error', fn: (err?: Error) => void): unknown;
}

interface ConnectablePool {
  connect: (...args: unknown[]) => unknown;
}

const GUARDED = Symbol('roster.poolGuard');

export function guardPool(pool: ConnectablePool): void {
  const p = pool as ConnectablePool & { [GUARDED]?: boolean };
  if (p[GUARDED]) return;
  p[GUARDED] = true;
  const connect = pool.connect.bind(pool);
  pool.connect = (...args: unknown[]) => {
    // The callback form (used by pool.query) keeps pg-pool's own handling: it always releases.
    if (typeof args[0] === 'function') return connect(...args);
    return (connect() as Promise<GuardedClient & { query: (...a: unknown[]) => unknown }>).then((client) => {
      deferBegin(client);
      const release = client.release;
      let released = false;
      const lost = (err?: Error) => done(err instanceof Error ? err : new Error('database connection ended while in use'));
      const done = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        dropDeferredBegin(client);
        client.removeListener('end', lost);
        client.removeListener('error', lost);
        if (err) dropDeferredCommit(client);
        else if (hasDeferredCommit(client)) setTimeout(() => flushDeferredCommit(client), COMMIT_FLUSH_MS).unref();
        release(err);
      };
      client.once('end', lost);
      client.once('error', lost);
      client.release = done;
      return client;
    });
  };
}
