import { z } from 'zod';
import { TOUCHED_AT, UUID_ARRAY, UUID_LIST, jsonList, prepared } from '../../infra/orm/sql.js';
import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { translatingDbErrors } from '../../infra/orm/db-errors.js';
import { findOrCreateByName } from '../../infra/orm/find-or-create.js';
import { diff, recordAudit } from '../audit/audit.service.js';
import { Role } from './role.entity.js';

/** The most user ids one membership change may name (a SCIM PATCH, a GraphQL call). */
export const MAX_MEMBER_CHANGE = 10_000;

const RoleFields = z.object({
  displayName: z.string().trim().min(1).max(256),
  externalId: z
    .string()
    .max(256)
    .transform((v) => (v.trim() === '' ? null : v))
    .nullish(),
  description: z.string().max(2000).nullish(),
});
const CreateRoleInput = RoleFields.extend({ id: z.uuid().optional() });
const UpdateRoleInput = RoleFields.partial();
const MemberIds = z.array(z.string()).max(MAX_MEMBER_CHANGE);

export async function getRole(scope: TenantScope, id: string): Promise<Role | null> {
  if (!isUuid(id)) return null;
  return scope.em.findOne(Role, { id, tenantId: scope.tenantId });
}

export async function requireRole(scope: TenantScope, id: string, field = 'id'): Promise<Role> {
  const role = await getRole(scope, id);
  if (!role) throw notFound('role', field);
  return role;
}

/**
 * The role, locked until the transaction ends (FOR NO KEY UPDATE) and merged into the unit of work fresh: a
 * write of its own fields checks the version it read, and member changes from either side move that version
 * (changeMembers, touchRoles). Read unlocked, a change committed in between failed the write
 * (races.int.test.ts); locked, the write waits for it and lands.
 */
async function requireRoleForUpdate(scope: TenantScope, id: string): Promise<Role> {
  if (!isUuid(id)) throw notFound('role', 'id');
  const [row] = await prepared<Record<string, unknown>>(
    scope.em,
    `select * from roles where tenant_id = ? and id = ?::uuid for no key update`,
    [scope.tenantId, id],
  );
  if (!row) throw notFound('role', 'id');
  return scope.em.map(Role, row);
}

export async function createRole(scope: TenantScope, input: z.input<typeof CreateRoleInput>, memberIds: string[] = []): Promise<Role> {
  const cmd = parseInput(CreateRoleInput, input);
  const now = new Date();
  const role = scope.em.create(Role, {
    id: cmd.id ?? uuidv7(),
    tenantId: scope.tenantId,
    displayName: cmd.displayName,
    externalId: cmd.externalId ?? null,
    description: cmd.description ?? null,
    createdAt: now,
    updatedAt: now,
  });
  await recordAudit(scope, {
    action: 'role.created',
    targetType: 'role',
    targetId: role.id,
    changes: diff({}, { displayName: role.displayName, externalId: role.externalId, description: role.description }, [
      'displayName',
      'externalId',
      'description',
    ]),
  });
  await translatingDbErrors(() => scope.em.flush());
  if (memberIds.length > 0) await changeMembers(scope, role, { add: memberIds });
  return role;
}

export async function updateRole(
  scope: TenantScope,
  id: string,
  input: z.input<typeof UpdateRoleInput>,
  opts: { expectedVersion?: number } = {},
): Promise<Role> {
  const cmd = parseInput(UpdateRoleInput, input);
  const read = await requireRole(scope, id);
  assertVersion(read, opts.expectedVersion);
  const fields = ['displayName', 'externalId', 'description'] as const;
  // Okta re-sends a group's name with its member changes: a write that changes nothing takes no lock.
  if (fields.every((f) => cmd[f] === undefined || cmd[f] === read[f])) return read;
  const role = await requireRoleForUpdate(scope, id);
  assertVersion(role, opts.expectedVersion);
  const before = { displayName: role.displayName, externalId: role.externalId, description: role.description };
  if (cmd.displayName !== undefined) role.displayName = cmd.displayName;
  if (cmd.externalId !== undefined) role.externalId = cmd.externalId;
  if (cmd.description !== undefined) role.description = cmd.description;
  const changes = diff(before, role, [...fields]);
  if (Object.keys(changes).length > 0) {
    await recordAudit(scope, { action: 'role.updated', targetType: 'role', targetId: role.id, changes });
    await translatingDbErrors(() => scope.em.flush());
  }
  return role;
}

function assertVersion(role: Role, expected?: number) {
  if (expected !== undefined && expected !== role.version) {
    throw new DomainError(ErrorCode.PRECONDITION_FAILED, `the role has changed (version ${role.version}, expected ${expected})`, {
      reason: 'VERSION_MISMATCH',
    });
  }
}

/** Deletes a role and its assignments; the users stay. */
export async function deleteRole(scope: TenantScope, id: string, opts: { expectedVersion?: number } = {}): Promise<void> {
  const role = await requireRoleForUpdate(scope, id);
  assertVersion(role, opts.expectedVersion);
  await recordAudit(scope, {
    action: 'role.deleted',
    targetType: 'role',
    targetId: role.id,
    changes: { displayName: { before: role.displayName, after: null } },
  });
  await scope.em.execute(`delete from role_members where tenant_id = ? and role_id = ?`, [scope.tenantId, role.id]);
  scope.em.remove(role);
  await scope.em.flush();
}

export interface MemberChange {
  add?: string[];
  remove?: string[];
  /** Replace the whole membership with exactly these users. */
  replace?: string[];
  removeAll?: boolean;
}

/**
 * Applies membership deltas in SQL: the member list is never loaded, so a change costs the same for a
 * role of 5 members and of 50,000. Unknown (or other tenants', or deleted) user ids are refused with
 * NOT_FOUND naming them, before anything changes; adding a member twice or removing a non-member is a
 * no-op (IdPs retry). Several changes (a PATCH's operations) apply in order, each with its audit entry.
 *
 * The role's version (its ETag) moves once, last: its row lock serialises concurrent changes of one group (an
 * IdP pushing a big group at C = 8), so it is held for the commit only, not through the audit and outbox
 * writes. Nor through a later change's insert: that may wait for a user's own role change of the same member,
 * which then waits for this row to move the version too (touchRoles), a deadlock (races.int.test.ts).
 */
export async function changeMembers(
  scope: TenantScope,
  role: Role,
  ...changes: MemberChange[]
): Promise<{ added: number; removed: number }> {
  let added = 0;
  let removed = 0;
  for (const change of changes) {
    const done = await applyMemberChange(scope, role, change);
    added += done.added;
    removed += done.removed;
  }
  // touchRoles refreshes `role` in the unit of work from the update's own row (no read after it)
  if (added + removed > 0) await touchRoles(scope, [role.id]);
  return { added, removed };
}

/** The most user ids one membership audit entry lists on each side; past it the list is cut and says so. */
const MAX_AUDITED_MEMBERS = 1_000;

/**
 * A membership change as its audit entry (and webhook event) records it: the counts, and who left (before)
 * and who joined (after), so that an access review can tell when someone gained or lost a role. A change of
 * more (a whole group replaced) lists the first MAX_AUDITED_MEMBERS, with `userIdsTruncated`: the entry, its
 * outbox row and every delivery stay small.
 */
function membersChanged(added: readonly string[], removed: readonly string[]) {
  const side = (ids: readonly string[]) => ({
    userIds: ids.slice(0, MAX_AUDITED_MEMBERS),
    ...(ids.length > MAX_AUDITED_MEMBERS ? { userIdsTruncated: true } : {}),
  });
  return { members: { before: { removed: removed.length, ...side(removed) }, after: { added: added.length, ...side(added) } } };
}

async function applyMemberChange(scope: TenantScope, role: Role, change: MemberChange): Promise<{ added: number; removed: number }> {
  const add = parseInput(MemberIds, change.add ?? []);
  const remove = parseInput(MemberIds, change.remove ?? []);
  const replace = change.replace === undefined ? undefined : parseInput(MemberIds, change.replace);
  await assertUsersExist(scope, [...add, ...(replace ?? [])]);
  const added: string[] = [];
  const removed: string[] = [];
  const em = scope.em;
  if (change.removeAll || replace) {
    const keep = replace ?? [];
    const res = await em.execute<Array<{ user_id: string }>>(
      `delete from role_members where tenant_id = ? and role_id = ? and user_id not in ${UUID_LIST} returning user_id`,
      [scope.tenantId, role.id, jsonList(keep)],
    );
    removed.push(...res.map((r) => r.user_id));
  }
  const toAdd = [...add, ...(replace ?? [])];
  if (toAdd.length > 0) {
    const res = await em.execute<Array<{ user_id: string }>>(
      `insert into role_members (tenant_id, role_id, user_id)
       select ?, ?, u.id from users u where u.tenant_id = ? and u.id in ${UUID_LIST} and u.deleted_at is null
       on conflict do nothing returning user_id`,
      [scope.tenantId, role.id, scope.tenantId, jsonList([...new Set(toAdd)])],
    );
    added.push(...res.map((r) => r.user_id));
  }
  const validRemove = remove.filter(isUuid);
  if (validRemove.length > 0) {
    const res = await em.execute<Array<{ user_id: string }>>(
      `delete from role_members where tenant_id = ? and role_id = ? and user_id = any(${UUID_ARRAY}) returning user_id`,
      [scope.tenantId, role.id, jsonList(validRemove)],
    );
    removed.push(...res.map((r) => r.user_id));
  }
  if (added.length + removed.length > 0)
    await recordAudit(scope, {
      action: 'role.members_changed',
      targetType: 'role',
      targetId: role.id,
      changes: membersChanged(added, removed),
    });
  return { added: added.length, removed: removed.length };
}

async function assertUsersExist(scope: TenantScope, ids: string[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  const malformed: string[] = unique.filter((id) => !isUuid(id));
  let missing: string[] = malformed;
  const valid = unique.filter(isUuid);
  if (valid.length > 0) {
    const rows = await scope.em.execute<Array<{ id: string }>>(
      `select x.id from (select jsonb_array_elements_text(?::jsonb)::uuid as id) as x
        where not exists (select 1 from users u where u.tenant_id = ? and u.id = x.id and u.deleted_at is null)`,
      [jsonList(valid), scope.tenantId],
    );
    missing = missing.concat(rows.map((r) => r.id));
  }
  if (missing.length > 0) {
    const groups = await scope.em.execute<Array<{ id: string }>>(`select id from roles where tenant_id = ? and id in ${UUID_LIST}`, [
      scope.tenantId,
      jsonList(missing.filter(isUuid)),
    ]);
    if (groups.length > 0) {
      throw new DomainError(
        ErrorCode.INVALID_INPUT,
        `nested groups are not supported: members must be users (${groups[0].id} is a group)`,
        { field: 'members', reason: 'NESTED_GROUP' },
      );
    }
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    throw new DomainError(ErrorCode.NOT_FOUND, `no such user in this tenant: ${shown}`, { field: 'members', reason: 'MEMBER_NOT_FOUND' });
  }
}

/** Assign one role to many users, or remove it (GraphQL convenience over changeMembers). */
export async function assignRole(scope: TenantScope, roleId: string, userIds: string[]): Promise<{ added: number }> {
  const role = await requireRole(scope, roleId, 'roleId');
  const { added } = await changeMembers(scope, role, { add: userIds });
  return { added };
}

export async function unassignRole(scope: TenantScope, roleId: string, userIds: string[]): Promise<{ removed: number }> {
  const role = await requireRole(scope, roleId, 'roleId');
  const { removed } = await changeMembers(scope, role, { remove: userIds });
  return { removed };
}

/**
 * The role a name designates (SCIM user `roles` values, e.g. Entra app roles), created when new; names
 * match case-insensitively and the insert is race-free.
 */
export async function ensureRoleByName(scope: TenantScope, rawName: string): Promise<string> {
  const displayName = parseInput(RoleFields.shape.displayName, rawName);
  const row = await findOrCreateByName(scope.em, 'roles', scope.tenantId, displayName);
  if (row.created)
    await recordAudit(scope, {
      action: 'role.created',
      targetType: 'role',
      targetId: row.id,
      changes: { displayName: { before: null, after: displayName } },
    });
  return row.id;
}

/**
 * Moves the version (the SCIM ETag) and lastModified of roles whose members changed (changeMembers, or from the
 * user's side), or whose members' names did: a group's representation lists its members by name. The rows are locked in id
 * order (two writes touching the same roles cannot deadlock), and roles already loaded in the unit of work are
 * refreshed, as changeMembers refreshes its own.
 */
export async function touchRoles(scope: TenantScope, roleIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(roleIds)];
  if (ids.length > 0) await touch(scope, `id in ${UUID_LIST}`, [jsonList(ids)]);
}

/** The same for every role the user is a member of (its name, which they show, changed). */
export const touchRolesOfMember = (scope: TenantScope, userId: string): Promise<void> =>
  touch(scope, 'id in (select m.role_id from role_members m where m.tenant_id = roles.tenant_id and m.user_id = ?)', [userId]);

async function touch(scope: TenantScope, which: string, params: unknown[]): Promise<void> {
  const rows = await scope.em.execute<Record<string, unknown>[]>(
    `with locked as (select id from roles where tenant_id = ? and ${which} order by id for no key update)
     update roles r set version = r.version + 1, updated_at = ${TOUCHED_AT} from locked
      where r.tenant_id = ? and r.id = locked.id returning r.*`,
    [scope.tenantId, ...params, scope.tenantId],
  );
  for (const row of rows) scope.em.map(Role, row);
}

/**
 * Gives a user the named roles (creating unknown ones); with `replace`, also takes away every role not
 * named (Entra's AssertiveAppRoleAssignmentsComplex). Returns the number of assignments changed.
 */
export async function setRolesOfUser(scope: TenantScope, userId: string, names: string[], opts: { replace: boolean }): Promise<number> {
  const ids = [];
  for (const name of [...new Set(names.map((n) => n.trim()).filter(Boolean))]) ids.push(await ensureRoleByName(scope, name));
  const touched: string[] = [];
  if (opts.replace) {
    const removed = await scope.em.execute<Array<{ role_id: string }>>(
      `delete from role_members where tenant_id = ? and user_id = ? and role_id not in ${UUID_LIST} returning role_id`,
      [scope.tenantId, userId, jsonList(ids)],
    );
    for (const r of removed)
      await recordAudit(scope, {
        action: 'role.members_changed',
        targetType: 'role',
        targetId: r.role_id,
        changes: membersChanged([], [userId]),
      });
    touched.push(...removed.map((r) => r.role_id));
  }
  if (ids.length > 0) {
    const added = await scope.em.execute<Array<{ role_id: string }>>(
      `insert into role_members (tenant_id, role_id, user_id) select ?, r.id, ? from roles r
        where r.tenant_id = ? and r.id in ${UUID_LIST} on conflict do nothing returning role_id`,
      [scope.tenantId, userId, scope.tenantId, jsonList(ids)],
    );
    for (const r of added)
      await recordAudit(scope, {
        action: 'role.members_changed',
        targetType: 'role',
        targetId: r.role_id,
        changes: membersChanged([userId], []),
      });
    touched.push(...added.map((r) => r.role_id));
  }
  await touchRoles(scope, touched);
  return touched.length;
}
