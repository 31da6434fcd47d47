import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE } from '../../kernel/pagination.js';
import { Permission } from '../../kernel/scope.js';
import { listAuditEvents } from '../../modules/audit/audit.queries.js';
import { managerChain, subtreePage } from '../../modules/org/org.repository.js';
import type { UpdateUserCommand } from '../../modules/users/user.commands.js';
import type { User as UserEntity } from '../../modules/users/user.entity.js';
import type { Team as TeamEntity } from '../../modules/teams/team.entity.js';
import { createUser, deactivateUser, deleteUser, eraseUser, reactivateUser, updateUser } from '../../modules/users/user.service.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import { toConnection } from '../types/common.js';
import {
  Address,
  AuditEventConnection,
  ConnectionArgs,
  DeletePayload,
  Email,
  PhoneNumber,
  Role,
  SubtreeConnection,
  Team,
  User,
  UserConnection,
  UserFilter,
  UserName,
  UserOrder,
  UserPayload,
} from '../types/directory.js';
import { CreateUserInput, ManagerRefInput, UpdateUserInput, type UserFieldsInput } from '../types/inputs.js';
import { runMutation, tenantScope, usersConnection } from './helpers.js';
import { selectedFields } from '../lookahead.js';
import { userProjection } from '../projection.js';
import { userView } from '../../modules/users/user.view.js';

const SIMPLE_FIELDS = [
  'externalId',
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
  'department',
] as const;
const NAME_FIELDS = {
  formatted: 'formattedName',
  givenName: 'givenName',
  familyName: 'familyName',
  middleName: 'middleName',
  honorificPrefix: 'honorificPrefix',
  honorificSuffix: 'honorificSuffix',
} as const;

/** A GraphQL manager reference as the domain's manager ref (id or externalId). */
export function managerRef(input: ManagerRefInput | null | undefined): string | null | undefined {
  if (input === undefined) return undefined;
  if (input === null) return null;
  const given = [input.id, input.scimId, input.externalId].filter((v) => v != null);
  if (given.length !== 1)
    throw new DomainError(ErrorCode.INVALID_INPUT, 'manager: give exactly one of id, scimId, externalId', { field: 'manager' });
  if (input.id != null) {
    const id = idOf(input.id, 'User');
    if (!id) throw new DomainError(ErrorCode.INVALID_INPUT, 'manager.id: not a user id', { field: 'manager.id' });
    return id;
  }
  return (input.scimId ?? input.externalId) as string;
}

/** GraphQL input → the domain command both doors share. */
export function toUserCommand(input: UserFieldsInput & { userName?: string | null }): UpdateUserCommand {
  const cmd: Record<string, unknown> = {};
  if (input.userName != null) cmd.userName = input.userName;
  for (const k of SIMPLE_FIELDS) if (input[k] !== undefined) cmd[k] = input[k];
  if (input.name !== undefined) {
    for (const [from, to] of Object.entries(NAME_FIELDS)) {
      const v = input.name === null ? null : input.name[from as keyof typeof NAME_FIELDS];
      if (v !== undefined) cmd[to] = v;
    }
  }
  if (input.teamId !== undefined) cmd.teamId = input.teamId === null ? null : (idOf(input.teamId, 'Team') ?? 'unknown');
  if (input.manager !== undefined) cmd.manager = managerRef(input.manager);
  if (input.customAttributes !== undefined) cmd.custom = input.customAttributes ?? {};
  return cmd as UpdateUserCommand;
}

const userIdOrThrow = (id: string) => idOf(id, 'User') ?? 'unknown';

@Resolver(() => User)
export class UserResolver {
  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => UserConnection, { description: 'Users of the tenant (deleted ones excluded), filtered and ordered.' })
  async users(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Args() page: ConnectionArgs,
    @Arg('filter', () => UserFilter, { nullable: true }) filter?: UserFilter | null,
    @Arg('orderBy', () => UserOrder, { nullable: true }) orderBy?: UserOrder | null,
  ) {
    return usersConnection(
      ctx,
      info,
      {
        active: filter?.active,
        teamId: filter?.teamId ? (idOf(filter.teamId, 'Team') ?? 'none') : null,
        roleId: filter?.roleId ? (idOf(filter.roleId, 'Role') ?? 'none') : null,
        managerId: filter?.managerId ? (idOf(filter.managerId, 'User') ?? 'none') : null,
        search: filter?.search,
        orderBy: orderBy?.field,
        descending: orderBy?.descending,
      },
      page,
    );
  }

  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => User, { nullable: true })
  async user(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    const uuid = idOf(id, 'User');
    return uuid ? ctx.loaders.user.load(uuid) : null;
  }

  @FieldResolver(() => ID) id(@Root() u: UserEntity) {
    return toGlobalId('User', u.id);
  }
  @FieldResolver(() => String) scimId(@Root() u: UserEntity) {
    return u.id;
  }
  @FieldResolver(() => UserName) name(@Root() u: UserEntity): UserName {
    return {
      formatted: u.formattedName ?? null,
      givenName: u.givenName ?? null,
      familyName: u.familyName ?? null,
      middleName: u.middleName ?? null,
      honorificPrefix: u.honorificPrefix ?? null,
      honorificSuffix: u.honorificSuffix ?? null,
    };
  }
  @FieldResolver(() => [Email]) emails(@Root() u: UserEntity): Email[] {
    return u.emails.map((e) => ({ value: e.value, type: e.type ?? null, primary: e.primary ?? false }));
  }
  @FieldResolver(() => [PhoneNumber]) phoneNumbers(@Root() u: UserEntity): PhoneNumber[] {
    return u.phoneNumbers.map((e) => ({ value: e.value, type: e.type ?? null, primary: e.primary ?? false }));
  }
  @FieldResolver(() => [Address]) addresses(@Root() u: UserEntity): Address[] {
    return u.addresses.map((a) => ({
      formatted: a.formatted ?? null,
      streetAddress: a.streetAddress ?? null,
      locality: a.locality ?? null,
      region: a.region ?? null,
      postalCode: a.postalCode ?? null,
      country: a.country ?? null,
      type: a.type ?? null,
      primary: a.primary ?? false,
    }));
  }
  @FieldResolver(() => String, { nullable: true }) pendingManagerRef(@Root() u: UserEntity) {
    return u.managerRef ?? null;
  }
  @FieldResolver(() => Object) customAttributes(@Root() u: UserEntity) {
    return u.custom;
  }

  // Not `async`: a team or manager the page read with its nodes is answered as a value, and graphql-js then
  // completes the page's objects without a promise per field (docs/performance.md, round 6).
  @FieldResolver(() => Team, { nullable: true, description: 'The team (department) the user belongs to.' })
  team(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext): TeamEntity | null | Promise<TeamEntity | null> {
    const read = ctx.loaders.pageTeams.get(u);
    if (read !== undefined) return read;
    return u.teamId ? ctx.loaders.team.load(u.teamId) : null;
  }

  @FieldResolver(() => User, { nullable: true })
  manager(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext): UserEntity | null | Promise<UserEntity | null> {
    const read = ctx.loaders.pageManagers.get(u);
    if (read !== undefined) return read;
    return u.managerId ? ctx.loaders.user.load(u.managerId) : null;
  }

  @FieldResolver(() => [Role], { description: 'Roles (SCIM groups) the user holds.' })
  async roles(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext) {
    const ids = await ctx.loaders.roleIdsOfUser.load(u.id);
    const roles = await ctx.loaders.role.loadMany(ids);
    return roles.filter((r) => r && !(r instanceof Error));
  }

  @FieldResolver(() => UserConnection)
  async directReports(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo, @Args() page: ConnectionArgs) {
    return usersConnection(ctx, info, { managerId: u.id }, page);
  }

  @FieldResolver(() => [User], { description: 'The managers above this user, nearest first, up to the top.' })
  async reportingChain(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext) {
    const scope = tenantScope(ctx);
    const chain = await managerChain(scope.em, scope.tenantId, u.id);
    const users = await ctx.loaders.user.loadMany(chain.map((c) => c.id));
    return users.filter((x) => x && !(x instanceof Error));
  }

  @FieldResolver(() => SubtreeConnection, { description: 'Everyone below this user, with depth, nearest levels first.' })
  async subtree(
    @Root() u: UserEntity,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('maxDepth', () => Int, { defaultValue: 8, description: 'At most 50.' }) maxDepth: number,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('activeOnly', { defaultValue: false }) activeOnly?: boolean,
  ) {
    const scope = tenantScope(ctx);
    if (maxDepth < 1 || maxDepth > 50)
      throw new DomainError(ErrorCode.INVALID_INPUT, 'maxDepth must be from 1 to 50', { field: 'maxDepth' });
    const limit = first ?? 20;
    if (limit < 0 || limit > MAX_PAGE_SIZE)
      throw new DomainError(ErrorCode.INVALID_INPUT, `first must be from 0 to ${MAX_PAGE_SIZE}`, { field: 'first' });
    let cursor: { depth: number; id: string } | undefined;
    if (after) {
      const c = decodeCursor(after, 'after');
      if (typeof c.key !== 'number')
        throw new DomainError(ErrorCode.INVALID_INPUT, 'after: not a cursor from this connection', { field: 'after' });
      cursor = { depth: c.key, id: c.id };
    }
    // A query reads the page's people in the page's statement, in the columns it selects of them.
    const projection = ctx.operation.readOnly ? userProjection(selectedFields(info, ['edges', 'node'])) : undefined;
    const page = await subtreePage(scope.em, scope.tenantId, u.id, {
      maxDepth,
      limit: limit + 1,
      after: cursor,
      includeInactive: !activeOnly,
      users: projection,
    });
    const rows = page.rows.slice(0, limit);
    const users = projection ? rows.map((r) => (r.user ? userView(r.user) : null)) : await ctx.loaders.user.loadMany(rows.map((r) => r.id));
    if (projection === 'all') for (const user of users) if (user && !(user instanceof Error)) ctx.loaders.user.prime(user.id, user);
    const edges = rows.map((r, i) => ({ node: users[i], depth: r.depth, cursor: encodeCursor(r.depth, r.id) }));
    return {
      edges,
      totalCount: page.totalCount,
      pageInfo: {
        hasNextPage: page.rows.length > limit,
        hasPreviousPage: Boolean(after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  @Authorized(Permission.AUDIT_READ)
  @FieldResolver(() => AuditEventConnection, { description: 'Changes to this user, newest first.' })
  async auditTrail(@Root() u: UserEntity, @Ctx() ctx: GraphQLContext, @Args() page: ConnectionArgs) {
    return toConnection(await listAuditEvents(tenantScope(ctx), { targetId: u.id }, page));
  }

  // ----- mutations -----

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload)
  createUser(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateUserInput) input: CreateUserInput) {
    return runMutation(
      ctx,
      async (scope) => ({
        user: await createUser(scope, { ...toUserCommand(input), userName: input.userName, id: input.scimId ?? undefined }),
      }),
      { user: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload)
  updateUser(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('input', () => UpdateUserInput) input: UpdateUserInput) {
    return runMutation(ctx, async (scope) => ({ user: await updateUser(scope, userIdOrThrow(id), toUserCommand(input)) }), { user: null });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload, { description: 'Sets (or, with null, clears) the manager. Refused if it would make a cycle.' })
  setManager(
    @Ctx() ctx: GraphQLContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('manager', () => ManagerRefInput, { nullable: true }) manager: ManagerRefInput | null,
  ) {
    return runMutation(
      ctx,
      async (scope) => ({ user: await updateUser(scope, userIdOrThrow(userId), { manager: managerRef(manager ?? null) }) }),
      { user: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload, { description: 'Moves a user to a team (null: no team).' })
  moveUserToTeam(
    @Ctx() ctx: GraphQLContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('teamId', () => ID, { nullable: true }) teamId: string | null,
  ) {
    return runMutation(
      ctx,
      async (scope) => ({
        user: await updateUser(scope, userIdOrThrow(userId), { teamId: teamId === null ? null : (idOf(teamId, 'Team') ?? 'unknown') }),
      }),
      { user: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload, { description: 'Deactivates: access ends; team, manager and roles are kept.' })
  deactivateUser(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(ctx, async (scope) => ({ user: await deactivateUser(scope, userIdOrThrow(id)) }), { user: null });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UserPayload)
  reactivateUser(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(ctx, async (scope) => ({ user: await reactivateUser(scope, userIdOrThrow(id)) }), { user: null });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => DeletePayload, {
    description: 'Deletes: the user disappears (a tombstone stays for history); userName and externalId are free again.',
  })
  deleteUser(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await deleteUser(scope, userIdOrThrow(id));
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => DeletePayload, {
    description: 'Erases personal data for good (deleting the user first if needed); audit entries keep who/what/when only.',
  })
  eraseUser(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await eraseUser(scope, userIdOrThrow(id));
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }
}
