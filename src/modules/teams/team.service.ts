import { z } from 'zod';
import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { translatingDbErrors } from '../../infra/orm/db-errors.js';
import { findOrCreateByName } from '../../infra/orm/find-or-create.js';
import { TOUCHED_AT } from '../../infra/orm/sql.js';
import { diff, recordAudit } from '../audit/audit.service.js';
import { Team } from './team.entity.js';

const TeamName = z.string().trim().min(1).max(200);

export async function getTeam(scope: TenantScope, id: string): Promise<Team | null> {
  if (!isUuid(id)) return null;
  return scope.em.findOne(Team, { id, tenantId: scope.tenantId });
}

export async function requireTeam(scope: TenantScope, id: string, field = 'teamId'): Promise<Team> {
  const team = await getTeam(scope, id);
  if (!team) throw notFound('team', field);
  return team;
}

/**
 * The team a SCIM `department` (or any team name) designates, created when the name is new. Names match
 * case-insensitively; the insert is race-free (ON CONFLICT on the unique index), so two concurrent
 * provisioning requests with a new department name get the same team. Answers its id and stored name (and
 * what `alongside` selected in the same statement: findOrCreateByName).
 */
export async function ensureTeamByName(
  scope: TenantScope,
  rawName: string,
  opts: { alongside?: { sql: string; params: readonly unknown[] } } = {},
): Promise<{ id: string; name: string; alongside?: unknown }> {
  const name = parseInput(TeamName, rawName);
  const row = await findOrCreateByName(scope.em, 'teams', scope.tenantId, name, opts);
  if (row.created)
    await recordAudit(scope, {
      action: 'team.created',
      targetType: 'team',
      targetId: row.id,
      changes: { name: { before: null, after: name } },
    });
  return { id: row.id, name: row.name, alongside: row.alongside };
}

const CreateTeamInput = z.object({
  name: TeamName,
  description: z.string().max(2000).nullish(),
  parentId: z.string().nullish(),
});

export async function createTeam(scope: TenantScope, input: z.input<typeof CreateTeamInput>): Promise<Team> {
  const cmd = parseInput(CreateTeamInput, input);
  if (cmd.parentId) await requireTeam(scope, cmd.parentId, 'parentId');
  const team = scope.em.create(Team, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    name: cmd.name,
    description: cmd.description ?? null,
    parentId: cmd.parentId ?? null,
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  await recordAudit(scope, {
    action: 'team.created',
    targetType: 'team',
    targetId: team.id,
    changes: diff({}, { name: team.name, description: team.description, parentId: team.parentId }, ['name', 'description', 'parentId']),
  });
  await translatingDbErrors(() => scope.em.flush());
  return team;
}

const UpdateTeamInput = z.object({
  name: TeamName.optional(),
  description: z.string().max(2000).nullish(),
  parentId: z.string().nullish(),
});

export async function updateTeam(scope: TenantScope, id: string, input: z.input<typeof UpdateTeamInput>): Promise<Team> {
  const cmd = parseInput(UpdateTeamInput, input);
  const team = await requireTeam(scope, id, 'id');
  const before = { name: team.name, description: team.description, parentId: team.parentId };
  if (cmd.name !== undefined) team.name = cmd.name;
  if (cmd.description !== undefined) team.description = cmd.description;
  if (cmd.parentId !== undefined) {
    if (cmd.parentId !== null) {
      await requireTeam(scope, cmd.parentId, 'parentId');
      await assertNoTeamCycle(scope, team.id, cmd.parentId);
    }
    team.parentId = cmd.parentId;
  }
  const changes = diff(before, team, ['name', 'description', 'parentId']);
  if (Object.keys(changes).length > 0) {
    await recordAudit(scope, { action: 'team.updated', targetType: 'team', targetId: team.id, changes });
    await translatingDbErrors(() => scope.em.flush());
  }
  return team;
}

async function assertNoTeamCycle(scope: TenantScope, teamId: string, newParentId: string): Promise<void> {
  // Serialise hierarchy changes in this tenant so two concurrent moves cannot each pass the check.
  await scope.em.execute(`select pg_advisory_xact_lock(hashtextextended('roster.teams:' || ?, 0))`, [scope.tenantId]);
  const rows = await scope.em.execute<Array<{ hit: boolean }>>(
    `with recursive up(id, parent_id, depth) as (
       select id, parent_id, 0 from teams where tenant_id = ? and id = ?
       union all
       select t.id, t.parent_id, up.depth + 1 from teams t join up on t.id = up.parent_id
        where t.tenant_id = ? and up.depth < 1000)
     select exists (select 1 from up where id = ?) as hit`,
    [scope.tenantId, newParentId, scope.tenantId, teamId],
  );
  if (rows[0]?.hit)
    throw new DomainError(ErrorCode.TEAM_CYCLE, 'a team cannot be nested inside itself or one of its sub-teams', {
      field: 'parentId',
      reason: 'TEAM_CYCLE',
    });
}

/** Deletes a team: its members keep existing without a team, its sub-teams move up to its parent. */
export async function deleteTeam(scope: TenantScope, id: string): Promise<void> {
  const team = await requireTeam(scope, id, 'id');
  await scope.em.execute(
    `update teams set parent_id = ?, version = version + 1, updated_at = ${TOUCHED_AT} where tenant_id = ? and parent_id = ?`,
    [team.parentId, scope.tenantId, team.id],
  );
  const members = await scope.em.execute<Array<{ id: string }>>(
    `update users set team_id = null, version = version + 1, updated_at = ${TOUCHED_AT} where tenant_id = ? and team_id = ? returning id`,
    [scope.tenantId, team.id],
  );
  for (const m of members)
    await recordAudit(scope, {
      action: 'user.updated',
      targetType: 'user',
      targetId: m.id,
      changes: { teamId: { before: team.id, after: null } },
    });
  await recordAudit(scope, {
    action: 'team.deleted',
    targetType: 'team',
    targetId: team.id,
    changes: { name: { before: team.name, after: null } },
  });
  scope.em.remove(team);
  await scope.em.flush();
}
