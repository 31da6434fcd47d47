import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { TEXT_LIST, TOUCHED_AT, deferredWrite, jsonList, prepared } from '../../infra/orm/sql.js';
import { displayNameSql } from './user.queries.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { translatingDbErrors } from '../../infra/orm/db-errors.js';
import { projectedColumns } from '../../infra/orm/views.js';
import { diff, recordAudit } from '../audit/audit.service.js';
import { listCustomAttributes, normaliseCustomValues } from '../custom-attributes/custom-attribute.service.js';
import { hasManagerCycle } from '../org/org.repository.js';
import { touchRoles, touchRolesOfMember } from '../roles/role.service.js';
import { ensureTeamByName, requireTeam } from '../teams/team.service.js';
import { CreateUserCommand, UpdateUserCommand, type UpdateOptions } from './user.commands.js';
import { User, UserSchema, type EmailValue } from './user.entity.js';

/** The fields an audit entry compares. */
const AUDITED: Array<keyof User> = [
  'userName',
  'externalId',
  'givenName',
  'familyName',
  'middleName',
  'formattedName',
  'honorificPrefix',
  'honorificSuffix',
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'active',
  'emails',
  'phoneNumbers',
  'addresses',
  'employeeNumber',
  'costCenter',
  'organization',
  'division',
  'teamId',
  'managerId',
  'managerRef',
  'custom',
];
const SIMPLE = [
  'userName',
  'externalId',
  'givenName',
  'familyName',
  'middleName',
  'formattedName',
  'honorificPrefix',
  'honorificSuffix',
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'employeeNumber',
  'costCenter',
  'organization',
  'division',
  'phoneNumbers',
  'addresses',
] as const;

function snapshot(u: User): Partial<User> {
  const out: Partial<User> = {};
  for (const k of AUDITED)
    (out as Record<string, unknown>)[k as string] = structuredClone((u as unknown as Record<string, unknown>)[k as string]);
  return out;
}

/** A live (not deleted) user of the scope's tenant, or null. Malformed ids are simply not found. */
export async function getUser(scope: TenantScope, id: string): Promise<User | null> {
  if (!isUuid(id)) return null;
  return scope.em.findOne(User, { id, tenantId: scope.tenantId, deletedAt: null });
}

export async function requireUser(scope: TenantScope, id: string, field = 'id'): Promise<User> {
  const user = await getUser(scope, id);
  if (!user) throw notFound('user', field);
  return user;
}

/** Lower-cases, de-duplicates, and keeps at most one primary (RFC 7643 §2.4). */
function normaliseEmails(
  emails: Array<{ value: string; type?: string | null; primary?: boolean | null; display?: string | null }>,
): EmailValue[] {
  const seen = new Set<string>();
  const out: EmailValue[] = [];
  let primarySeen = false;
  for (const e of emails) {
    const key = `${e.type ?? ''}\u0000${e.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const v: EmailValue = { value: e.value };
    if (e.type) v.type = e.type;
    if (e.display) v.display = e.display;
    if (e.primary && !primarySeen) {
      v.primary = true;
      primarySeen = true;
    }
    out.push(v);
  }
  return out;
}

/**
 * Phone numbers and addresses as stored: unassigned sub-attributes (null or "") left out rather than kept
 * as nulls, and `primary` only where true and on one element at most (RFC 7643 §2.4, §2.5), as for emails.
 */
function normaliseComplexList<T>(items: ReadonlyArray<Record<string, unknown>>): T[] {
  let primarySeen = false;
  return items.map((item) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(item)) {
      if (k === 'primary') {
        if (v === true && !primarySeen) out.primary = primarySeen = true;
      } else if (v !== null && v !== undefined && v !== '') out[k] = v;
    }
    return out as T;
  });
}

type ManagerRead = { id: string; name: string } | null;

/**
 * The live user a manager reference names, by Roster id or externalId (an id match wins): a scalar
 * sub-select answering `{ id, name }` (its display name) as JSON, or null.
 */
function managerRefLookup(scope: TenantScope, ref: string): { sql: string; params: unknown[] } {
  const row = `json_build_object('id', u.id, 'name', ${displayNameSql('u')})`;
  return isUuid(ref)
    ? {
        sql: `select ${row} from users u where u.tenant_id = ? and u.deleted_at is null and (u.id = ?::uuid or u.external_id = ?) order by (u.id = ?::uuid) desc limit 1`,
        params: [scope.tenantId, ref, ref, ref],
      }
    : {
        sql: `select ${row} from users u where u.tenant_id = ? and u.deleted_at is null and u.external_id = ? limit 1`,
        params: [scope.tenantId, ref],
      };
}

/** Finds a live user by Roster id or externalId (an id match wins): its id and display name. */
async function resolveManagerRef(scope: TenantScope, ref: string): Promise<ManagerRead> {
  const lookup = managerRefLookup(scope, ref);
  const rows = await prepared<{ manager: ManagerRead }>(scope.em, `select (${lookup.sql}) as manager`, lookup.params);
  return rows[0]?.manager ?? null;
}

/** The same, its values inlined (a simple-protocol statement: a write owed travels in its message). */
async function resolveManagerRefInline(scope: TenantScope, ref: string): Promise<ManagerRead> {
  const lookup = managerRefLookup(scope, ref);
  const rows = await scope.em.execute<Array<{ manager: ManagerRead }>>(`select (${lookup.sql}) as manager`, lookup.params);
  return rows[0]?.manager ?? null;
}

/**
 * The names a create read anyway (its team's, by the department upsert or the team lookup; its manager's, by
 * the manager lookup), so that the new user's representation needs no read of its relations.
 */
export interface NamesRead {
  teamName?: string;
  managerName?: string;
}

const ORG_LOCK = `pg_advisory_xact_lock(hashtextextended('roster.org:' || ?::text, 0))`;

/** Serialises reporting-line changes within a tenant, so two concurrent changes cannot each pass the cycle check. */
async function lockOrg(scope: TenantScope): Promise<void> {
  await prepared(scope.em, `select ${ORG_LOCK}`, [scope.tenantId]);
}

/**
 * A pending manager reference and the arrival of the user it names, serialised. A report created while its
 * manager's create is in flight cannot see the manager's uncommitted row, and the manager's backfill cannot
 * see the report's: both would commit and the link would be lost. So:
 * - a user's arrival (a create; an externalId set) takes a shared lock on its keys' buckets before its
 *   backfill reads: arrivals do not wait for each other;
 * - whatever leaves a reference pending (a create or a change naming a manager not found; a deletion, which
 *   leaves its reports pending on its externalId) takes the exclusive lock of the reference's bucket and then
 *   looks (again).
 * Whichever comes second waits for the first to commit, and its next statement sees it. A key is the
 * reference (an externalId, or an id a client chose), in one of REF_BUCKETS buckets per tenant, which bounds
 * the locks one transaction holds (a SCIM Bulk of 1,000 creates); two references sharing a bucket only wait
 * for each other when one of them is pending. The locks of one statement are taken in key order, and the
 * org lock always after them: every path takes them in that order.
 */
const REF_BUCKETS = 256;
interface RefLock {
  ref: string;
  exclusive: boolean;
}
const REF_LOCKS = `select count(case when l.exclusive then pg_advisory_xact_lock(l.key) else pg_advisory_xact_lock_shared(l.key) end) as n
   from (select hashtextextended('roster.manager-ref:' || ?::text || ':' || (hashtext(x.ref) & ${REF_BUCKETS - 1})::text, 0) as key,
                bool_or(x.exclusive) as exclusive
           from jsonb_to_recordset(?::jsonb) as x(ref text, exclusive boolean) group by 1 order by 1) l`;

const refLocks = (locks: RefLock[]) => jsonList(locks.filter((l) => l.ref));

/** The bucket locks, then the org lock: one statement (a manager change, an externalId change, a deletion). */
async function lockRefsThenOrg(scope: TenantScope, locks: RefLock[]): Promise<void> {
  if (!locks.some((l) => l.ref)) return lockOrg(scope);
  await prepared(scope.em, `with l as materialized (${REF_LOCKS}) select ${ORG_LOCK} from l`, [
    scope.tenantId,
    refLocks(locks),
    scope.tenantId,
  ]);
}

/** A create's own keys as an arrival: its externalId, and its id where the client chose it. */
const arrivalOf = (cmd: { id?: string | null; externalId?: string | null }): RefLock[] =>
  [cmd.externalId, cmd.id].filter((k): k is string => !!k).map((ref) => ({ ref, exclusive: false }));

/** The bucket locks, sent with the transaction's next statement: no round trip of their own. */
function lockRefsAhead(scope: TenantScope, locks: RefLock[]): Promise<void> {
  if (!locks.some((l) => l.ref)) return Promise.resolve();
  return deferredWrite(scope.em, REF_LOCKS, [scope.tenantId, refLocks(locks)]);
}

async function applyFields(
  scope: TenantScope,
  user: User,
  cmd: UpdateUserCommand & Record<string, unknown>,
  opts: UpdateOptions & {
    /** A create: its own keys as an arrival (arrivalOf). An update took its locks before the org lock instead. */
    arrival?: RefLock[];
  },
): Promise<{ managerSet: boolean; names: NamesRead }> {
  const names: NamesRead = {};
  const target = user as unknown as Record<string, unknown>;
  for (const k of SIMPLE) if (cmd[k] !== undefined) target[k] = cmd[k] ?? (k === 'phoneNumbers' || k === 'addresses' ? [] : null);
  if (cmd.emails !== undefined) user.emails = normaliseEmails(cmd.emails ?? []);
  if (cmd.phoneNumbers !== undefined) user.phoneNumbers = normaliseComplexList(cmd.phoneNumbers ?? []);
  if (cmd.addresses !== undefined) user.addresses = normaliseComplexList(cmd.addresses ?? []);
  if (cmd.active !== undefined && cmd.active !== null && cmd.active !== user.active) {
    user.active = cmd.active;
    user.deactivatedAt = cmd.active ? null : new Date();
  }
  if (cmd.teamId !== undefined) {
    const team = cmd.teamId === null ? null : await requireTeam(scope, cmd.teamId, 'teamId');
    user.teamId = team?.id ?? null;
    names.teamName = team?.name;
  }
  // Okta and Entra name a department and a manager together: the manager is read in the team's statement.
  let managerRead: ManagerRead | undefined;
  if (cmd.department !== undefined) {
    const alongside = cmd.department !== null && cmd.manager ? managerRefLookup(scope, cmd.manager) : undefined;
    const team = cmd.department === null ? null : await ensureTeamByName(scope, cmd.department, { alongside });
    user.teamId = team?.id ?? null;
    names.teamName = team?.name;
    if (alongside) managerRead = (team?.alongside as ManagerRead | undefined) ?? null;
  }
  if (cmd.custom !== undefined) {
    const decls = await listCustomAttributes(scope);
    user.custom = normaliseCustomValues(decls, user.custom, (cmd.custom ?? {}) as Record<string, unknown>, opts.replaceCustom ?? false);
  }
  let managerSet = false;
  if (cmd.manager !== undefined) {
    if (cmd.manager === null) {
      user.managerId = null;
      user.managerRef = null;
    } else {
      let manager = managerRead !== undefined ? managerRead : await resolveManagerRef(scope, cmd.manager);
      if (!manager && opts.arrival) {
        // Pending, unless that user is arriving right now: wait for its arrival, if any, and look again (REF_LOCKS),
        // the lock and the look in one message. With the create's own keys, so that their order is the key order.
        await lockRefsAhead(scope, [{ ref: cmd.manager, exclusive: true }, ...opts.arrival]);
        manager = await resolveManagerRefInline(scope, cmd.manager);
      }
      const managerId = manager?.id ?? null;
      names.managerName = manager?.name;
      if (managerId === user.id || (!managerId && (cmd.manager === user.id || (user.externalId && cmd.manager === user.externalId)))) {
        throw new DomainError(ErrorCode.MANAGER_CYCLE, 'a user cannot be their own manager', { field: 'manager', reason: 'MANAGER_CYCLE' });
      }
      if (managerId !== user.managerId || (managerId === null && user.managerRef !== cmd.manager)) managerSet = managerId !== null;
      user.managerId = managerId;
      // Not provisioned yet: keep the reference; backfill() links it when that user arrives.
      user.managerRef = managerId ? null : cmd.manager;
    }
  }
  return { managerSet, names };
}

/**
 * Links every user whose pending manager reference names this user (by id or externalId). Runs in the
 * same transaction as the create/update that made the reference resolvable, however many reports wait.
 *
 * `lockOrgFirst`: the caller will check the reporting line for a cycle if anyone is linked (a create with
 * a manager), which takes the tenant's org lock. The lock order is org lock, then rows (updateUser), so the
 * statement takes the org lock before it locks any report, and only if some report is pending: creates
 * that link no one, the common case, do not queue on it. Taken after the reports' row locks, a manager
 * change holding the org lock and waiting for one of those rows deadlocked with the create
 * (races.int.test.ts). An uncorrelated sub-select is evaluated once, before the update locks its first row.
 */
async function backfill(scope: TenantScope, user: User, refs: string[], opts: { lockOrgFirst?: boolean } = {}): Promise<string[]> {
  const keys = refs.filter(Boolean);
  if (keys.length === 0) return [];
  const pending = `tenant_id = ? and manager_ref in ${TEXT_LIST} and deleted_at is null and id <> ?`;
  const rows = opts.lockOrgFirst
    ? await prepared<{ id: string }>(
        scope.em,
        `with org_lock as materialized (
           select ${ORG_LOCK}
            where exists (select 1 from users where ${pending}))
         update users set manager_id = ?, manager_ref = null, version = version + 1, updated_at = ${TOUCHED_AT}
          where ${pending} and (select count(*) from org_lock) >= 0
          returning id`,
        [scope.tenantId, scope.tenantId, jsonList(keys), user.id, user.id, scope.tenantId, jsonList(keys), user.id],
      )
    : await prepared<{ id: string }>(
        scope.em,
        `update users set manager_id = ?, manager_ref = null, version = version + 1, updated_at = ${TOUCHED_AT}
          where ${pending}
          returning id`,
        [user.id, scope.tenantId, jsonList(keys), user.id],
      );
  for (const r of rows) {
    await recordAudit(scope, {
      action: 'user.manager_backfilled',
      targetType: 'user',
      targetId: r.id,
      changes: { managerId: { before: null, after: user.id } },
    });
  }
  return rows.map((r) => r.id);
}

async function assertNoCycle(scope: TenantScope, userId: string): Promise<void> {
  if (await hasManagerCycle(scope.em, scope.tenantId, userId)) {
    throw new DomainError(ErrorCode.MANAGER_CYCLE, 'this manager would make the reporting line a cycle', {
      field: 'manager',
      reason: 'MANAGER_CYCLE',
    });
  }
}

export const createUser = async (scope: TenantScope, input: CreateUserCommand): Promise<User> =>
  (await createUserReadingNames(scope, input)).user;

/** createUser, with the team and manager names it read on the way (a SCIM create answers from them). */
export async function createUserReadingNames(scope: TenantScope, input: CreateUserCommand): Promise<{ user: User; names: NamesRead }> {
  const cmd = parseInput(CreateUserCommand, input);
  const now = new Date();
  const user = scope.em.create(User, {
    id: cmd.id ?? uuidv7(),
    tenantId: scope.tenantId,
    userName: cmd.userName,
    active: cmd.active ?? true,
    emails: [],
    phoneNumbers: [],
    addresses: [],
    custom: {},
    createdAt: now,
    updatedAt: now,
    deactivatedAt: cmd.active === false ? now : null,
  });
  const arrival = arrivalOf(cmd);
  const { managerSet, names } = await applyFields(scope, user, cmd, { arrival });
  // Its keys as an arrival (REF_LOCKS), ahead of its insert in the same message.
  await lockRefsAhead(scope, arrival);
  await translatingDbErrors(() => scope.em.flush());
  const linked = await backfill(scope, user, [user.id, user.externalId ?? ''], { lockOrgFirst: managerSet });
  // A brand-new user has no reports but the ones just backfilled; only then can its manager close a cycle.
  // The backfill took the org lock before linking them (lockOrgFirst).
  if (managerSet && linked.length > 0) await assertNoCycle(scope, user.id);
  await recordAudit(scope, { action: 'user.created', targetType: 'user', targetId: user.id, changes: diff({}, snapshot(user), AUDITED) });
  return { user, names };
}

/** The entity's own columns (not the generated ones the table adds), as the ORM's load selects them. */
const USER_COLUMNS = projectedColumns('u', Object.keys(UserSchema.meta.properties));

/**
 * The user, locked until the transaction ends (SELECT … FOR NO KEY UPDATE): concurrent changes to one user
 * (an IdP sending overlapping PATCHes) queue up instead of failing on a stale version. Not FOR UPDATE: that
 * would also wait for every transaction whose foreign key names the user (a create reporting to them holds
 * a key-share lock on the row until it commits), and such a create may wait for the org lock this change
 * holds: a deadlock (races.int.test.ts). The update itself never changes the key. Read by a prepared
 * statement and merged into the unit of work as the ORM's own locking load would (refreshed): the ORM
 * inlines its values, so PostgreSQL planned that load on every PATCH, 0.36 ms of its 0.46 (pg_stat_statements
 * under the bench's load, round 7).
 */
async function requireUserForUpdate(scope: TenantScope, id: string): Promise<User> {
  if (!isUuid(id)) throw notFound('user', 'id');
  const [row] = await prepared<Record<string, unknown>>(
    scope.em,
    `select ${USER_COLUMNS} from users u where u.tenant_id = ? and u.id = ?::uuid and u.deleted_at is null for no key update`,
    [scope.tenantId, id],
  );
  if (!row) throw notFound('user', 'id');
  return scope.em.map(User, row);
}

export async function updateUser(scope: TenantScope, id: string, input: UpdateUserCommand, opts: UpdateOptions = {}): Promise<User> {
  return (await updateUserReadingNames(scope, id, input, opts)).user;
}

/**
 * updateUser, with the names it read on the way (a new team's, a new manager's), as a create gives them: what
 * a PATCH answering 204 needs for its ETag, with no read of the user's relations.
 */
export async function updateUserReadingNames(
  scope: TenantScope,
  id: string,
  input: UpdateUserCommand,
  opts: UpdateOptions = {},
): Promise<{ user: User; names: NamesRead }> {
  const cmd = parseInput(UpdateUserCommand, input);
  // Lock order: the tenant's org lock before the user's row lock. Taking them the other way round
  // deadlocks concurrent manager changes (A→B locks A then waits for the org lock, while B→A holds the
  // org lock and its foreign-key check on A waits for A's row lock). A change of externalId may link
  // pending reports (backfill), which takes the org lock too.
  // A manager named, which may be pending, and a new externalId, which is an arrival, take their reference
  // locks first (REF_LOCKS: the same order as a create's).
  const newExternalId = cmd.externalId !== undefined && (cmd.externalId || null) !== ((await getUser(scope, id))?.externalId ?? null);
  const orgLocked = (cmd.manager !== undefined && cmd.manager !== null) || newExternalId;
  if (orgLocked)
    await lockRefsThenOrg(scope, [
      ...(cmd.manager ? [{ ref: cmd.manager, exclusive: true }] : []),
      ...(newExternalId && cmd.externalId ? [{ ref: cmd.externalId, exclusive: false }] : []),
    ]);
  const user = await requireUserForUpdate(scope, id);
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== user.version) {
    throw new DomainError(
      ErrorCode.PRECONDITION_FAILED,
      `the user has changed (version ${user.version}, expected ${opts.expectedVersion})`,
      { reason: 'VERSION_MISMATCH' },
    );
  }
  const before = snapshot(user);
  const { managerSet, names } = await applyFields(scope, user, cmd, opts);
  const changes = diff(before, snapshot(user), AUDITED);
  // A field given again with equal content keeps its loaded value: JSON read back from jsonb has another
  // key order than JSON just built, which the ORM would otherwise write (a version bump with no audit entry).
  for (const k of AUDITED as string[])
    if (!(k in changes)) (user as unknown as Record<string, unknown>)[k] = (before as Record<string, unknown>)[k];
  if (Object.keys(changes).length === 0) return { user, names };
  await translatingDbErrors(() => scope.em.flush());
  let linked: string[] = [];
  // A changed externalId took the org lock above (orgLocked): its backfill links reports under it.
  if (changes.externalId && user.externalId) {
    linked = await backfill(scope, user, [user.externalId]);
  }
  if (managerSet || (linked.length > 0 && user.managerId)) await assertNoCycle(scope, user.id);
  // Its groups list it by name (coalesce(displayName, userName)): their ETags move with it.
  if (changes.displayName || changes.userName) await touchRolesOfMember(scope, user.id);
  const action =
    changes.active && Object.keys(changes).length === 1 ? (user.active ? 'user.reactivated' : 'user.deactivated') : 'user.updated';
  await recordAudit(scope, { action, targetType: 'user', targetId: user.id, changes });
  return { user, names };
}

export const deactivateUser = (scope: TenantScope, id: string) => updateUser(scope, id, { active: false });
export const reactivateUser = (scope: TenantScope, id: string) => updateUser(scope, id, { active: true });

/**
 * Deletes a user: a tombstone stays for history (no normal query returns it; its userName and externalId
 * are free again). Role assignments go; direct reports keep a pending reference to the user's externalId,
 * so re-provisioning the same person links them again.
 */
export async function deleteUser(scope: TenantScope, id: string, opts: { expectedVersion?: number } = {}): Promise<void> {
  // Lock order, as in updateUser: its reports' reference (they are left pending on its externalId, REF_LOCKS),
  // the org lock (the reports are unlinked below), then the user's row.
  await lockRefsThenOrg(scope, [{ ref: (await getUser(scope, id))?.externalId ?? '', exclusive: true }]);
  const user = await requireUserForUpdate(scope, id);
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== user.version) {
    throw new DomainError(
      ErrorCode.PRECONDITION_FAILED,
      `the user has changed (version ${user.version}, expected ${opts.expectedVersion})`,
      { reason: 'VERSION_MISMATCH' },
    );
  }
  const reports = await scope.em.execute<Array<{ id: string }>>(
    `update users set manager_id = null, manager_ref = ?, version = version + 1, updated_at = ${TOUCHED_AT} where tenant_id = ? and manager_id = ? returning id`,
    [user.externalId, scope.tenantId, user.id],
  );
  for (const r of reports) {
    await recordAudit(scope, {
      action: 'user.updated',
      targetType: 'user',
      targetId: r.id,
      changes: { managerId: { before: user.id, after: null }, managerRef: { before: null, after: user.externalId ?? null } },
    });
  }
  const left = await scope.em.execute<Array<{ role_id: string }>>(
    `delete from role_members where tenant_id = ? and user_id = ? returning role_id`,
    [scope.tenantId, user.id],
  );
  await touchRoles(
    scope,
    left.map((r) => r.role_id),
  );
  user.deletedAt = new Date();
  if (user.active) {
    user.active = false;
    user.deactivatedAt = user.deletedAt;
  }
  await recordAudit(scope, {
    action: 'user.deleted',
    targetType: 'user',
    targetId: user.id,
    changes: { deleted: { before: false, after: true } },
  });
  await scope.em.flush();
}

/**
 * Erases a user's personal data for good (right to erasure): the row becomes an anonymous tombstone and
 * the before/after values in its audit entries are scrubbed. Who did what, when, stays.
 */
export async function eraseUser(scope: TenantScope, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('user', 'id');
  const user = await scope.em.findOne(User, { id, tenantId: scope.tenantId, erasedAt: null });
  if (!user) throw notFound('user', 'id');
  if (!user.deletedAt) await deleteUser(scope, id);
  const t = user as unknown as Record<string, unknown>;
  for (const k of SIMPLE) t[k] = k === 'phoneNumbers' || k === 'addresses' ? [] : null;
  user.userName = `erased-${user.id}`;
  user.emails = [];
  user.custom = {};
  user.managerId = null;
  user.managerRef = null;
  user.erasedAt = new Date();
  await scope.em.flush();
  await scope.em.execute(`update audit_events set changes = '{}'::jsonb where tenant_id = ? and target_type = 'user' and target_id = ?`, [
    scope.tenantId,
    user.id,
  ]);
  await recordAudit(scope, { action: 'user.erased', targetType: 'user', targetId: user.id });
}
