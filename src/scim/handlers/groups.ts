import { Role } from '../../modules/roles/role.entity.js';
import {
  changeMembers,
  createRole,
  deleteRole,
  getRole,
  requireRole,
  updateRole,
  type MemberChange as RoleMemberChange,
} from '../../modules/roles/role.service.js';
import { ScimError } from '../errors.js';
import { groupFilterSchema } from '../filter-schemas.js';
import { loadMembers, toScimGroup } from '../mappers/group.mapper.js';
import { etag } from '../mappers/user.mapper.js';
import type { ScimState } from '../middleware/scim-auth.js';
import { applyPatch, extractMemberOps, type MemberChange } from '../patch/apply-patch.js';
import { parsePatchRequest } from '../patch/patch-op.schema.js';
import { GROUP_SCHEMAS } from '../schemas/definitions.js';
import {
  checkIfMatchHeader,
  listParams,
  listResponse,
  notModifiedHeader,
  projector,
  reply,
  requireJsonObject,
  respond,
  send,
  wantsResourceIn,
  type ListParams,
  type ScimCall,
  type ScimContext,
  type ScimReply,
  fetchListPage,
} from './common.js';

type Json = Record<string, unknown>;

async function load(state: ScimState, id: string | undefined): Promise<Role> {
  const role = await getRole(state.scope, id ?? '');
  if (!role) throw new ScimError(404, `Group ${id} not found`);
  return role;
}

/** Whether the projection will keep `members`; if not, they are not even loaded. */
function membersWanted(params: { attributes?: string | string[]; excludedAttributes?: string | string[] }): boolean {
  const list = (v?: string | string[]) =>
    (Array.isArray(v) ? v.join(',') : (v ?? '')).split(',').map((s) =>
      s
        .trim()
        .toLowerCase()
        .replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, ''),
    );
  if (params.attributes !== undefined) return list(params.attributes).some((a) => a === 'members' || a.startsWith('members.'));
  return !list(params.excludedAttributes).includes('members');
}

async function render(state: ScimState, roles: Role[], withMembers: boolean) {
  const { scope, baseUrl } = state;
  const members = withMembers
    ? await loadMembers(
        scope,
        roles.map((r) => r.id),
      )
    : undefined;
  return roles.map((r) => toScimGroup(r, members ? (members.get(r.id) ?? []) : undefined, baseUrl));
}

/** Member user ids of a POST/PUT body; nested groups are refused (members are users). */
function memberIds(body: Json): string[] | undefined {
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'members');
  if (!key) return undefined;
  const members = body[key];
  if (members === null) return [];
  if (!Array.isArray(members)) throw new ScimError(400, 'members must be an array of {"value": "<user id>"}', 'invalidValue');
  return members.map((m, i) => {
    const v = (m as Json | null)?.value;
    if (typeof v !== 'string' || !v) throw new ScimError(400, `members[${i}].value must be a user id`, 'invalidValue');
    if (typeof (m as Json).type === 'string' && String((m as Json).type).toLowerCase() === 'group')
      throw new ScimError(400, 'nested groups are not supported: members must be users', 'invalidValue');
    return v;
  });
}

/** displayName/externalId of a POST/PUT body, normalised by the PATCH engine like user bodies are. */
function groupFields(body: Json): { displayName?: string; externalId?: string | null } {
  const value: Json = {};
  for (const [k, v] of Object.entries(body)) if (!['schemas', 'meta', 'id', 'members'].includes(k.toLowerCase())) value[k] = v;
  const rep = Object.keys(value).length ? applyPatch({}, [{ op: 'replace', value }], { schemas: GROUP_SCHEMAS }) : {};
  return { displayName: rep.displayName as string | undefined, externalId: (rep.externalId as string | undefined) ?? null };
}

// Each operation is a core (ScimCall → ScimReply, no Koa context) and its Koa handler; POST /Bulk calls
// the cores directly (handlers/bulk.ts).

type Query = { attributes?: string | string[]; excludedAttributes?: string | string[] };

export async function getGroupCore(call: ScimCall): Promise<ScimReply> {
  const role = await load(call.scim, call.id);
  const tag = etag(role.version);
  if (notModifiedHeader(call.ifNoneMatch, tag)) return reply(304, undefined, { ETag: tag });
  const project = projector(call.query, GROUP_SCHEMAS);
  const [rep] = await render(call.scim, [role], membersWanted(call.query as Query));
  return reply(200, project(rep), { ETag: tag });
}

export async function createGroupCore(call: ScimCall): Promise<ScimReply> {
  const { scope } = call.scim;
  const body = requireJsonObject(call.body);
  const ids = memberIds(body) ?? [];
  const fields = groupFields(body);
  if (!fields.displayName) throw new ScimError(400, 'displayName is required', 'invalidValue');
  const role = await createRole(scope, { displayName: fields.displayName, externalId: fields.externalId });
  if (ids.length) await changeMembers(scope, role, { add: ids });
  const fresh = await requireRole(scope, role.id);
  const [rep] = await render(call.scim, [fresh], true);
  return reply(201, projector(call.query, GROUP_SCHEMAS)(rep), {
    Location: `${call.scim.baseUrl}/Groups/${role.id}`,
    ETag: etag(fresh.version),
  });
}

export async function replaceGroupCore(call: ScimCall): Promise<ScimReply> {
  const { scope } = call.scim;
  const current = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, etag(current.version));
  const body = requireJsonObject(call.body);
  const fields = groupFields(body);
  if (!fields.displayName) throw new ScimError(400, 'displayName is required: PUT replaces the whole group', 'invalidValue');
  // PUT replaces the whole resource (RFC 7644 §3.5.1): members not listed are removed. Members first: the
  // rename then takes the group's row lock last, as a member change does (see patchGroupCore).
  await changeMembers(scope, current, { replace: memberIds(body) ?? [] });
  await updateRole(scope, current.id, fields);
  const fresh = await requireRole(scope, current.id);
  const [rep] = await render(call.scim, [fresh], true);
  return reply(200, projector(call.query, GROUP_SCHEMAS)(rep), { ETag: etag(fresh.version) });
}

/**
 * PATCH: member operations become SQL deltas (never a load-and-rewrite of the member list, so a group
 * of 50,000 costs what a group of 5 does); the other operations go through the PATCH engine on the group
 * without members. Everything is validated before anything is written, and the request is one transaction.
 */
export async function patchGroupCore(call: ScimCall): Promise<ScimReply> {
  const { scope } = call.scim;
  const ops = parsePatchRequest(call.body);
  const current = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, etag(current.version));
  const { memberChanges, otherOps } = extractMemberOps(ops);
  // The other operations are applied (and refused, if they must be) before anything is written, but written
  // after the members: the group's row lock is then taken last, by either. A rename holding it while its
  // member insert waited for a user's own role change of the same member, itself waiting for the row to move
  // the group's version (touchRoles), would deadlock.
  const rename = otherOps.length
    ? groupFieldsOf(applyPatch(await renderOne(call.scim, current), otherOps, { schemas: GROUP_SCHEMAS }))
    : null;
  await changeMembers(scope, current, ...coalesce(memberChanges).map(asMemberChange));
  if (rename) await updateRole(scope, current.id, rename);
  // Member changes alone refresh `current` themselves (changeMembers); anything else reads the role again.
  const fresh = otherOps.length === 0 ? current : await requireRole(scope, current.id);
  if (!wantsResourceIn(call.query)) return reply(204, undefined, { ETag: etag(fresh.version) });
  const [rep] = await render(call.scim, [fresh], membersWanted(call.query as Query));
  return reply(200, projector(call.query, GROUP_SCHEMAS)(rep), { ETag: etag(fresh.version) });
}

/** A PATCH's member operation as the role service takes it. */
function asMemberChange(c: MemberChange): RoleMemberChange {
  if (c.kind === 'add') return { add: c.userIds };
  if (c.kind === 'remove') return { remove: c.userIds };
  if (c.kind === 'replaceAll') return { replace: c.userIds };
  return { removeAll: true };
}

const renderOne = async (state: ScimState, role: Role) => (await render(state, [role], false))[0];
const groupFieldsOf = (rep: Record<string, unknown>) => ({
  displayName: rep.displayName as string,
  externalId: (rep.externalId as string | undefined) ?? null,
});

/**
 * Merges runs of consecutive adds (or removes) into one change: Okta sends one operation per member, and
 * a PATCH of 100 members should cost one set-based statement, not 100. Order between kinds is kept.
 */
function coalesce(changes: MemberChange[]): MemberChange[] {
  const out: MemberChange[] = [];
  for (const c of changes) {
    const last = out[out.length - 1];
    if (last && last.kind === c.kind && (c.kind === 'add' || c.kind === 'remove'))
      out[out.length - 1] = { kind: c.kind, userIds: [...last.userIds, ...c.userIds] };
    else out.push(c);
  }
  return out;
}

export async function deleteGroupCore(call: ScimCall): Promise<ScimReply> {
  const current = await load(call.scim, call.id);
  checkIfMatchHeader(call.ifMatch, etag(current.version));
  await deleteRole(call.scim.scope, current.id);
  return reply(204);
}

export const getGroup = respond(getGroupCore);
export const createGroup = respond(createGroupCore);
export const replaceGroup = respond(replaceGroupCore);
export const patchGroup = respond(patchGroupCore);
export const deleteGroup = respond(deleteGroupCore);

export async function listGroups(ctx: ScimContext, params: ListParams) {
  const { scope } = ctx.state.scim;
  const project = projector(params, GROUP_SCHEMAS);
  const page = await fetchListPage(
    scope,
    { table: 'roles', alias: 'r', where: 'r.tenant_id = ?', filterSchema: groupFilterSchema },
    params,
  );
  const roles = page.rows.map((r) => scope.em.map(Role, r));
  const resources = (await render(ctx.state.scim, roles, membersWanted(params))).map(project);
  send(ctx, 200, listResponse(resources, page.totalResults, page.startIndex, page.nextCursor ? { nextCursor: page.nextCursor } : {}));
}

export const listGroupsHandler = (ctx: ScimContext) => listGroups(ctx, listParams(ctx.query));
export const searchGroupsHandler = (ctx: ScimContext) => listGroups(ctx, listParams(requireJsonObject(ctx.request.body)));
