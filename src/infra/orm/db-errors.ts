import { DomainError, ErrorCode } from '../../kernel/errors.js';

/**
 * Unique and foreign-key violations translated by constraint name (the database is the arbiter of
 * uniqueness under concurrency; a pre-check would race). Anything unknown is rethrown unchanged.
 */
const CONSTRAINTS: Record<string, { code: ErrorCode; message: string; field?: string; reason?: string }> = {
  users_user_name_key: {
    code: ErrorCode.CONFLICT,
    message: 'userName is already taken in this tenant',
    field: 'userName',
    reason: 'USER_NAME_TAKEN',
  },
  users_external_id_key: {
    code: ErrorCode.CONFLICT,
    message: 'externalId is already used by another user in this tenant',
    field: 'externalId',
    reason: 'EXTERNAL_ID_TAKEN',
  },
  users_pkey: { code: ErrorCode.CONFLICT, message: 'a user with this id already exists', field: 'id', reason: 'ID_TAKEN' },
  teams_name_key: { code: ErrorCode.CONFLICT, message: 'a team with this name already exists', field: 'name', reason: 'TEAM_NAME_TAKEN' },
  roles_display_name_key: {
    code: ErrorCode.CONFLICT,
    message: 'a role (group) with this displayName already exists',
    field: 'displayName',
    reason: 'ROLE_NAME_TAKEN',
  },
  roles_external_id_key: {
    code: ErrorCode.CONFLICT,
    message: 'a role (group) with this externalId already exists',
    field: 'externalId',
    reason: 'ROLE_EXTERNAL_ID_TAKEN',
  },
  tenants_slug_key: { code: ErrorCode.CONFLICT, message: 'a tenant with this slug already exists', field: 'slug', reason: 'SLUG_TAKEN' },
  custom_attributes_name_key: {
    code: ErrorCode.CONFLICT,
    message: 'a custom attribute with this name already exists',
    field: 'name',
    reason: 'ATTRIBUTE_NAME_TAKEN',
  },
  users_no_self_manager: {
    code: ErrorCode.MANAGER_CYCLE,
    message: 'a user cannot be their own manager',
    field: 'manager',
    reason: 'MANAGER_CYCLE',
  },
  role_members_user_id_fkey: {
    code: ErrorCode.NOT_FOUND,
    message: 'a member is not a user of this tenant',
    field: 'members',
    reason: 'MEMBER_NOT_FOUND',
  },
};

/** SQLSTATEs that mean the input itself was unacceptable to PostgreSQL (e.g. a NUL character in text). */
const INVALID_TEXT = new Set(['22021', '22P05', '54000']);

export function translateDbError(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } } | null;
  const sqlState = e?.code ?? e?.cause?.code;
  if (sqlState && INVALID_TEXT.has(sqlState)) {
    return new DomainError(ErrorCode.INVALID_INPUT, 'text values must be valid UTF-8 without NUL characters, within size limits', {
      reason: 'INVALID_TEXT',
    });
  }
  const constraint = e?.constraint ?? e?.cause?.constraint;
  if (constraint && CONSTRAINTS[constraint]) {
    const c = CONSTRAINTS[constraint];
    return new DomainError(c.code, c.message, { field: c.field, reason: c.reason });
  }
  return err;
}

/** Runs fn, translating known constraint violations into DomainErrors. */
export async function translatingDbErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDbError(err);
  }
}
