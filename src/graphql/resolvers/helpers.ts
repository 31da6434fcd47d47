import { DomainError, ErrorCode } from '../../kernel/errors.js';
import type { TenantScope } from '../../kernel/scope.js';
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../../kernel/pagination.js';
import { searchUsers, type UserCriteria } from '../../modules/users/user.queries.js';
import type { GraphQLContext } from '../context.js';
import { selectedFields } from '../lookahead.js';
import { teamProjection, userProjection } from '../projection.js';
import { UserErrorCode, toConnection, type UserError } from '../types/common.js';

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

/** The fields a connection's nodes select at `below` (`[]`: the nodes themselves), through `nodes` or `edges.node`. */
const nodeFields = (info: GraphQLResolveInfo, below: readonly string[]) =>
  new Set([...selectedFields(info, ['nodes', ...below]), ...selectedFields(info, ['edges', 'node', ...below])]);

/**
 * A users connection as a resolver returns it. In a query, the page reads only the columns its nodes'
 * selected fields need (graphql/projection.ts), and the managers and teams its nodes select come with the
 * page (one statement, graphql/lookahead.ts), in the columns selected under `manager` and `team`: they wait
 * in `loaders.pageManagers` and `loaders.pageTeams` for those fields' resolvers, so neither costs another
 * round trip. One read whole also primes the user or team loader. A mutation reads whole rows and leaves
 * relations to the loaders, whose entities a later mutation of the same document may change.
 */
export async function usersConnection(ctx: GraphQLContext, info: GraphQLResolveInfo, criteria: UserCriteria, page: PageArgs) {
  const selected = ctx.operation.readOnly ? nodeFields(info, []) : null;
  const managers = selected?.has('manager') ? userProjection(nodeFields(info, ['manager'])) : undefined;
  const teams = selected?.has('team') ? teamProjection(nodeFields(info, ['team'])) : undefined;
  const result = await searchUsers(tenantScope(ctx), criteria, page, {
    columns: selected ? userProjection(selected) : 'all',
    with: { manager: managers, team: teams },
  });
  const { loaders } = ctx;
  for (const node of result.nodes) {
    if (managers && node.managerId) loaders.pageManagers.set(node, result.related.managers.get(node.managerId) ?? null);
    if (teams && node.teamId) loaders.pageTeams.set(node, result.related.teams.get(node.teamId) ?? null);
  }
  if (managers === 'all') for (const [id, manager] of result.related.managers) loaders.user.prime(id, manager);
  if (teams === 'all') for (const [id, team] of result.related.teams) loaders.team.prime(id, team);
  return toConnection(result);
}
