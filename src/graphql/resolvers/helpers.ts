import { DomainError, ErrorCode } from '../../kernel/errors.js';
import type { TenantScope } from '../../kernel/scope.js';
import type { GraphQLContext } from '../context.js';
import { UserErrorCode, type UserError } from '../types/common.js';

/** The caller's tenant scope; operator keys have none and get FORBIDDEN. */
export function tenantScope(ctx: GraphQLContext): TenantScope {
  if (!ctx.scope) throw new DomainError(ErrorCode.FORBIDDEN, 'this credential belongs to no tenant (operator keys manage tenants only)');
  return ctx.scope;
}

const USER_ERROR_CODES = new Set<string>(Object.values(UserErrorCode));

/**
 * Runs one mutation inside a savepoint of the request's transaction. An input problem (DomainError with a
 * user-error code) rolls back to the savepoint and becomes `userErrors`, so nothing of it is kept; any
 * other failure propagates to format-error.ts.
 */
export async function runMutation<P extends object>(
  ctx: GraphQLContext,
  fn: (scope: TenantScope) => Promise<P>,
  empty: { [K in keyof P]: null },
): Promise<(P | { [K in keyof P]: null }) & { userErrors: UserError[] }> {
  const scope = tenantScope(ctx);
  try {
    const result = await scope.em.transactional((em) => fn({ ...scope, em }));
    return { ...result, userErrors: [] };
  } catch (err) {
    if (err instanceof DomainError && USER_ERROR_CODES.has(err.code)) {
      return {
        ...empty,
        userErrors: [
          { code: err.code as unknown as UserErrorCode, field: err.field ?? null, reason: err.reason ?? null, message: err.message },
        ],
      };
    }
    throw err;
  }
}
