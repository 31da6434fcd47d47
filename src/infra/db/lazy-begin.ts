/**
 * BEGIN travels with the transaction's first statement; a read-only transaction's COMMIT travels with the
 * connection's next statement.
 *
 * Kysely (under MikroORM) opens every transaction with a `begin` of its own, a round trip that returns
 * nothing; then come the transaction's statements, each a round trip too. On this kind of machine a round
 * trip is the dominant cost of a request (docs/performance.md: the server and PostgreSQL wake each other
 * per message), so a client defers a `begin` it is asked for and sends it in the same simple-protocol
 * message as the next statement (`begin; <statement>`), as PgJDBC and Npgsql do. PostgreSQL runs the two
 * in order; the answer is the statement's. A statement with bind parameters cannot share a simple-protocol
 * message: the `begin` then goes first, alone, as before. Nothing else changes: the statement fails or
 * succeeds inside the transaction exactly as it would have after a separate `begin` (a failure leaves the
 * transaction aborted, and the caller rolls back).
 *
 * A transaction whose first statement carries READ_ONLY_MARK is begun `read only`, so PostgreSQL refuses
 * any write in it. Its commit can change nothing and nothing waits for it, so the client answers the
 * `commit` at once and sends it ahead of the connection's next statement (`commit; begin; <statement>`),
 * or alone shortly after the connection went back to the pool if nobody took it (flushDeferredCommit).
 *
 * The same wrapper sends a statement marked PREPARED_MARK as the connection's named prepared statement
 * (prepared.ts), and a checkout whose connection must forget its prepared statements sends `deallocate all`
 * with its first statement.
 *
 * A write whose answer nobody reads (an audit row) may be sent DEFERRED_MARK-ed, inside a transaction: the
 * client answers at once and sends it ahead of the transaction's next statement, its `commit` included
 * (`insert …; commit`), so it costs no round trip of its own. It runs before anything sent after it, in
 * the same transaction: if it fails, the transaction is aborted and cannot commit; the failure is the next
 * statement's. A rollback (of the transaction, or to a savepoint, which the writes owed all follow) drops
 * the writes owed instead of running them.
 *
 * The door's statement may carry the request's first statement (prefetch.ts): the client appends its
 * `execute` to the door's message, answers the door's statement with the door's result, and answers the
 * request's first statement, if it is that one, with the rows the message read.
 */

import { dropPrefetched, executeOn, keepPrefetched, onPrefetchError, takePrefetched, takeRegistered } from './prefetch.js';
import { checkPreparedAtCheckout, isPrepared, namedStatement, onPreparedError, takeForget } from './prepared.js';

interface QueryResultLike {
  command: string;
  rowCount: number | null;
  rows: unknown[];
  fields: unknown[];
}

type Query = (text: unknown, values?: unknown, callback?: unknown) => unknown;

interface DeferringClient {
  query: Query;
}

const DEFERS = Symbol('roster.lazyBegin');
const PENDING = Symbol('roster.pendingBegin');
const READ_ONLY = Symbol('roster.readOnlyTransaction');
const COMMIT_PENDING = Symbol('roster.pendingCommit');
const OWED = Symbol('roster.owedWrites');
type State = DeferringClient & {
  [DEFERS]?: boolean;
  [PENDING]?: string | null;
  [READ_ONLY]?: boolean;
  [COMMIT_PENDING]?: boolean;
  [OWED]?: string[];
};
const BEGIN = /^\s*begin(\s+(transaction|work|isolation level [a-z ]+|read (only|write)|(not )?deferrable|,)*)?\s*;?\s*$/i;
const COMMIT = /^\s*(commit|end)(\s+(transaction|work))?\s*;?\s*$/i;
const ROLLBACK = /^\s*(rollback|abort)\b/i;

/** Put in a transaction's first statement (a comment): the transaction is begun `read only` and its commit deferred. */
export const READ_ONLY_MARK = '/* roster:read-only */';

/** Starts a simple statement (no bind parameters) sent inside a transaction: a write owed to its next statement (above). */
export const DEFERRED_MARK = '/* roster:deferred */';

const DONE = (command: string): QueryResultLike => ({ command, rowCount: null, rows: [], fields: [] });

const noValues = (values: unknown) => values === undefined || (Array.isArray(values) && values.length === 0);

/**
 * A client given back to the pool forgets a begin it still defers (a transaction abandoned before its first
 * statement): the next holder of the connection must not find itself inside that transaction.
 */
export function dropDeferredBegin(client: object): void {
  const c = client as State;
  c[PENDING] = null;
  c[READ_ONLY] = false;
  c[OWED] = [];
  dropPrefetched(client);
}

/** Whether the client holds back a read-only transaction's commit. */
export const hasDeferredCommit = (client: object): boolean => Boolean((client as State)[COMMIT_PENDING]);

/**
 * Sends a deferred commit now (a connection that stayed in the pool; a read-only transaction left open
 * would hold its table locks). Errors are the connection's: whoever uses it next sees them.
 */
export function flushDeferredCommit(client: object): void {
  const c = client as State;
  if (!c[COMMIT_PENDING]) return;
  c[COMMIT_PENDING] = false;
  // The class's query, not the deferring one: a begin deferred meanwhile by the next holder stays deferred.
  ((Object.getPrototypeOf(c) as DeferringClient).query.call(c, 'commit') as Promise<unknown>).catch(() => undefined);
}

/** A connection that failed forgets its deferred commit (its transaction ended with it). */
export function dropDeferredCommit(client: object): void {
  (client as State)[COMMIT_PENDING] = false;
}

/** Makes the client defer `begin` (once per client; each checkout starts with nothing deferred). */
export function deferBegin(client: DeferringClient): void {
  const c = client as State;
  c[PENDING] = null;
  c[READ_ONLY] = false;
  c[OWED] = [];
  dropPrefetched(client);
  checkPreparedAtCheckout(client);
  if (c[DEFERS]) return;
  c[DEFERS] = true;
  // The class's query, looked up at each call (not bound once), so that a patch of the prototype (the test
  // suite's statement counter) still sees every statement.
  const proto = Object.getPrototypeOf(client) as DeferringClient;
  const query: Query = (text, values, callback) => proto.query.call(client, text, values, callback);
  client.query = (text: unknown, values?: unknown, callback?: unknown) => {
    const simple = typeof text === 'string' && noValues(values) && callback === undefined;
    // The statement after the door's: the rows the door's message read for it, if it is the statement
    // prefetched (same text, same values). Whatever it is, it takes what was kept: a write owed, a begin or a
    // commit asked for in between is a statement too, so nothing can come between the door and the rows.
    const prefetched = takePrefetched(client, text, values);
    if (prefetched !== undefined) return Promise.resolve(prefetched);
    const first = simple ? takeRegistered(text) : undefined;
    // A statement marked to be kept prepared (prepared.ts) goes as the connection's named statement.
    const send = isPrepared(text, values)
      ? () =>
          (query(namedStatement(client, text, values as unknown[])) as Promise<unknown>).catch((err: unknown) => {
            onPreparedError(client, err);
            throw err;
          })
      : () => query(text, values, callback);
    if (simple && !c[PENDING] && BEGIN.test(text)) {
      c[PENDING] = text.trim().replace(/;$/, '');
      c[READ_ONLY] = false;
      return Promise.resolve(DONE('BEGIN'));
    }
    if (simple && c[READ_ONLY] && !c[OWED]?.length && COMMIT.test(text)) {
      c[READ_ONLY] = false;
      c[COMMIT_PENDING] = true;
      return Promise.resolve(DONE('COMMIT'));
    }
    if (simple && (text as string).startsWith(DEFERRED_MARK)) {
      (c[OWED] ??= []).push(text as string);
      return Promise.resolve(DONE('DEFERRED'));
    }
    if (typeof text === 'string' && ROLLBACK.test(text)) {
      c[READ_ONLY] = false;
      c[OWED] = [];
    }
    // What the connection owes before this statement: the previous read's commit, forgetting its prepared statements.
    const prefix: string[] = [];
    if (c[COMMIT_PENDING]) {
      c[COMMIT_PENDING] = false;
      prefix.push('commit');
    }
    const forget = takeForget(client);
    if (forget) prefix.push(forget);
    // Not mergeable (bind parameters, or pg-pool's pool.query() with its callback): that goes first on its own;
    // node-postgres queues the statement behind it.
    if (!simple && prefix.length > 0) (query(prefix.splice(0).join('; ')) as Promise<unknown>).catch(() => undefined);
    const begin = c[PENDING];
    c[PENDING] = null;
    const owed = c[OWED]?.splice(0) ?? [];
    // A callback is pg-pool's own pool.query() on a fresh checkout: no transaction of its own is pending.
    if (begin && callback === undefined) {
      const readOnly = simple && (text as string).includes(READ_ONLY_MARK);
      if (readOnly) c[READ_ONLY] = true;
      if (!simple) return (query([begin, ...owed].join('; ')) as Promise<unknown>).then(send);
      // A statement that commits and begins again itself (the door's, see door-transaction.ts) begins the
      // read-only transaction itself: the first one, its door, writes.
      const beginsItself = /;\s*begin\b/i.test(text as string);
      prefix.push(readOnly && !beginsItself ? `${begin} read only` : begin);
    }
    // The writes owed go ahead of the statement, their failure its own (a statement with bind parameters waits for them).
    if (!simple && owed.length > 0) return (query(owed.join('; ')) as Promise<unknown>).then(send);
    prefix.push(...owed);
    // Not after a `deallocate all`: the statement would be gone.
    const execute = first && !forget ? executeOn(client, first) : undefined;
    if (prefix.length === 0 && execute === undefined) return send();
    const message = [...prefix, text as string, ...(execute !== undefined ? [execute] : [])].join('; ');
    return (query(message) as Promise<QueryResultLike | QueryResultLike[]>).then(
      (r) => {
        if (!Array.isArray(r)) return r;
        if (first && execute !== undefined) {
          keepPrefetched(client, first, r[r.length - 1]);
          return r[r.length - 2];
        }
        return r[r.length - 1];
      },
      (err: unknown) => {
        if (execute !== undefined) {
          onPreparedError(client, err);
          onPrefetchError(err);
        }
        throw err;
      },
    );
  };
}
