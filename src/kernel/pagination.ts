import { DomainError, ErrorCode } from './errors.js';
import { isUuid } from './ids.js';

/** Relay connection arguments, as both GraphQL and internal callers pass them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export interface Page<T> {
  nodes: T[];
  cursors: string[];
  /** Counted on the first call only (an O(set) count nobody asked for is not run). */
  totalCount: () => Promise<number>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** Opaque cursor: the sort key and id of a row, base64url-encoded JSON. */
export const encodeCursor = (key: string | number | null, id: string): string =>
  Buffer.from(JSON.stringify([key, id])).toString('base64url');

export function decodeCursor(cursor: string, field: string): { key: string | number | null; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && isUuid(v[1]) && (v[0] === null || typeof v[0] === 'string' || typeof v[0] === 'number')) {
      return { key: v[0], id: v[1] };
    }
  } catch {
    // fall through to the typed error
  }
  throw new DomainError(ErrorCode.INVALID_INPUT, `${field}: not a cursor from this connection`, { field });
}

export function validatePageArgs(args: PageArgs): { limit: number; backward: boolean; cursor?: string; cursorField: string } {
  const { first, last, after, before } = args;
  if (first != null && last != null) throw new DomainError(ErrorCode.INVALID_INPUT, 'pass first or last, not both', { field: 'first' });
  for (const [name, v] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (v != null && (!Number.isInteger(v) || v < 0 || v > MAX_PAGE_SIZE)) {
      throw new DomainError(ErrorCode.INVALID_INPUT, `${name} must be an integer from 0 to ${MAX_PAGE_SIZE}`, { field: name });
    }
  }
  const backward = last != null || (before != null && first == null);
  const limit = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;
  const cursor = backward ? (before ?? undefined) : (after ?? undefined);
  return { limit, backward, cursor, cursorField: backward ? 'before' : 'after' };
}
