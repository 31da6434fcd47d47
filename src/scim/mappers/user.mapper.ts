import { DomainError, ErrorCode } from '../../kernel/errors.js';
import type { TenantScope } from '../../kernel/scope.js';
import { UUID_ARRAY, jsonList, prepared, type SqlStatement } from '../../infra/orm/sql.js';
import { isUuid } from '../../kernel/ids.js';
import { displayNameSql } from '../../modules/users/user.queries.js';
import type { NamesRead } from '../../modules/users/user.service.js';
import { userView } from '../../modules/users/user.view.js';
import type { CustomAttribute } from '../../modules/custom-attributes/custom-attribute.entity.js';
import type { UpdateUserCommand } from '../../modules/users/user.commands.js';
import type { User } from '../../modules/users/user.entity.js';
import { applyPatch } from '../patch/apply-patch.js';
import type { ScimSchemaDef } from '../schemas/definitions.js';
import { CORE_USER, ENTERPRISE_USER } from '../schemas/urns.js';

type Json = Record<string, unknown>;

/** What a user representation needs besides the row: its team's name, its roles, its manager's name. */
export interface UserRelations {
  teamName: Map<string, string>;
  roles: Map<string, Array<{ id: string; displayName: string }>>;
  managerName: Map<string, string | null>;
}

/**
 * A user's relations as columns of a `users u` row (correlated sub-selects), so that a list or lookup reads
 * its page and the page's relations in one statement; `relationsOfRows` reads them back.
 */
export const USER_RELATION_COLUMNS = `
  (select t.name from teams t where t.tenant_id = u.tenant_id and t.id = u.team_id) as _team_name,
  (select ${displayNameSql('m')}
     from users m where m.tenant_id = u.tenant_id and m.id = u.manager_id) as _manager_name,
  (select coalesce(json_agg(json_build_array(r.id, r.display_name) order by lower(r.display_name), r.id), '[]')
     from role_members rm join roles r on r.id = rm.role_id and r.tenant_id = rm.tenant_id
    where rm.tenant_id = u.tenant_id and rm.user_id = u.id) as _roles`;

/**
 * The same relations for a page of users (fetchListPage's `joined`): joined to the page's rows once it is
 * cut, the roles of all of them in one aggregate over the page's ids, instead of three sub-plans per row.
 */
export const USER_RELATION_JOINS = {
  select: `t.name as _team_name, ${displayNameSql('m')} as _manager_name, coalesce(ro.roles, '[]') as _roles`,
  from: `left join teams t on t.tenant_id = u.tenant_id and t.id = u.team_id
         left join users m on m.tenant_id = u.tenant_id and m.id = u.manager_id
         left join (select rm.user_id, json_agg(json_build_array(r.id, r.display_name) order by lower(r.display_name), r.id) as roles
                      from role_members rm join roles r on r.id = rm.role_id and r.tenant_id = rm.tenant_id
                     where (rm.tenant_id, rm.user_id) in (select p.tenant_id, p.id from page p)
                     group by rm.user_id) ro on ro.user_id = u.id`,
};

export function relationsOfRows(rows: Array<Record<string, unknown>>): UserRelations {
  const rel: UserRelations = { teamName: new Map(), roles: new Map(), managerName: new Map() };
  for (const r of rows) {
    if (r.team_id && typeof r._team_name === 'string') rel.teamName.set(String(r.team_id), r._team_name);
    if (r.manager_id) rel.managerName.set(String(r.manager_id), (r._manager_name as string | null) ?? null);
    const roles = r._roles as Array<[string, string]>;
    if (roles.length)
      rel.roles.set(
        String(r.id),
        roles.map(([id, displayName]) => ({ id, displayName })),
      );
  }
  return rel;
}

/** The relations of users already loaded (single resources after a read or a write), in one statement. */
export async function loadUserRelations(scope: TenantScope, users: User[]): Promise<UserRelations> {
  if (users.length === 0) return relationsOfRows([]);
  const rows = await prepared<Record<string, unknown>>(
    scope.em,
    `select u.id, u.team_id, u.manager_id, ${USER_RELATION_COLUMNS} from users u where u.tenant_id = ? and u.id = any(${UUID_ARRAY})`,
    [scope.tenantId, jsonList(users.map((u) => u.id))],
  );
  return relationsOfRows(rows);
}

/**
 * A user just created (by this request) and its relations from what the create read on the way (its team's
 * and manager's names; a new user is in no group yet): no statement. Undefined when a name was not read.
 */
export function relationsOfNewUser(user: User, names: NamesRead): UserRelations | undefined {
  if ((user.teamId && names.teamName === undefined) || (user.managerId && names.managerName === undefined)) return undefined;
  const rel = relationsOfRows([]);
  if (user.teamId) rel.teamName.set(user.teamId, names.teamName!);
  if (user.managerId) rel.managerName.set(user.managerId, names.managerName!);
  return rel;
}

/**
 * A user just updated (by this request) and its relations: those it had before, with the names the update
 * read for a new team or manager (updateUserReadingNames); no statement. Undefined when a name was not read.
 */
export function relationsAfterUpdate(user: User, before: UserRelations, names: NamesRead): UserRelations | undefined {
  const rel: UserRelations = { teamName: new Map(before.teamName), roles: before.roles, managerName: new Map(before.managerName) };
  if (user.teamId && names.teamName !== undefined) rel.teamName.set(user.teamId, names.teamName);
  if (user.managerId && names.managerName !== undefined) rel.managerName.set(user.managerId, names.managerName);
  if ((user.teamId && !rel.teamName.has(user.teamId)) || (user.managerId && !rel.managerName.has(user.managerId))) return undefined;
  return rel;
}

/**
 * A live user of the tenant and its relations, in one statement (a single resource's GET, PATCH, PUT,
 * DELETE): a view (modules/users/user.view.ts), never persisted; a write loads the entity itself. Null when
 * there is no such user (a malformed id included).
 */
export async function findUserWithRelations(scope: TenantScope, id: string): Promise<{ user: User; rel: UserRelations } | null> {
  const statement = userWithRelationsStatement(scope.tenantId, id);
  if (!statement) return null;
  const rows = await prepared<Record<string, unknown>>(scope.em, statement.sql, statement.params);
  return rows[0] ? { user: userView(rows[0]), rel: relationsOfRows(rows) } : null;
}

/** findUserWithRelations's statement (also what the door's message sends ahead, planUserRead); null for a malformed id. */
export function userWithRelationsStatement(tenantId: string, id: string): SqlStatement | null {
  if (!isUuid(id)) return null;
  return {
    sql: `select u.*, ${USER_RELATION_COLUMNS} from users u where u.tenant_id = ? and u.id = ?::uuid and u.deleted_at is null`,
    params: [tenantId, id],
  };
}

const put = (o: Json, k: string, v: unknown) => {
  if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) o[k] = v;
};

/** The RFC 7643 representation of a user (core, enterprise extension, the tenant's custom extension). */
export function toScimUser(u: User, rel: UserRelations, ctx: { baseUrl: string; customUrn: string; customDecls: CustomAttribute[] }): Json {
  const out: Json = { schemas: [CORE_USER], id: u.id };
  put(out, 'externalId', u.externalId);
  out.userName = u.userName;
  const name: Json = {};
  put(name, 'formatted', u.formattedName);
  put(name, 'familyName', u.familyName);
  put(name, 'givenName', u.givenName);
  put(name, 'middleName', u.middleName);
  put(name, 'honorificPrefix', u.honorificPrefix);
  put(name, 'honorificSuffix', u.honorificSuffix);
  if (Object.keys(name).length) out.name = name;
  put(out, 'displayName', u.displayName);
  put(out, 'nickName', u.nickName);
  put(out, 'profileUrl', u.profileUrl);
  put(out, 'title', u.title);
  put(out, 'userType', u.userType);
  put(out, 'preferredLanguage', u.preferredLanguage);
  put(out, 'locale', u.locale);
  put(out, 'timezone', u.timezone);
  out.active = u.active;
  put(out, 'emails', u.emails);
  put(out, 'phoneNumbers', u.phoneNumbers);
  put(out, 'addresses', u.addresses);
  const roles = rel.roles.get(u.id) ?? [];
  // Group membership is role assignment: the same roles, as read-only groups and as role values.
  put(
    out,
    'groups',
    roles.map((r) => ({ value: r.id, display: r.displayName, $ref: `${ctx.baseUrl}/Groups/${r.id}`, type: 'direct' })),
  );
  put(
    out,
    'roles',
    roles.map((r) => ({ value: r.displayName, display: r.displayName })),
  );

  const ent: Json = {};
  put(ent, 'employeeNumber', u.employeeNumber);
  put(ent, 'costCenter', u.costCenter);
  put(ent, 'organization', u.organization);
  put(ent, 'division', u.division);
  put(ent, 'department', u.teamId ? rel.teamName.get(u.teamId) : null);
  if (u.managerId) {
    const mgr: Json = { value: u.managerId, $ref: `${ctx.baseUrl}/Users/${u.managerId}` };
    put(mgr, 'displayName', rel.managerName.get(u.managerId));
    ent.manager = mgr;
  } else if (u.managerRef) {
    // Pending: the manager is not provisioned yet; the reference is kept as sent and linked on arrival.
    ent.manager = { value: u.managerRef };
  }
  if (Object.keys(ent).length) {
    out[ENTERPRISE_USER] = ent;
    (out.schemas as string[]).push(ENTERPRISE_USER);
  }
  const custom: Json = {};
  for (const d of ctx.customDecls) put(custom, d.name, u.custom[d.name]);
  if (Object.keys(custom).length) {
    out[ctx.customUrn] = custom;
    (out.schemas as string[]).push(ctx.customUrn);
  }
  out.meta = {
    resourceType: 'User',
    created: u.createdAt.toISOString(),
    lastModified: u.updatedAt.toISOString(),
    location: `${ctx.baseUrl}/Users/${u.id}`,
    version: userEtag(u, rel),
  };
  return out;
}

/** A resource's ETag from its row's version (a group's; a user's adds userEtag's digest). */
export const etag = (version: number) => `W/"${version}"`;

/**
 * A user's ETag: its row's version, and a digest of what its representation shows from other rows (its
 * team's and manager's names, its groups and their names). Those change without the user's row: a weak
 * ETag must still move with them (RFC 7232 §2.3), or a client's If-None-Match would keep a stale copy and
 * its If-Match would overwrite a user whose groups it has not seen.
 */
export function userEtag(u: Pick<User, 'id' | 'version' | 'teamId' | 'managerId'>, rel: UserRelations): string {
  let shown = `${u.teamId ? (rel.teamName.get(u.teamId) ?? '') : ''}\u0000${u.managerId ? (rel.managerName.get(u.managerId) ?? '') : ''}`;
  for (const r of rel.roles.get(u.id) ?? []) shown += `\u0000${r.id}\u0001${r.displayName}`;
  return `W/"${u.version}-${fnv1a(shown)}"`;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, in base 36: a digest for a weak ETag, not a secret. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** Keys a client may send back that are not its to write: ignored on POST and PUT (idp-behaviour.md). */
const CLIENT_SIDE = new Set(['schemas', 'meta', 'id', 'groups', 'password']);

/**
 * Normalises a POST/PUT body through the PATCH engine (a path-less replace onto an empty resource): the
 * same attribute resolution, case-insensitivity, coercion ("True" → true), manager shapes and JSON-string
 * roles as PATCH, and unknown attributes are refused the same way.
 */
export function normaliseUserBody(body: unknown, schemas: readonly ScimSchemaDef[]): Json {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new DomainError(ErrorCode.INVALID_INPUT, 'the body must be a JSON object (a SCIM User)');
  const value: Json = {};
  for (const [k, v] of Object.entries(body as Json)) if (!CLIENT_SIDE.has(k.toLowerCase())) value[k] = v;
  if (Object.keys(value).length === 0) return {};
  return applyPatch({}, [{ op: 'replace', value }], { schemas });
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : v === undefined || v === null ? null : String(v));

function pick<T>(list: unknown, map: (o: Json) => T): T[] {
  return Array.isArray(list) ? list.filter((x): x is Json => !!x && typeof x === 'object').map(map) : [];
}

/**
 * A full SCIM representation → the domain command (absent attributes become null: PUT and PATCH both
 * send the whole resulting state). Role values are returned apart: they are role assignments.
 */
export function toUserCommand(
  rep: Json,
  customUrn: string,
): { command: UpdateUserCommand & { userName?: string }; roles: string[] | undefined } {
  const name = (rep.name ?? {}) as Json;
  const ent = (rep[ENTERPRISE_USER] ?? {}) as Json;
  const manager = ent.manager as Json | undefined;
  const command: UpdateUserCommand & { userName?: string } = {
    userName: str(rep.userName) ?? undefined,
    externalId: str(rep.externalId),
    givenName: str(name.givenName),
    familyName: str(name.familyName),
    middleName: str(name.middleName),
    formattedName: str(name.formatted),
    honorificPrefix: str(name.honorificPrefix),
    honorificSuffix: str(name.honorificSuffix),
    displayName: str(rep.displayName),
    nickName: str(rep.nickName),
    profileUrl: str(rep.profileUrl),
    title: str(rep.title),
    userType: str(rep.userType),
    preferredLanguage: str(rep.preferredLanguage),
    locale: str(rep.locale),
    timezone: str(rep.timezone),
    // Absent means unchanged (PUT/PATCH) or the default, active (POST).
    active: typeof rep.active === 'boolean' ? rep.active : undefined,
    emails: pick(rep.emails, (e) => ({
      value: str(e.value) ?? '',
      type: str(e.type),
      primary: e.primary === true,
      display: str(e.display),
    })),
    phoneNumbers: pick(rep.phoneNumbers, (p) => ({
      value: str(p.value) ?? '',
      type: str(p.type),
      primary: p.primary === true,
      display: str(p.display),
    })),
    addresses: pick(rep.addresses, (a) => ({
      formatted: str(a.formatted),
      streetAddress: str(a.streetAddress),
      locality: str(a.locality),
      region: str(a.region),
      postalCode: str(a.postalCode),
      country: str(a.country),
      type: str(a.type),
      primary: a.primary === true,
    })),
    employeeNumber: str(ent.employeeNumber),
    costCenter: str(ent.costCenter),
    organization: str(ent.organization),
    division: str(ent.division),
    department: str(ent.department),
    manager: manager ? str(manager.value) : null,
    custom: (rep[customUrn] ?? {}) as Json,
  };
  const roles = Array.isArray(rep.roles) ? pick(rep.roles, (r) => str(r.value) ?? '').filter(Boolean) : undefined;
  return { command, roles };
}
