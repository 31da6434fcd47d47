import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Permission } from '../../kernel/scope.js';
import { keysetPage } from '../../infra/orm/keyset.js';
import { Role as RoleEntity } from '../../modules/roles/role.entity.js';
import { assignRole, createRole, deleteRole, requireRole, unassignRole, updateRole } from '../../modules/roles/role.service.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import { toConnection } from '../types/common.js';
import {
  ConnectionArgs,
  DeletePayload,
  Role,
  RoleAssignmentPayload,
  RoleConnection,
  RolePayload,
  UserConnection,
} from '../types/directory.js';
import { CreateRoleInput, UpdateRoleInput } from '../types/inputs.js';
import { runMutation, tenantScope, usersConnection } from './helpers.js';

const roleId = (id: string) => idOf(id, 'Role') ?? 'unknown';
const userIds = (ids: string[]) => ids.map((id) => idOf(id, 'User') ?? id);

@Resolver(() => Role)
export class RoleResolver {
  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => RoleConnection, { description: 'Roles (SCIM groups) by name.' })
  async roles(@Ctx() ctx: GraphQLContext, @Args() page: ConnectionArgs) {
    const scope = tenantScope(ctx);
    const result = await keysetPage<Record<string, unknown>>(
      scope.em,
      {
        select: 'r.*',
        from: 'from roles r where r.tenant_id = ?',
        params: [scope.tenantId],
        alias: 'r',
        sortExpr: 'lower(r.display_name)',
        sortType: 'text',
      },
      page,
    );
    return toConnection({ ...result, nodes: result.nodes.map((r) => scope.em.map(RoleEntity, r)) });
  }

  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => Role, { nullable: true })
  async role(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    const uuid = idOf(id, 'Role');
    return uuid ? ctx.loaders.role.load(uuid) : null;
  }

  @FieldResolver(() => ID) id(@Root() r: RoleEntity) {
    return toGlobalId('Role', r.id);
  }
  @FieldResolver(() => String) scimId(@Root() r: RoleEntity) {
    return r.id;
  }

  @FieldResolver(() => UserConnection, { description: 'Holders of the role.' })
  async members(@Root() r: RoleEntity, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo, @Args() page: ConnectionArgs) {
    return usersConnection(ctx, info, { roleId: r.id }, page);
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RolePayload)
  createRole(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateRoleInput) input: CreateRoleInput) {
    return runMutation(ctx, async (scope) => ({ role: await createRole(scope, input) }), { role: null });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RolePayload)
  updateRole(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('input', () => UpdateRoleInput) input: UpdateRoleInput) {
    return runMutation(
      ctx,
      async (scope) => ({ role: await updateRole(scope, roleId(id), { ...input, displayName: input.displayName ?? undefined }) }),
      { role: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => DeletePayload, { description: 'Deletes a role and its assignments; the users stay.' })
  deleteRole(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await deleteRole(scope, roleId(id));
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RoleAssignmentPayload, {
    description: 'Assigns a role to users (up to 10,000 per call). Already-assigned users are skipped.',
  })
  assignRole(@Ctx() ctx: GraphQLContext, @Arg('roleId', () => ID) id: string, @Arg('userIds', () => [ID]) ids: string[]) {
    return runMutation(
      ctx,
      async (scope) => {
        const { added } = await assignRole(scope, roleId(id), userIds(ids));
        return { role: await requireRole(scope, roleId(id)), changed: added };
      },
      { role: null, changed: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RoleAssignmentPayload)
  unassignRole(@Ctx() ctx: GraphQLContext, @Arg('roleId', () => ID) id: string, @Arg('userIds', () => [ID]) ids: string[]) {
    return runMutation(
      ctx,
      async (scope) => {
        const { removed } = await unassignRole(scope, roleId(id), userIds(ids));
        return { role: await requireRole(scope, roleId(id)), changed: removed };
      },
      { role: null, changed: null },
    );
  }
}
