import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { isUuid } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { Role } from '../roles/role.entity.js';
import { changeMembers, ensureRoleByName, requireRole } from '../roles/role.service.js';
import type { CreateUserCommand, UpdateUserCommand } from '../users/user.commands.js';
import { User } from '../users/user.entity.js';
import { createUser, updateUser } from '../users/user.service.js';
import { BulkLine, MatchBy, UserSelector, type LineResult, type Outcome } from './bulk.commands.js';

/**
 * The operations behind bulk lines and synchronous batches. Each is one ordinary domain operation
 * (createUser, updateUser, changeMembers), so validation, invariants and audit are exactly those of the
 * single mutations; what is added is matching (find the user the line means) and reporting whether
 * anything changed.
 */

async function findByExternalId(scope: TenantScope, externalId: string): Promise<User | null> {
  return scope.em.findOne(User, { tenantId: scope.tenantId, externalId, deletedAt: null });
}

async function findByUserName(scope: TenantScope, userName: string): Promise<User | null> {
  const rows = await scope.em.execute<Array<{ id: string }>>(
    `select id from users where tenant_id = ? and user_name_lower = lower(?) and deleted_at is null limit 1`,
    [scope.tenantId, userName.trim()],
  );
  return rows[0] ? scope.em.findOne(User, { id: rows[0].id, tenantId: scope.tenantId }) : null;
}

/** The live user a selector names; NOT_FOUND (field `field`) when there is none. */
export async function resolveUser(scope: TenantScope, selector: UserSelector, field = 'user'): Promise<User> {
  const sel = parseInput(UserSelector, selector);
  let user: User | null = null;
  if (sel.id !== undefined)
    user = isUuid(sel.id) ? await scope.em.findOne(User, { id: sel.id, tenantId: scope.tenantId, deletedAt: null }) : null;
  else if (sel.externalId !== undefined) user = await findByExternalId(scope, sel.externalId);
  else if (sel.userName !== undefined) user = await findByUserName(scope, sel.userName);
  if (!user)
    throw new DomainError(ErrorCode.NOT_FOUND, `${field}: no such user (${JSON.stringify(sel)})`, { field, reason: 'USER_NOT_FOUND' });
  return user;
}

/** Runs an update and reports whether it changed the user (updateUser writes nothing when nothing differs). */
async function updateTracked(scope: TenantScope, user: User, cmd: UpdateUserCommand): Promise<{ user: User; outcome: Outcome }> {
  const before = user.version;
  const updated = await updateUser(scope, user.id, cmd);
  return { user: updated, outcome: updated.version !== before ? 'updated' : 'unchanged' };
}

/**
 * Creates the user, or updates the one that matches (by externalId or userName). Idempotent: running the
 * same upsert again finds the user, changes nothing, bumps no version and writes no audit entry.
 */
export async function upsertUser(
  scope: TenantScope,
  input: CreateUserCommand,
  matchBy: MatchBy,
): Promise<{ user: User; outcome: Outcome }> {
  const by = parseInput(MatchBy, matchBy);
  let existing: User | null;
  if (by === 'externalId') {
    const externalId = typeof input.externalId === 'string' ? input.externalId.trim() : '';
    if (!externalId) throw new DomainError(ErrorCode.INVALID_INPUT, 'externalId: required to match by externalId', { field: 'externalId' });
    existing = await findByExternalId(scope, externalId);
  } else {
    if (typeof input.userName !== 'string' || !input.userName.trim())
      throw new DomainError(ErrorCode.INVALID_INPUT, 'userName: must not be empty', { field: 'userName' });
    existing = await findByUserName(scope, input.userName);
  }
  if (!existing) return { user: await createUser(scope, input), outcome: 'created' };
  const { id: _ignored, ...update } = input;
  return updateTracked(scope, existing, update);
}

/** Assigns (or removes) one role to a set of users; `changed` counts the assignments added (removed). */
export async function changeRoleOfUsers(
  scope: TenantScope,
  roleId: string,
  userIds: string[],
  kind: 'assign' | 'unassign',
): Promise<{ role: Role; changed: number }> {
  const role = await requireRole(scope, roleId, 'roleId');
  const r = await changeMembers(scope, role, kind === 'assign' ? { add: userIds } : { remove: userIds });
  return { role, changed: kind === 'assign' ? r.added : r.removed };
}

/** The manager reference the domain understands (id or externalId); a userName must resolve now. */
async function managerRefOf(scope: TenantScope, sel: UserSelector | null): Promise<string | null> {
  if (sel === null) return null;
  if (sel.userName !== undefined) return (await resolveUser(scope, sel, 'manager')).id;
  return (sel.id ?? sel.externalId) as string;
}

async function roleFor(scope: TenantScope, sel: { id?: string; displayName?: string }, create: boolean): Promise<string> {
  if (sel.id !== undefined) return (await requireRole(scope, sel.id, 'role')).id;
  const name = sel.displayName as string;
  if (create) return ensureRoleByName(scope, name);
  const found = await scope.em.execute<Array<{ id: string }>>(
    `select id from roles where tenant_id = ? and lower(display_name) = lower(?)`,
    [scope.tenantId, name.trim()],
  );
  if (!found[0]) throw notFound('role', 'role');
  return found[0].id;
}

/**
 * Parses one JSON line and applies it. Throws DomainError for anything wrong with the line (bad JSON, an
 * unknown op, invalid fields, a missing user, a business rule): the caller records it against the line.
 */
export async function applyLine(scope: TenantScope, text: string): Promise<LineResult> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DomainError(ErrorCode.INVALID_INPUT, 'the line is not valid JSON', { reason: 'INVALID_JSON' });
  }
  const line = parseInput(BulkLine, json);
  switch (line.op) {
    case 'upsertUser': {
      const { customAttributes, ...fields } = line.user as Record<string, unknown>;
      const cmd = { ...fields, ...(customAttributes !== undefined ? { custom: customAttributes } : {}) } as CreateUserCommand;
      const matchBy = line.matchBy ?? (typeof cmd.externalId === 'string' && cmd.externalId.trim() ? 'externalId' : 'userName');
      const { user, outcome } = await upsertUser(scope, cmd, matchBy);
      return { outcome, userId: user.id };
    }
    case 'deactivateUser': {
      const user = await resolveUser(scope, line.user);
      const r = await updateTracked(scope, user, { active: false });
      return { outcome: r.outcome, userId: user.id };
    }
    case 'setManager': {
      const user = await resolveUser(scope, line.user);
      const r = await updateTracked(scope, user, { manager: await managerRefOf(scope, line.manager) });
      return { outcome: r.outcome, userId: user.id };
    }
    case 'moveTeam': {
      const user = await resolveUser(scope, line.user);
      const cmd: UpdateUserCommand =
        line.team === null ? { teamId: null } : line.team.id !== undefined ? { teamId: line.team.id } : { department: line.team.name };
      const r = await updateTracked(scope, user, cmd);
      return { outcome: r.outcome, userId: user.id };
    }
    case 'assignRole':
    case 'unassignRole': {
      const user = await resolveUser(scope, line.user);
      const roleId = await roleFor(scope, line.role, line.op === 'assignRole');
      const { changed } = await changeRoleOfUsers(scope, roleId, [user.id], line.op === 'assignRole' ? 'assign' : 'unassign');
      return { outcome: changed > 0 ? 'updated' : 'unchanged', userId: user.id, roleId };
    }
  }
}
