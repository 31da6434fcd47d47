import type { TenantGuess } from '../../infra/orm/door-transaction.js';
import type { SqlStatement } from '../../infra/orm/sql.js';
import { declarationsOf } from '../../modules/custom-attributes/custom-attribute.service.js';
import { setRolesOfUser } from '../../modules/roles/role.service.js';
import type { User } from '../../modules/users/user.entity.js';
import { LIVE_USERS } from '../../modules/users/user.queries.js';
import { userView } from '../../modules/users/user.view.js';
import { createUserReadingNames, deleteUser, requireUser, updateUser, updateUserReadingNames } from '../../modules/users/user.service.js';
import { ScimError } from '../errors.js';
import { userFilterSchema } from '../filter-schemas.js';
import type { ScimState } from '../middleware/scim-auth.js';
import {
  USER_RELATION_JOINS,
  findUserWithRelations,
  loadUserRelations,
  normaliseUserBody,
  relationsAfterUpdate,
  relationsOfNewUser,
  relationsOfRows,
  toScimUser,
  type UserRelations,
  toUserCommand,
  userEtag,
  userWithRelationsStatement,
} from '../mappers/user.mapper.js';
import { applyPatch } from '../patch/apply-patch.js';
import { compileProjection, parseProjection } from '../projection.js';
import { parsePatchRequest } from '../patch/patch-op.schema.js';
import {
  checkIfMatchHeader,
  listParams,
  listResponse,
  notModifiedHeader,
  reply,
  requireJsonObject,
  respond,
  send,
  planListPage,
  userSchemas,
  userSchemasOf,
  wantsResourceIn,
  type ListParams,
  type ListSource,
  type ScimCall,
  type ScimContext,
  type ScimReply,
  type UserSchemas,
  fetchListPage,
} from './common.js';

/** The users as SCIM resources; their relations read in one statement unless already known. */
async function render(state: ScimState, users: User[], us: UserSchemas, known?: UserRelations) {
  const { scope, baseUrl } = state;
  const rel = known ?? (await loadUserRelations(scope, users));
  return users.map((u) => toScimUser(u, rel, { baseUrl, customUrn: us.customUrn, customDecls: us.customDecls }));
}

/** The user of the path and its relations (one statement), or 404. */
async function load(state: ScimState, id: string | undefined): Promise<{ user: User; rel: UserRelations }> {
  const found = await findUserWithRelations(state.scope, id ?? '');
  if (!found) throw new ScimError(404, `User ${id} not found`);
  return found;
}

/**
 * The projector of a users response. For the default request (neither `attributes` nor `excludedAttributes`)
 * a representation goes out as toScimUser wrote it: it writes nothing the default projection drops (no
 * attribute returned `never` or `request`; user.mapper.test.ts holds this), and copying every user of an
 * import page cost about 5 % of the page's CPU for an identical copy.
 */
function userProjector(
  query: ListParams | Record<string, unknown>,
  us: UserSchemas,
): (rep: Record<string, unknown>) => Record<string, unknown> {
  const request = parseProjection(query, us.schemas);
  return request.attributes || request.excludedAttributes ? compileProjection(request, us.schemas) : asWritten;
}
const asWritten = (rep: Record<string, unknown>) => rep;

/** A rendered resource's meta (its ETag is meta.version, whatever the projection then keeps). */
const metaOf = (rep: Record<string, unknown>) => rep.meta as { location: string; version: string };

const roleNames = (rep: Record<string, unknown>) =>
  Array.isArray(rep.roles) ? rep.roles.map((r) => String((r as { value?: unknown }).value ?? '').toLowerCase()).sort() : [];

// Each operation is a core (ScimCall → ScimReply, no Koa context) and its Koa handler; POST /Bulk calls
// the cores directly (handlers/bulk.ts).

export async function getUserCore(call: ScimCall): Promise<ScimReply> {
  const { scope, tenantSlug } = call.scim;
  const { user, rel } = await load(call.scim, call.id);
  const tag = userEtag(user, rel);
  if (notModifiedHeader(call.ifNoneMatch, tag)) return reply(304, undefined, { ETag: tag });
  const us = await userSchemas(scope, tenantSlug);
  const project = userProjector(call.query, us);
  const [rep] = await render(call.scim, [user], us, rel);
  return reply(200, project(rep), { ETag: tag });
}

export async function createUserCore(call: ScimCall): Promise<ScimReply> {
  const { scope, tenantSlug } = call.scim;
  const us = await userSchemas(scope, tenantSlug);
  const rep = normaliseUserBody(requireJsonObject(call.body), us.schemas);
  const { command, roles } = toUserCommand(rep, us.customUrn);
  if (!command.userName) throw new ScimError(400, 'userName is required', 'invalidValue');
  const { user, names } = await createUserReadingNames(scope, { ...command, userName: command.userName, active: command.active ?? true });
  if (roles?.length) await setRolesOfUser(scope, user.id, roles, { replace: false });
  // its team's and manager's names were read by the create; only groups given with it need a read
  const [out] = await render(call.scim, [user], us, roles?.length ? undefined : relationsOfNewUser(user, names));
  return reply(201, userProjector(call.query, us)(out), { Location: metaOf(out).location, ETag: metaOf(out).version });
}

export async function replaceUserCore(call: ScimCall): Promise<ScimReply> {
  const { scope, tenantSlug } = call.scim;
  const { user: current, rel } = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, userEtag(current, rel));
  const us = await userSchemas(scope, tenantSlug);
  const body = requireJsonObject(call.body);
  const rep = normaliseUserBody(body, us.schemas);
  const { command, roles } = toUserCommand(rep, us.customUrn);
  if (!command.userName) throw new ScimError(400, 'userName is required: PUT replaces the whole user', 'invalidValue');
  // externalId is the IdP's anchor, which manager references resolve against. Okta's PUT (O1) leaves it out:
  // omitted, it is not asserted (RFC 7644 §3.5.1) and stays; given as null or "", it is cleared.
  if (!Object.keys(body).some((k) => k.toLowerCase() === 'externalid')) delete command.externalId;
  const user = await updateUser(scope, current.id, command, { replaceCustom: true });
  if (roles !== undefined) await setRolesOfUser(scope, user.id, roles, { replace: true });
  const [out] = await render(call.scim, [user], us);
  return reply(200, userProjector(call.query, us)(out), { ETag: metaOf(out).version });
}

/**
 * PATCH: load, apply every operation to the representation (atomic: the first failing one throws and
 * nothing is written), turn the result into the same update command PUT and GraphQL use.
 */
export async function patchUserCore(call: ScimCall): Promise<ScimReply> {
  const { scope, tenantSlug } = call.scim;
  const ops = parsePatchRequest(call.body);
  const { user: current, rel } = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, userEtag(current, rel));
  const us = await userSchemas(scope, tenantSlug);
  const [before] = await render(call.scim, [current], us, rel);
  const after = applyPatch(before, ops, { schemas: us.schemas });
  const { command, roles } = toUserCommand(after, us.customUrn);
  // Only what the operations changed goes to the update: an attribute left as it was is not applied again
  // (no manager re-resolution under the tenant's org lock, no team upsert, no custom-attribute reload).
  const unchanged = toUserCommand(before, us.customUrn).command;
  for (const k of Object.keys(command) as Array<keyof typeof command>)
    if (JSON.stringify(command[k]) === JSON.stringify(unchanged[k])) delete command[k];
  const { user, names } = await updateUserReadingNames(scope, current.id, command, { replaceCustom: true });
  // Roles the operations removed as a whole attribute are none, not "not given" (a PUT without roles keeps them).
  const wanted = roles ?? (Array.isArray(before.roles) ? [] : undefined);
  const newRoles = wanted !== undefined && JSON.stringify(roleNames(before)) !== JSON.stringify(roleNames(after)) ? wanted : undefined;
  if (newRoles) await setRolesOfUser(scope, user.id, newRoles, { replace: true });
  if (!wantsResourceIn(call.query)) {
    // The ETag a GET would now give: the relations read before, with the names the update read for a new team
    // or manager; read again only where neither knows them (its roles changed, or a name was not read).
    const known = newRoles ? undefined : relationsAfterUpdate(user, rel, names);
    return reply(204, undefined, { ETag: userEtag(user, known ?? (await loadUserRelations(scope, [user]))) });
  }
  const fresh = await requireUser(scope, user.id);
  const [out] = await render(call.scim, [fresh], us);
  return reply(200, userProjector(call.query, us)(out), { ETag: metaOf(out).version });
}

export async function deleteUserCore(call: ScimCall): Promise<ScimReply> {
  const { user: current, rel } = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, userEtag(current, rel));
  await deleteUser(call.scim.scope, current.id);
  return reply(204);
}

export const getUser = respond(getUserCore);
export const createUserHandler = respond(createUserCore);
export const replaceUser = respond(replaceUserCore);
export const patchUser = respond(patchUserCore);
export const deleteUserHandler = respond(deleteUserCore);

const sources = new WeakMap<UserSchemas, ListSource>();
/** The live users of the tenant as a list page reads them (kept with the schemas it follows from). */
function usersSource(us: UserSchemas): ListSource {
  let source = sources.get(us);
  if (!source) sources.set(us, (source = buildUsersSource(us)));
  return source;
}

const buildUsersSource = (us: UserSchemas): ListSource => ({
  table: 'users',
  alias: 'u',
  where: 'u.tenant_id = ? and u.deleted_at is null',
  filterSchema: userFilterSchema(us.customUrn, us.customDecls),
  // kept by triggers: an import's every page would otherwise count the tenant, and its next page
  // continues after the previous one's last user while no one joined or left
  kept: { sql: LIVE_USERS, versioned: true },
  joined: USER_RELATION_JOINS,
});

/** GET /Users and POST /Users/.search: the filter is compiled to SQL and evaluated by PostgreSQL. */
export async function listUsers(ctx: ScimContext, params: ListParams) {
  const { scope, tenantSlug } = ctx.state.scim;
  const us = await userSchemas(scope, tenantSlug);
  const project = userProjector(params, us);
  const page = await fetchListPage(scope, usersSource(us), params);
  const rel = relationsOfRows(page.rows);
  const { baseUrl } = ctx.state.scim;
  const resources = page.rows.map((row) =>
    project(toScimUser(userView(row), rel, { baseUrl, customUrn: us.customUrn, customDecls: us.customDecls })),
  );
  send(ctx, 200, listResponse(resources, page.totalResults, page.startIndex, page.nextCursor ? { nextCursor: page.nextCursor } : {}));
}

export const listUsersHandler = (ctx: ScimContext) => listUsers(ctx, listParams(ctx.query));

/**
 * GET, PUT, PATCH and DELETE of /Users/{id} read the user with its relations first (load): that statement,
 * from a guess of the tenant, for the door's message (infra/db/prefetch.ts). Null for a malformed id.
 */
export function planUserRead(id: string, guess: TenantGuess): SqlStatement | null {
  return userWithRelationsStatement(guess.tenantId, id);
}

/**
 * GET /Users as its first statement, from a guess of the tenant, for the door's message (infra/db/prefetch.ts):
 * the index page fetchListPage will ask for (planListPage), an IdP's lookup before it creates or links a user
 * or an import's next page. Null for a cursor page. Throws where the request is malformed; its handler then
 * says how.
 */
export function planUserLookup(query: Record<string, unknown>, guess: TenantGuess): SqlStatement | null {
  const us = userSchemasOf(guess.tenantSlug, declarationsOf(guess.customAttributes));
  return planListPage(usersSource(us), listParams(query), guess.tenantId);
}
export const searchUsersHandler = (ctx: ScimContext) => listUsers(ctx, listParams(requireJsonObject(ctx.request.body)));
