/**
 * BEGIN travels with the transaction's first statement.
 *
 * Kysely (under MikroORM) opens every transaction with a `begin` of its own, a round trip that returns
 * nothing; then come the transaction's statements, each a round trip too. On this kind of machine a round
 * trip is the dominant cost of a request (docs/performance.md: the server and PostgreSQL wake each other
 * per message), so a client defers a `begin` it is asked for and sends it in the same simple-protocol
 * message as the next statement (`begin; <statement>`), as PgJDBC and Npgsql do. PostgreSQL runs the two
 * in order; the answer is the statement's. A statement with bind parameters cannot share a simple-protocol
 * message: the `begin` then goes first, alone, as before.
 *
 * Nothing else changes: the statement fails or succeeds inside the transaction exactly as it would have
 * after a separate `begin` (a failure leaves the transaction aborted, and the caller rolls back).
 */

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
type State = DeferringClient & { [DEFERS]?: boolean; [PENDING]?: string | null };
const BEGIN = /^\s*begin(\s+(transaction|work|isolation level [a-z ]+|read (only|write)|(not )?deferrable|,)*)?\s*;?\s*$/i;

const noValues = (values: unknown) => values === undefined || (Array.isArray(values) && values.length === 0);

/**
 * A client given back to the pool forgets a begin it still defers (a transaction abandoned before its first
 * statement): the next holder of the connection must not find itself inside that transaction.
 */
export function dropDeferredBegin(client: object): void {
  (client as State)[PENDING] = null;
}

/** Makes the client defer `begin` (once per client; each checkout starts with nothing deferred). */
export function deferBegin(client: DeferringClient): void {
  const c = client as State;
  c[PENDING] = null;
  if (c[DEFERS]) return;
  c[DEFERS] = true;
  // The class's query, looked up at each call (not bound once), so that a patch of the prototype (the test
  // suite's statement counter) still sees every statement.
  const proto = Object.getPrototypeOf(client) as DeferringClient;
  const query: Query = (text, values, callback) => proto.query.call(client, text, values, callback);
  client.query = (text: unknown, values?: unknown, callback?: unknown) => {
    const simple = typeof text === 'string' && noValues(values) && callback === undefined;
    if (simple && !c[PENDING] && BEGIN.test(text)) {
      c[PENDING] = text.trim().replace(/;$/, '');
      const result: QueryResultLike = { command: 'BEGIN', rowCount: null, rows: [], fields: [] };
      return Promise.resolve(result);
    }
    const begin = c[PENDING];
    // A callback is pg-pool's own pool.query() on a fresh checkout: nothing can be pending for it.
    if (!begin || callback !== undefined) {
      c[PENDING] = null;
      return query(text, values, callback);
    }
    c[PENDING] = null;
    if (simple) {
      return (query(`${begin}; ${text}`) as Promise<QueryResultLike | QueryResultLike[]>).then((r) =>
        Array.isArray(r) ? r[r.length - 1] : r,
      );
    }
    return (query(begin) as Promise<unknown>).then(() => query(text, values, callback));
  };
}
