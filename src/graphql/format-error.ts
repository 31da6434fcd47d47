import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { isDatabaseUnavailable } from '../infra/db/unavailable.js';
import { DomainError, ErrorCode } from '../kernel/errors.js';
import { translateDbError } from '../infra/orm/db-errors.js';
import { serviceUnavailableError } from './unavailable.js';
import { isTimeout } from '../infra/db/timeouts.js';
import { requestTimeoutError } from './rate-limit.js';

export type Log = (err: unknown) => void;

/**
 * The only place GraphQL errors are shaped. Domain errors keep their code; type-graphql's authorisation
 * error becomes FORBIDDEN; Apollo's own (parse, validation, bad input) pass through; anything else is
 * logged and masked as INTERNAL_SERVER_ERROR, so no internals leak.
 */
export function createFormatError(log: Log) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Database errors that mean bad input (e.g. a NUL character) become INVALID_INPUT like any other.
    const original = translateDbError(unwrapResolverError(error));
    if (original instanceof DomainError) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: {
          code: original.code,
          ...(original.field ? { field: original.field } : {}),
          ...(original.reason ? { reason: original.reason } : {}),
        },
      };
    }
    const code = formatted.extensions?.code;
    if (code === 'UNAUTHORIZED') {
      return { ...formatted, message: 'this credential lacks the permission for this field', extensions: { code: ErrorCode.FORBIDDEN } };
    }
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    // The database is restarting or unreachable: a typed, retryable error (HTTP 503, see unavailable.ts).
    if (isDatabaseUnavailable(original)) return { ...serviceUnavailableError(), path: formatted.path, locations: formatted.locations };
    // statement_timeout, or the request deadline cancelled the statement: typed, retryable (HTTP 503, see rate-limit.ts).
    if (isTimeout(original)) return { ...requestTimeoutError(), path: formatted.path, locations: formatted.locations };
    log(original);
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
