import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { DomainError, ErrorCode } from '../kernel/errors.js';

export type Log = (err: unknown) => void;

/**
 * The only place GraphQL errors are shaped. Domain errors keep their code; type-graphql's authorisation
 * error becomes FORBIDDEN; Apollo's own (parse, validation, bad input) pass through; anything else is
 * logged and masked as INTERNAL_SERVER_ERROR, so no internals leak.
 */
export function createFormatError(log: Log) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...(original.reason ? { reason: original.reason } : {}) },
      };
    }
    const code = formatted.extensions?.code;
    if (code === 'UNAUTHORIZED') {
      return { ...formatted, message: 'this credential lacks the permission for this field', extensions: { code: ErrorCode.FORBIDDEN } };
    }
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    log(original);
    return { message: 'Internal server error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
