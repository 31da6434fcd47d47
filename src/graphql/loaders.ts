import DataLoader from 'dataloader';
import type { TenantScope } from '../kernel/scope.js';
import { isUuid } from '../kernel/ids.js';
import type { Role } from '../modules/roles/role.entity.js';
import { Role as RoleEntity } from '../modules/roles/role.entity.js';
import type { Team } from '../modules/teams/team.entity.js';
import { Team as TeamEntity } from '../modules/teams/team.entity.js';
import { teamView } from '../modules/teams/team.view.js';
import type { User } from '../modules/users/user.entity.js';
import { roleIdsByUserIds, usersByIds } from '../modules/users/user.queries.js';
import { UUID_LIST, jsonList } from '../infra/orm/sql.js';

/**
 * Per-request batch loaders, all keyed inside the request's tenant: one query per level of a nested
 * GraphQL selection, however many parents that level has.
 */
export interface Loaders {
  user: DataLoader<string, User | null>;
  team: DataLoader<string, Team | null>;
  role: DataLoader<string, Role | null>;
  roleIdsOfUser: DataLoader<string, string[]>;
  /**
   * The managers and teams a users page read with its nodes, by node (resolvers/helpers.ts usersConnection),
   * in the columns the query selects under those nodes' `manager` and `team`: for those fields' resolvers
   * only, since another place in the query may select more of the same user or team.
   */
  pageManagers: WeakMap<User, User | null>;
  pageTeams: WeakMap<User, Team | null>;
}

async function byIds<T extends { id: string }>(
  scope: TenantScope,
  entity: typeof TeamEntity | typeof RoleEntity,
  ids: readonly string[],
): Promise<Array<T | null>> {
  const valid = ids.filter(isUuid);
  const found = valid.length
    ? ((await scope.em.find(entity as typeof TeamEntity, { id: { $in: valid }, tenantId: scope.tenantId })) as unknown as T[])
    : [];
  const map = new Map(found.map((e) => [e.id, e]));
  return ids.map((id) => map.get(id) ?? null);
}

/** Teams by id as read-only views (a query's loader): no entity to hydrate and compare at commit. */
async function teamViewsByIds(scope: TenantScope, ids: readonly string[]): Promise<Array<Team | null>> {
  const valid = ids.filter(isUuid);
  const rows = valid.length
    ? await scope.em.execute<Array<Record<string, unknown>>>(`select t.* from teams t where t.tenant_id = ? and t.id in ${UUID_LIST}`, [
        scope.tenantId,
        jsonList(valid),
      ])
    : [];
  const map = new Map(rows.map((r) => [String(r.id), teamView(r)]));
  return ids.map((id) => map.get(id) ?? null);
}

/** `readOnly`: whether the request turned out to be a query (known once Apollo parsed it, before any loader runs). */
export function createLoaders(scope: TenantScope | null, readOnly: () => boolean = () => false): Loaders {
  const need = (): TenantScope => {
    if (!scope) throw new Error('tenant loaders used without a tenant scope');
    return scope;
  };
  return {
    user: new DataLoader((ids) => usersByIds(need(), ids, { views: readOnly() }), { maxBatchSize: 1000 }),
    team: new DataLoader((ids) => (readOnly() ? teamViewsByIds(need(), ids) : byIds<Team>(need(), TeamEntity, ids)), {
      maxBatchSize: 1000,
    }),
    role: new DataLoader((ids) => byIds<Role>(need(), RoleEntity, ids), { maxBatchSize: 1000 }),
    roleIdsOfUser: new DataLoader((ids) => roleIdsByUserIds(need(), ids), { maxBatchSize: 1000 }),
    pageManagers: new WeakMap(),
    pageTeams: new WeakMap(),
  };
}
