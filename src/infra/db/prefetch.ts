/**
 * A request's first statement, sent with the door's message (issue 4; docs/performance.md, round 6).
 *
 * A SCIM lookup (`GET /Users?filter=userName eq "…"`) is the door's round trip and then its page's. The page's
 * statement can be known before the door answers: from the request and a guess of the tenant the credential
 * opens (the one it opened last in this process). The door's simple-protocol message then ends with
 * `execute <name>(<values>)`, the page's prepared statement (prepared.ts) run inside the request's transaction
 * just entered, and the connection keeps its rows. When the request's first statement is that statement with
 * those values, it is answered with those rows, without a round trip; any other first statement drops them.
 *
 * Why this is safe:
 * - the statement runs after the door entered the request's transaction: row-level security holds for it
 *   as for any statement of the request; where the door admitted no one, no tenant is entered and it reads
 *   nothing (`roster_current_tenant()` is null);
 * - rows are used only by the identical statement with identical values, which names the tenant the door
 *   admitted (the handler builds it from the admitted scope): a wrong guess is a miss, never another
 *   tenant's rows;
 * - it is served only as the transaction's first statement after the door, with nothing owed before it, so
 *   it reads what that statement would have read a moment later in the same transaction.
 *
 * It is sent only where the connection already holds the statement (a connection's first lookup prepares
 * it the ordinary way), so the `execute` cannot name a statement PostgreSQL does not have. A failure of the
 * message fails the request like any failure of the door's statement. One place it can still be missing:
 * behind a pooler that keeps prepared statements under names of its own (PgBouncer 1.21+ in transaction
 * mode renames them; an SQL `execute` bypasses it). PostgreSQL then answers 26000 (no such prepared
 * statement), and the process stops prefetching: one failed request, then two round trips as before.
 */

import pg from 'pg';
import { preparedNameOn } from './prepared.js';

/** A marked prepared statement (sql.ts `preparedStatement`) and its values, as the request will send them. */
export interface FirstStatement {
  text: string;
  /** Sent only if each is a string or a finite number (executeOn): written as literals as node-postgres would send them. */
  values: readonly unknown[];
}

/** Leads the door's statement: `/* roster:prefetch:<n> *\/`, n naming a registered FirstStatement. */
const MARK = /^\/\* roster:prefetch:(\d+) \*\//;
const registered = new Map<number, FirstStatement>();
let last = 0;

/**
 * Registers the statement for the door's message: the comment to put in the door's statement, and `drop`,
 * to call once the door's statement was sent (or not sent) so that nothing stays registered.
 */
export function prefetchMark(first: FirstStatement): { mark: string; drop: () => void } {
  const n = (last = (last + 1) % Number.MAX_SAFE_INTEGER);
  registered.set(n, first);
  return { mark: `/* roster:prefetch:${n} */`, drop: () => registered.delete(n) };
}

/** The statement registered for a door's statement text (taken: registered once, sent once), if any. */
export function takeRegistered(text: string): FirstStatement | undefined {
  const m = MARK.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const first = registered.get(n);
  registered.delete(n);
  return first;
}

const inlinable = (v: unknown): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
const literal = (v: string | number) => (typeof v === 'number' ? String(v) : pg.escapeLiteral(v));

let stopped = false;

/** A door's message that carried an `execute` failed: if PostgreSQL did not know the statement, stop prefetching (above). */
export function onPrefetchError(err: unknown): void {
  if ((err as { code?: unknown } | null)?.code === '26000') stopped = true;
}

/** `execute <name>(…)` for the statement, if this connection holds it; else undefined (nothing is prefetched). */
export function executeOn(client: object, first: FirstStatement): string | undefined {
  if (stopped) return undefined;
  const { values } = first;
  if (!values.every(inlinable)) return undefined;
  const name = preparedNameOn(client, first.text);
  if (name === undefined) return undefined;
  return values.length === 0 ? `execute ${name}` : `execute ${name}(${values.map(literal).join(', ')})`;
}

const KEPT = Symbol('roster.prefetched');
type State = { [KEPT]?: { first: FirstStatement; result: unknown } };

/** Keeps the rows the door's message read for the request's first statement. */
export function keepPrefetched(client: object, first: FirstStatement, result: unknown): void {
  (client as State)[KEPT] = { first, result };
}

/**
 * The rows kept for this statement, if it is the one prefetched with the same values. One use: whatever the
 * statement, what was kept is dropped.
 */
export function takePrefetched(client: object, text: unknown, values: unknown): unknown {
  const c = client as State;
  const kept = c[KEPT];
  if (kept === undefined) return undefined;
  c[KEPT] = undefined;
  const { first } = kept;
  if (text !== first.text || !Array.isArray(values) || values.length !== first.values.length) return undefined;
  return values.every((v, i) => v === first.values[i]) ? kept.result : undefined;
}

/** Drops what the connection kept (a checkout, a rollback). */
export function dropPrefetched(client: object): void {
  (client as State)[KEPT] = undefined;
}
