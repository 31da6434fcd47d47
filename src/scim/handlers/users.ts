import { setRolesOfUser } from '../../modules/roles/role.service.js';
import { User } from '../../modules/users/user.entity.js';
import { createUser, deleteUser, getUser as findUser, requireUser, updateUser } from '../../modules/users/user.service.js';
import { ScimError } from '../errors.js';
import { compileFilter, compileSortBy } from '../filter/to-sql.js';
import { parseFilter } from '../filter/parse-filter.js';
import { userFilterSchema } from '../filter-schemas.js';
import { etag, loadUserRelations, normaliseUserBody, toScimUser, toUserCommand } from '../mappers/user.mapper.js';
import { applyPatch } from '../patch/apply-patch.js';
import { parsePatchRequest } from '../patch/patch-op.schema.js';
import {
  checkIfMatch, decodeScimCursor, encodeScimCursor, listParams, listResponse, notModified, projector, requireJsonObject,
  send, userSchemas, wantsResource, type ListParams, type ScimContext, type UserSchemas,
} from './common.js';

async function render(ctx: ScimContext, users: User[], us: UserSchemas) {
  const { scope, baseUrl } = ctx.state.scim;
  const rel = await loadUserRelations(scope, users);
  return users.map((u) => toScimUser(u, rel, { baseUrl, customUrn: us.customUrn, customDecls: us.customDecls }));
}

async function load(ctx: ScimContext, id: string): Promise<User> {
  const user = await findUser(ctx.state.scim.scope, id);
  if (!user) throw new ScimError(404, `User ${id} not found`);
  return user;
}

const roleNames = (rep: Record<string, unknown>) =>
  Array.isArray(rep.roles) ? rep.roles.map((r) => String((r as { value?: unknown }).value ?? '').toLowerCase()).sort() : [];

export async function getUser(ctx: ScimContext) {
  const { scope, tenantSlug } = ctx.state.scim;
  const user = await load(ctx, ctx.params.id);
  const tag = etag(user.version);
  if (notModified(ctx, tag)) return send(ctx, 304, undefined, { ETag: tag });
  const us = await userSchemas(scope, tenantSlug);
  const project = projector(ctx.query, us.schemas);
  const [rep] = await render(ctx, [user], us);
  send(ctx, 200, project(rep), { ETag: tag });
}

export async function createUserHandler(ctx: ScimContext) {
  const { scope, tenantSlug } = ctx.state.scim;
  const us = await userSchemas(scope, tenantSlug);
  const rep = normaliseUserBody(requireJsonObject(ctx.request.body), us.schemas);
  const { command, roles } = toUserCommand(rep, us.customUrn);
  if (!command.userName) throw new ScimError(400, 'userName is required', 'invalidValue');
  const user = await createUser(scope, { ...command, userName: command.userName, active: command.active ?? true });
  if (roles?.length) await setRolesOfUser(scope, user.id, roles, { replace: false });
  const [out] = await render(ctx, [user], us);
  send(ctx, 201, projector(ctx.query, us.schemas)(out), { Location: (out.meta as { location: string }).location, ETag: etag(user.version) });
}

export async function replaceUser(ctx: ScimContext) {
  const { scope, tenantSlug } = ctx.state.scim;
  const current = await load(ctx, ctx.params.id);
  checkIfMatch(ctx, etag(current.version));
  const us = await userSchemas(scope, tenantSlug);
  const rep = normaliseUserBody(requireJsonObject(ctx.request.body), us.schemas);
  const { command, roles } = toUserCommand(rep, us.customUrn);
  if (!command.userName) throw new ScimError(400, 'userName is required: PUT replaces the whole user', 'invalidValue');
  const user = await updateUser(scope, current.id, command, { replaceCustom: true });
  if (roles !== undefined) await setRolesOfUser(scope, user.id, roles, { replace: true });
  const [out] = await render(ctx, [user], us);
  send(ctx, 200, projector(ctx.query, us.schemas)(out), { ETag: etag(user.version) });
}

/**
 * PATCH: load, apply every operation to the representation (atomic: the first failing one throws and
 * nothing is written), turn the result into the same update command PUT and GraphQL use.
 */
export async function patchUser(ctx: ScimContext) {
  const { scope, tenantSlug } = ctx.state.scim;
  const ops = parsePatchRequest(ctx.request.body);
  const current = await load(ctx, ctx.params.id);
  checkIfMatch(ctx, etag(current.version));
  const us = await userSchemas(scope, tenantSlug);
  const [before] = await render(ctx, [current], us);
  const after = applyPatch(before, ops, { schemas: us.schemas });
  const { command, roles } = toUserCommand(after, us.customUrn);
  const user = await updateUser(scope, current.id, command, { replaceCustom: true });
  if (roles !== undefined && JSON.stringify(roleNames(before)) !== JSON.stringify(roleNames(after))) {
    await setRolesOfUser(scope, user.id, roles, { replace: true });
  }
  if (!wantsResource(ctx)) return send(ctx, 204, undefined, { ETag: etag(user.version) });
  const fresh = await requireUser(scope, user.id);
  const [out] = await render(ctx, [fresh], us);
  send(ctx, 200, projector(ctx.query, us.schemas)(out), { ETag: etag(fresh.version) });
}

export async function deleteUserHandler(ctx: ScimContext) {
  const current = await load(ctx, ctx.params.id);
  checkIfMatch(ctx, etag(current.version));
  await deleteUser(ctx.state.scim.scope, current.id);
  send(ctx, 204);
}

/** GET /Users and POST /Users/.search: the filter is compiled to SQL and evaluated by PostgreSQL. */
export async function listUsers(ctx: ScimContext, params: ListParams) {
  const { scope, tenantSlug } = ctx.state.scim;
  const us = await userSchemas(scope, tenantSlug);
  const project = projector(params, us.schemas);
  const schema = userFilterSchema(us.customUrn, us.customDecls);
  let where = 'u.tenant_id = ? and u.deleted_at is null';
  const args: unknown[] = [scope.tenantId];
  if (params.filter) {
    const compiled = compileFilter(parseFilter(params.filter), schema);
    where += ` and (${compiled.sql})`;
    args.push(...compiled.params);
  }
  const dir = params.descending ? 'desc' : 'asc';
  const [{ total }] = await scope.em.execute<Array<{ total: string }>>(`select count(*) as total from users u where ${where}`, args);
  const totalResults = Number(total);
  if (params.cursor !== undefined) {
    if (params.sortBy) throw new ScimError(400, 'cursor pagination returns resources in their default order; drop sortBy or use startIndex', 'invalidValue');
    const after = params.cursor === '' ? null : decodeScimCursor(params.cursor);
    const rows = params.count === 0 ? [] : await scope.em.execute<Record<string, unknown>[]>(
      `select u.* from users u where ${where}${after ? ' and u.id > ?' : ''} order by u.id limit ?`,
      [...args, ...(after ? [after] : []), params.count + 1],
    );
    const more = rows.length > params.count;
    const users = rows.slice(0, params.count).map((r) => scope.em.map(User, r));
    const resources = (await render(ctx, users, us)).map(project);
    const extra = more ? { nextCursor: encodeScimCursor(users[users.length - 1].id) } : {};
    return send(ctx, 200, { ...listResponse(resources, totalResults, 1, extra) });
  }
  const order = params.sortBy ? `${compileSortBy(params.sortBy, schema)} ${dir}, u.id ${dir}` : 'u.id';
  const rows = params.count === 0 || params.startIndex > totalResults ? [] : await scope.em.execute<Record<string, unknown>[]>(
    `select u.* from users u where ${where} order by ${order} limit ? offset ?`,
    [...args, params.count, params.startIndex - 1],
  );
  const users = rows.map((r) => scope.em.map(User, r));
  const resources = (await render(ctx, users, us)).map(project);
  send(ctx, 200, listResponse(resources, totalResults, params.startIndex));
}

export const listUsersHandler = (ctx: ScimContext) => listUsers(ctx, listParams(ctx.query));
export const searchUsersHandler = (ctx: ScimContext) => listUsers(ctx, listParams(requireJsonObject(ctx.request.body)));

