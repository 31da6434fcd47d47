import type { EntityManager } from '@mikro-orm/postgresql';
import { prepared } from '../../infra/orm/sql.js';
import { joinedColumns, type Projection } from '../../infra/orm/views.js';
import { UserSchema } from '../users/user.entity.js';

/**
 * Reporting-line queries in SQL. Recursive CTEs are outside the reach of ORM filters, so every anchor
 * AND every recursive member names tenant_id explicitly (row-level security would hide other tenants'
 * rows anyway; this keeps the planner on the (tenant_id, manager_id) index). Deleted users are not
 * part of the org: they are never anchors or members.
 */

/** The chain of managers above a user, nearest first, cycle-guarded and capped. */
export async function managerChain(
  em: EntityManager,
  tenantId: string,
  userId: string,
  maxDepth = 1000,
): Promise<Array<{ id: string; depth: number }>> {
  return em.execute(
    `with recursive chain(id, manager_id, depth, path) as (
       select m.id, m.manager_id, 1, array[u.id, m.id]
         from users u join users m on m.id = u.manager_id and m.tenant_id = u.tenant_id
        where u.tenant_id = ? and u.id = ? and m.deleted_at is null
       union all
       select m.id, m.manager_id, c.depth + 1, c.path || m.id
         from chain c join users m on m.id = c.manager_id
        where m.tenant_id = ? and m.deleted_at is null and c.depth < ? and not m.id = any(c.path))
     select id, depth from chain order by depth`,
    [tenantId, userId, tenantId, maxDepth],
  );
}

/** True when walking up from `userId`'s manager leads back to `userId` (call after changing manager links). */
export async function hasManagerCycle(em: EntityManager, tenantId: string, userId: string): Promise<boolean> {
  const rows = await em.execute<Array<{ cycle: boolean }>>(
    `with recursive up(id, depth) as (
       select manager_id, 1 from users where tenant_id = ? and id = ? and manager_id is not null
       union all
       select u.manager_id, up.depth + 1 from users u join up on u.id = up.id
        where u.tenant_id = ? and u.manager_id is not null and up.id <> ? and up.depth < 10000)
     select exists (select 1 from up where id = ?) as cycle`,
    [tenantId, userId, tenantId, userId, userId],
  );
  return rows[0]?.cycle ?? false;
}

export interface SubtreePage {
  /** With each person's row as JSON when asked for (`users`), keyed by column as `select u.*` names them. */
  rows: Array<{ id: string; depth: number; user?: Record<string, unknown> | null }>;
  totalCount: number;
}

/**
 * Everyone below a manager with their depth (1 = direct reports), ordered by (depth, id), one page by
 * keyset after (depth, id). totalCount is computed in the same statement, and so are the page's people,
 * in the columns `users` asks for (a GraphQL query's look-ahead), when it asks.
 */
export async function subtreePage(
  em: EntityManager,
  tenantId: string,
  managerId: string,
  opts: { maxDepth: number; limit: number; after?: { depth: number; id: string }; includeInactive: boolean; users?: Projection },
): Promise<SubtreePage> {
  const params: unknown[] = [tenantId, managerId, tenantId, opts.maxDepth];
  let afterSql = '';
  if (opts.after) {
    afterSql = 'where (depth, id) > (?, ?::uuid)';
    params.push(opts.after.depth, opts.after.id);
  }
  const user = opts.users ? joinedColumns(UserSchema, 'u', opts.users, '_u_') : undefined;
  if (user) params.push(tenantId);
  const activeSql = opts.includeInactive ? '' : 'and u.active';
  // Everyone below the manager (params: tenant, manager, tenant, max depth), for the page and for a lone count.
  const sub = `with recursive sub(id, depth) as (
       select u.id, 1 from users u where u.tenant_id = ? and u.manager_id = ? and u.deleted_at is null ${activeSql}
       union all
       select u.id, s.depth + 1 from users u join sub s on u.manager_id = s.id
        where u.tenant_id = ? and u.deleted_at is null ${activeSql} and s.depth < ?)`;
  // The page size is in the text, not a parameter (see fetchListPage in scim/handlers/common.ts).
  const rows = await prepared<{ id: string; depth: number; total: string } & Record<string, unknown>>(
    em,
    `${sub},
     counted as (select id, depth, count(*) over () as total from sub),
     page as (select id, depth, total from counted ${afterSql} order by depth, id limit ${Math.trunc(opts.limit)})
     select page.id, page.depth, page.total${user ? `, ${user.select}` : ''} from page
       ${user ? 'left join users u on u.tenant_id = ? and u.id = page.id' : ''}
      order by page.depth, page.id`,
    params,
  );
  let totalCount = rows.length > 0 ? Number(rows[0].total) : 0;
  if (rows.length === 0 && opts.after) {
    const c = await em.execute<Array<{ total: string }>>(`${sub} select count(*) as total from sub`, [
      tenantId,
      managerId,
      tenantId,
      opts.maxDepth,
    ]);
    totalCount = Number(c[0].total);
  }
  return {
    rows: rows.map((r) => ({ id: r.id, depth: Number(r.depth), ...(user ? { user: user.take(r) } : {}) })),
    totalCount,
  };
}
