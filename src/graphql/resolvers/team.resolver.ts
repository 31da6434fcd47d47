import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Permission } from '../../kernel/scope.js';
import { keysetPage } from '../../infra/orm/keyset.js';
import { Team as TeamEntity } from '../../modules/teams/team.entity.js';
import { createTeam, deleteTeam, updateTeam } from '../../modules/teams/team.service.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import { toConnection } from '../types/common.js';
import { ConnectionArgs, DeletePayload, Team, TeamConnection, TeamPayload, UserConnection } from '../types/directory.js';
import { CreateTeamInput, UpdateTeamInput } from '../types/inputs.js';
import { runMutation, tenantScope, usersConnection } from './helpers.js';

const teamId = (id: string | null | undefined) => (id == null ? id : (idOf(id, 'Team') ?? 'unknown'));

@Resolver(() => Team)
export class TeamResolver {
  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => TeamConnection, { description: 'Teams ordered by name; rootsOnly gives the top of the tree.' })
  async teams(@Ctx() ctx: GraphQLContext, @Args() page: ConnectionArgs, @Arg('rootsOnly', { defaultValue: false }) rootsOnly: boolean) {
    const scope = tenantScope(ctx);
    const result = await keysetPage<Record<string, unknown>>(
      scope.em,
      {
        select: 't.*',
        from: `from teams t where t.tenant_id = ?${rootsOnly ? ' and t.parent_id is null' : ''}`,
        params: [scope.tenantId],
        alias: 't',
        sortExpr: 'lower(t.name)',
        sortType: 'text',
      },
      page,
    );
    return toConnection({ ...result, nodes: result.nodes.map((r) => scope.em.map(TeamEntity, r)) });
  }

  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => Team, { nullable: true })
  async team(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    const uuid = idOf(id, 'Team');
    return uuid ? ctx.loaders.team.load(uuid) : null;
  }

  @FieldResolver(() => ID) id(@Root() t: TeamEntity) {
    return toGlobalId('Team', t.id);
  }

  @FieldResolver(() => Team, { nullable: true })
  parent(@Root() t: TeamEntity, @Ctx() ctx: GraphQLContext) {
    return t.parentId ? ctx.loaders.team.load(t.parentId) : null;
  }

  @FieldResolver(() => [Team], { description: 'Direct sub-teams, by name.' })
  async children(@Root() t: TeamEntity, @Ctx() ctx: GraphQLContext) {
    const scope = tenantScope(ctx);
    return scope.em.find(TeamEntity, { tenantId: scope.tenantId, parentId: t.id }, { orderBy: { name: 'asc' }, limit: 1000 });
  }

  @FieldResolver(() => UserConnection, { description: 'Members (users whose team this is).' })
  async members(@Root() t: TeamEntity, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo, @Args() page: ConnectionArgs) {
    return usersConnection(ctx, info, { teamId: t.id }, page);
  }

  @FieldResolver(() => Int)
  async memberCount(@Root() t: TeamEntity, @Ctx() ctx: GraphQLContext) {
    const scope = tenantScope(ctx);
    const rows = await scope.em.execute<Array<{ n: string }>>(
      `select count(*) as n from users where tenant_id = ? and team_id = ? and deleted_at is null`,
      [scope.tenantId, t.id],
    );
    return Number(rows[0].n);
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => TeamPayload)
  createTeam(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateTeamInput) input: CreateTeamInput) {
    return runMutation(
      ctx,
      async (scope) => ({
        team: await createTeam(scope, { name: input.name, description: input.description, parentId: teamId(input.parentId) }),
      }),
      { team: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => TeamPayload, {
    description: 'Renames, describes or moves a team (parentId null: to the top). Refused if it would nest a team inside itself.',
  })
  updateTeam(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('input', () => UpdateTeamInput) input: UpdateTeamInput) {
    return runMutation(
      ctx,
      async (scope) => ({
        team: await updateTeam(scope, teamId(id) as string, {
          name: input.name ?? undefined,
          description: input.description,
          parentId: teamId(input.parentId),
        }),
      }),
      { team: null },
    );
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => DeletePayload, { description: 'Deletes a team; its members stay (without a team) and its sub-teams move up.' })
  deleteTeam(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(
      ctx,
      async (scope) => {
        await deleteTeam(scope, teamId(id) as string);
        return { deletedId: id };
      },
      { deletedId: null },
    );
  }
}
