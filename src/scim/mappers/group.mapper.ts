import type { TenantScope } from '../../kernel/scope.js';
import { UUID_LIST, jsonList } from '../../infra/orm/sql.js';
import type { Role } from '../../modules/roles/role.entity.js';
import { CORE_GROUP } from '../schemas/urns.js';
import { etag } from './user.mapper.js';

export interface Member {
  value: string;
  display: string;
}

/** Members of a page of groups in one statement (only called when members are to be returned). */
export async function loadMembers(scope: TenantScope, roleIds: string[]): Promise<Map<string, Member[]>> {
  const out = new Map<string, Member[]>();
  if (roleIds.length === 0) return out;
  const rows = await scope.em.execute<Array<{ role_id: string; id: string; display: string }>>(
    `select m.role_id, u.id, coalesce(u.display_name, u.user_name) as display
       from role_members m join users u on u.id = m.user_id and u.tenant_id = m.tenant_id
      where m.tenant_id = ? and m.role_id in ${UUID_LIST} and u.deleted_at is null
      order by m.role_id, u.id`,
    [scope.tenantId, jsonList(roleIds)],
  );
  for (const r of rows) {
    let list = out.get(r.role_id);
    if (!list) out.set(r.role_id, (list = []));
    list.push({ value: r.id, display: r.display });
  }
  return out;
}

/** A role as a SCIM Group (RFC 7643 §4.2). `members` undefined means not loaded (excluded by the request). */
export function toScimGroup(role: Role, members: Member[] | undefined, baseUrl: string): Record<string, unknown> {
  const out: Record<string, unknown> = { schemas: [CORE_GROUP], id: role.id };
  if (role.externalId) out.externalId = role.externalId;
  out.displayName = role.displayName;
  if (members)
    out.members = members.map((m) => ({ value: m.value, display: m.display, $ref: `${baseUrl}/Users/${m.value}`, type: 'User' }));
  out.meta = {
    resourceType: 'Group',
    created: role.createdAt.toISOString(),
    lastModified: role.updatedAt.toISOString(),
    location: `${baseUrl}/Groups/${role.id}`,
    version: etag(role.version),
  };
  return out;
}
