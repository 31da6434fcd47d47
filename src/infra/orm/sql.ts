import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { DEFERRED_MARK } from '../db/lazy-begin.js';
import { PREPARED_MARK } from '../db/prepared.js';

/**
 * `updated_at` for a change written in SQL to a row whose time a client sees (meta.lastModified, GraphQL):
 * milliseconds, as the ORM writes JavaScript dates and as the representations show them, so that a filter
 * on the shown value finds the row (`eq`) and an incremental poller's `gt` does not find it again; and never
 * before the row's own time (`now()` is the transaction's start, which can precede a created_at just taken).
 */
export const TOUCHED_AT = `greatest(updated_at, date_trunc('milliseconds', clock_timestamp()))`;

/**
 * The ORM expands an array parameter into a list of placeholders, so lists travel as one JSON parameter
 * instead, unpacked in SQL: `col in ${UUID_LIST}` with `jsonList(ids)`. Works for empty lists too.
 */
export const UUID_LIST = '(select jsonb_array_elements_text(?::jsonb)::uuid)';
export const TEXT_LIST = '(select jsonb_array_elements_text(?::jsonb))';
export const jsonList = (values: readonly unknown[]): string => JSON.stringify(values);

/**
 * The same list as an array, for `column = any(${UUID_ARRAY})`: an index condition whatever the planner
 * estimates. `in ${UUID_LIST}` is planned as a join with a guessed 100 rows, which against a big
 * partner (a 50,000-member group) becomes a hash join reading the whole partner.
 */
export const UUID_ARRAY = `array(select jsonb_array_elements_text(?::jsonb)::uuid)`;

/**
 * `?` placeholders as `$1, $2, …`, outside string literals, quoted identifiers and comments. A `?` that is
 * part of an operator (jsonb's `?|`, `?&`) is not supported here: such a statement stays with `em.execute`.
 */
export function numberPlaceholders(sql: string, placeholder: (n: number) => string = (n) => `$${n}`): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const end = closing(sql, i, ch);
      out += sql.slice(i, end);
      i = end - 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (ch === '?') {
      out += placeholder(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

/** The index just past the literal or identifier opened by `quote` at `start` (a doubled quote stays inside). */
function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** The marked, numbered text of each statement seen (bounded): the same string each time, not rebuilt per call. */
const marked = new Map<string, string>();
function markedText(sql: string): string {
  let text = marked.get(sql);
  if (text === undefined) {
    if (marked.size >= 1_000) marked.clear();
    text = `${PREPARED_MARK} ${numberPlaceholders(sql)}`;
    marked.set(sql, text);
  }
  return text;
}

/** What Kysely's executor takes (the shape of its CompiledQuery): the text as it is, values bound by the driver. */
interface RawCompiled {
  sql: string;
  parameters: readonly unknown[];
  query: { kind: 'RawNode'; sqlFragments: readonly string[]; parameters: readonly unknown[] };
}

interface KyselyLike {
  executeQuery(q: RawCompiled): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a hot statement as a prepared statement of the request's connection (infra/db/prepared.ts): planned
 * once per connection, not once per request. Same placeholders (`?`) and results as `em.execute`; the values
 * are bound, not inlined, so each must have a type PostgreSQL can infer from where it stands (cast it
 * otherwise, e.g. `?::uuid`). For statements whose text is fixed or comes in few shapes; the connection
 * keeps a bounded number of them.
 */
export async function prepared<R>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const text = markedText(sql);
  const ctx = (em.getTransactionContext() ?? em.getConnection().getClient()) as unknown as KyselyLike;
  const res = await ctx.executeQuery({ sql: text, parameters: params, query: { kind: 'RawNode', sqlFragments: [text], parameters: [] } });
  return res.rows as R[];
}

/** A statement with `?` placeholders and its values, as `prepared` takes them. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

/** A statement as `prepared` sends it (its marked, numbered text and its values): what a prefetch names (infra/db/prefetch.ts). */
export const preparedStatement = (sql: string, params: readonly unknown[]) => ({ text: markedText(sql), values: params });

/** A value as an SQL literal (strings quoted by node-postgres's escapeLiteral; objects as JSON text; dates as ISO 8601). */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return pg.escapeLiteral(value.toISOString());
  if (typeof value === 'string') return pg.escapeLiteral(value);
  return pg.escapeLiteral(JSON.stringify(value));
}

/** `?` placeholders filled with the values as literals (outside literals, identifiers and comments, as numberPlaceholders). */
export function inlineValues(sql: string, params: readonly unknown[]): string {
  let used = 0;
  const text = numberPlaceholders(sql, (n) => {
    used = n;
    if (n > params.length) throw new Error(`more placeholders than the ${params.length} values`);
    return sqlLiteral(params[n - 1]);
  });
  if (used !== params.length) throw new Error(`${params.length} values for ${used} placeholders`);
  return text;
}

/**
 * A write whose answer nobody reads (an audit row), inside the request's transaction: sent with the
 * transaction's next statement (`DEFERRED_MARK`, infra/db/lazy-begin.ts), so it costs no round trip of its
 * own; outside a transaction, at once. The values are inlined as literals (a simple-protocol message).
 */
export async function deferredWrite(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<void> {
  const trx = em.getTransactionContext() as unknown as KyselyLike | undefined;
  const text = trx ? `${DEFERRED_MARK} ${inlineValues(sql, params)}` : inlineValues(sql, params);
  const runner = trx ?? (em.getConnection().getClient() as unknown as KyselyLike);
  await runner.executeQuery({ sql: text, parameters: [], query: { kind: 'RawNode', sqlFragments: [text], parameters: [] } });
}
