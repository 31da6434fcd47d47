import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { decodeCursor, encodeCursor, validatePageArgs, type Page, type PageArgs } from '../../kernel/pagination.js';
import { prepared } from './sql.js';

/** How PostgreSQL prints a timestamptz as text (the form cursors carry), e.g. 2026-11-22 10:00:00.123456+00. */
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2}){0,2})?$/;

/** A cursor key must be castable to the sort type; a cursor of another ordering is the caller's mistake, not a 500. */
function checkCursorKey(key: string | number | null, type: KeysetQuery['sortType'], field: string): void {
  const ok =
    key === null ||
    (type === 'text' && typeof key === 'string') ||
    (type === 'timestamptz' && typeof key === 'string' && TIMESTAMP_TEXT.test(key)) ||
    (type === 'integer' && (Number.isSafeInteger(key) || (typeof key === 'string' && /^-?\d{1,15}$/.test(key))));
  if (!ok) {
    throw new DomainError(ErrorCode.INVALID_INPUT, `${field}: not a cursor from this connection (or from another ordering)`, { field });
  }
}

export interface KeysetQuery {
  /** `from … where …` of the base set (tenant predicate included by the caller). Uses `?` placeholders. */
  from: string;
  params: unknown[];
  /** Row alias whose `id` column is the tie-breaker, e.g. 'u'. */
  alias: string;
  /** SQL expression of the sort key, and its SQL type for comparing with a cursor value. */
  sortExpr: string;
  sortType: 'text' | 'timestamptz' | 'integer';
  /** The sort key is a NOT NULL column: compared as it is (no coalesce), so an index on it serves the order. */
  sortNotNull?: boolean;
  descending?: boolean;
  /** Columns to select, e.g. 'u.*'. */
  select: string;
  /** A cheaper statement for the total (`total` column), where the set's size is kept; else the set is counted. */
  total?: { sql: string; params: unknown[] };
  /**
   * Columns of other rows joined to the page's rows once the page is cut (`page` is their alias): computed
   * for its rows only, by a join rather than a sub-select per row. No placeholders.
   */
  joined?: { select: string; from: string };
}

/**
 * Relay pagination by keyset over (sort key, id): the cost of a page does not depend on how far into
 * the list it is. The sort key travels in the cursor as PostgreSQL printed it (text), so timestamps keep
 * their microseconds. totalCount is counted only when asked for (the first call of `page.totalCount()`,
 * e.g. when a GraphQL query selects it): counting is O(set), a page with an index on its order is not.
 */
export async function keysetPage<R extends Record<string, unknown>>(em: EntityManager, q: KeysetQuery, args: PageArgs): Promise<Page<R>> {
  const { limit, backward, cursor, cursorField } = validatePageArgs(args);
  const desc = Boolean(q.descending) !== backward;
  const dir = desc ? 'desc' : 'asc';
  const cmp = desc ? '<' : '>';
  const sortKey = q.sortType === 'text' && !q.sortNotNull ? `coalesce(${q.sortExpr}, '')` : q.sortExpr;
  const params = [...q.params];
  let keyset = '';
  if (cursor) {
    const c = decodeCursor(cursor, cursorField);
    checkCursorKey(c.key, q.sortType, cursorField);
    keyset = `where (sort_key, id) ${cmp} (?::${q.sortType}, ?::uuid)`;
    params.push(c.key, c.id);
  }
  // The page size is in the text (an integer from validatePageArgs), not a parameter: see fetchListPage.
  const base = `with base as (select ${q.select}, ${sortKey} as sort_key, ${q.sortType === 'text' ? sortKey : `${q.sortExpr}::text`} as sort_text ${q.from})`;
  const cut = `select base.* from base ${keyset} order by sort_key ${dir}, id ${dir} limit ${Math.trunc(limit) + 1}`;
  const sql = q.joined
    ? `${base}, page as (${cut}) select page.*, ${q.joined.select} from page ${q.joined.from} order by page.sort_key ${dir}, page.id ${dir}`
    : `${base} ${cut}`;
  let rows = limit === 0 ? [] : await prepared<R & { sort_text: string; id: string }>(em, sql, params);
  let total: Promise<number> | undefined;
  const more = rows.length > limit;
  rows = rows.slice(0, limit);
  if (backward) rows.reverse();
  return {
    nodes: rows as unknown as R[],
    cursors: rows.map((r) => encodeCursor(r.sort_text, r.id)),
    totalCount: () =>
      (total ??= em
        .execute<Array<{ total: string }>>(
          q.total?.sql ?? `select count(*) as total from (select 1 ${q.from}) s`,
          q.total?.params ?? q.params,
        )
        .then((c) => Number(c[0].total))),
    hasNextPage: backward ? Boolean(cursor) : more,
    hasPreviousPage: backward ? more : Boolean(cursor),
  };
}
