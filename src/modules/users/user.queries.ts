import type { Page, PageArgs } from '../../kernel/pagination.js';
import { UUID_LIST, jsonList, prepared } from '../../infra/orm/sql.js';
import { isUuid } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { keysetPage } from '../../infra/orm/keyset.js';
import { joinedColumns, projectedColumns, type Projection } from '../../infra/orm/views.js';
import { User, UserSchema } from './user.entity.js';
import { userView } from './user.view.js';
import { TeamSchema, type Team } from '../teams/team.entity.js';
import { teamView } from '../teams/team.view.js';

export type UserOrder = 'NAME' | 'CREATED_AT' | 'UPDATED_AT';

export interface UserCriteria {
  active?: boolean | null;
  teamId?: string | null;
  roleId?: string | null;
  managerId?: string | null;
  /** Case-insensitive substring over userName, names, displayName and email addresses. */
  search?: string | null;
  orderBy?: UserOrder;
  descending?: boolean;
}

// NAME is the stored sort_name column (hot_paths migration): indexed with (tenant_id, sort_name, id), so a
// page by name reads 100 index entries instead of sorting the tenant.
const ORDER: Record<UserOrder, { expr: string; type: 'text' | 'timestamptz' }> = {
  NAME: { expr: 'u.sort_name', type: 'text' },
  CREATED_AT: { expr: 'u.created_at', type: 'timestamptz' },
  UPDATED_AT: { expr: 'u.updated_at', type: 'timestamptz' },
};

/** How a user is named where another user shows it (a manager's display name): SQL over the row alias `a`. */
export const displayNameSql = (a: string) =>
  `coalesce(${a}.display_name, nullif(concat_ws(' ', ${a}.given_name, ${a}.family_name), ''), ${a}.user_name)`;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const NONE = '00000000-0000-0000-0000-000000000000';

/**
 * The tenant's number of live users and a version of that set (`?`: the tenant), kept by triggers
 * (migrations user_counts, user_changes): O(1). The version grows whenever a user joins or leaves.
 */
export const LIVE_USERS =
  'select coalesce(sum(c.live), 0) as total, coalesce(sum(c.changes), 0) as version from user_counts c where c.tenant_id = ?';

/** A persisted property of a user (user.entity.ts), of a team (team.entity.ts). */
export type UserProperty = keyof typeof UserSchema.meta.properties & string;
export type TeamProperty = keyof typeof TeamSchema.meta.properties & string;

/**
 * Which of a user's properties a read needs (infra/orm/views.ts). A view of some properties suits only a
 * caller that reads no other: a GraphQL resolver whose query selects nothing else of those users
 * (graphql/projection.ts).
 */
export type UserProjection = Projection<UserProperty>;
export type TeamProjection = Projection<TeamProperty>;

/** What a page of users may bring along, read in the page's own statement (a GraphQL resolver's look-ahead). */
export interface UserPageWith {
  /** Each user's manager, with these of its properties. */
  manager?: UserProjection;
  /** Each user's team, with these of its properties. */
  team?: TeamProjection;
}

/** The managers and teams of a page's users, by id (a manager null: gone), when asked for. */
export interface UserPageRelated {
  managers: Map<string, User | null>;
  teams: Map<string, Team>;
}

/** Live users of the tenant matching the criteria, one Relay page; with their managers and teams if asked. */
export async function searchUsers(
  scope: TenantScope,
  criteria: UserCriteria,
  args: PageArgs,
  opts: { columns?: UserProjection; with?: UserPageWith } = {},
): Promise<Page<User> & { related: UserPageRelated }> {
  const where = ['u.tenant_id = ?', 'u.deleted_at is null'];
  const params: unknown[] = [scope.tenantId];
  if (criteria.active != null) {
    where.push('u.active = ?');
    params.push(criteria.active);
  }
  if (criteria.teamId) {
    where.push('u.team_id = ?');
    params.push(isUuid(criteria.teamId) ? criteria.teamId : NONE);
  }
  if (criteria.managerId) {
    where.push('u.manager_id = ?');
    params.push(isUuid(criteria.managerId) ? criteria.managerId : NONE);
  }
  if (criteria.roleId) {
    where.push('exists (select 1 from role_members m where m.tenant_id = u.tenant_id and m.user_id = u.id and m.role_id = ?)');
    params.push(isUuid(criteria.roleId) ? criteria.roleId : NONE);
  }
  if (criteria.search && criteria.search.trim()) {
    const pattern = `%${likeEscape(criteria.search.trim().toLowerCase())}%`;
    where.push(
      `(lower(u.user_name) like ? or lower(coalesce(u.display_name, '')) like ? or lower(concat_ws(' ', u.given_name, u.family_name)) like ? or exists (select 1 from jsonb_array_elements(u.emails) e where lower(e->>'value') like ?))`,
    );
    params.push(pattern, pattern, pattern, pattern);
  }
  const order = ORDER[criteria.orderBy ?? 'NAME'];
  const { manager, team } = opts.with ?? {};
  // The relations read along are joined by their ids.
  const columns: UserProjection =
    opts.columns === undefined || opts.columns === 'all'
      ? 'all'
      : [...opts.columns, 'tenantId', ...(manager ? (['managerId'] as const) : []), ...(team ? (['teamId'] as const) : [])];
  // Each row's manager and team (views are built from them), joined to the page's rows once it is cut.
  const m = manager ? joinedColumns(UserSchema, 'm', manager, '_m_') : undefined;
  const t = team ? joinedColumns(TeamSchema, 't', team, '_t_') : undefined;
  const joined =
    m || t
      ? {
          select: [...(m ? [m.select] : []), ...(t ? [t.select] : [])].join(', '),
          from: [
            ...(m ? ['left join users m on m.tenant_id = page.tenant_id and m.id = page.manager_id and m.deleted_at is null'] : []),
            ...(t ? ['left join teams t on t.tenant_id = page.tenant_id and t.id = page.team_id'] : []),
          ].join(' '),
        }
      : undefined;
  const page = await keysetPage<Record<string, unknown>>(
    scope.em,
    {
      select: projectedColumns('u', columns),
      joined,
      from: `from users u where ${where.join(' and ')}`,
      params,
      alias: 'u',
      sortExpr: order.expr,
      sortType: order.type,
      sortNotNull: true,
      descending: criteria.descending,
      // all live users: the kept count (migration user_counts) instead of counting them
      ...(where.length === 2 ? { total: { sql: `select k.total from (${LIVE_USERS}) k`, params: [scope.tenantId] } } : {}),
    },
    args,
  );
  // Users of a page share managers and teams: one view of each.
  const related: UserPageRelated = { managers: new Map(), teams: new Map() };
  for (const row of page.nodes) {
    const managerId = row.manager_id as string | null;
    if (m && managerId && !related.managers.has(managerId)) {
      const joinedManager = m.take(row);
      related.managers.set(managerId, joinedManager ? userView(joinedManager) : null);
    }
    const teamId = row.team_id as string | null;
    const joinedTeam = t && teamId && !related.teams.has(teamId) ? t.take(row) : null;
    if (teamId && joinedTeam) related.teams.set(teamId, teamView(joinedTeam));
  }
  return { ...page, nodes: page.nodes.map(userView), related };
}

/**
 * Live users by id, in the order asked, null where absent (DataLoader batch function). `views`: read-only
 * views (user.view.ts) for a request that writes nothing; otherwise the managed entities, so that a
 * mutation later in the same request changes the very objects the loader cached.
 */
export async function usersByIds(scope: TenantScope, ids: readonly string[], opts: { views?: boolean } = {}): Promise<Array<User | null>> {
  const valid = ids.filter(isUuid);
  const found =
    valid.length === 0
      ? []
      : opts.views
        ? await userViewsByIds(scope, valid)
        : await scope.em.find(User, { id: { $in: valid }, tenantId: scope.tenantId, deletedAt: null });
  const byId = new Map(found.map((u) => [u.id, u]));
  return ids.map((id) => byId.get(id) ?? null);
}

async function userViewsByIds(scope: TenantScope, ids: string[]): Promise<User[]> {
  const rows = await prepared<Record<string, unknown>>(
    scope.em,
    `select u.* from users u where u.tenant_id = ? and u.deleted_at is null and u.id in ${UUID_LIST}`,
    [scope.tenantId, jsonList(ids)],
  );
  return rows.map(userView);
}

/** Role ids per user (DataLoader batch function). */
export async function roleIdsByUserIds(scope: TenantScope, userIds: readonly string[]): Promise<string[][]> {
  const rows = await prepared<{ user_id: string; role_id: string }>(
    scope.em,
    `select user_id, role_id from role_members where tenant_id = ? and user_id in ${UUID_LIST} order by role_id`,
    [scope.tenantId, jsonList(userIds.filter(isUuid))],
  );
  const map = new Map<string, string[]>();
  for (const r of rows) map.set(r.user_id, [...(map.get(r.user_id) ?? []), r.role_id]);
  return userIds.map((id) => map.get(id) ?? []);
}
