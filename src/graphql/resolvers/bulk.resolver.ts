import { Arg, Args, Authorized, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DomainError, ErrorCode } from '../../kernel/errors.js';
import { Permission, type TenantScope } from '../../kernel/scope.js';
import { MAX_BATCH_ITEMS } from '../../modules/bulk/bulk.commands.js';
import type { BulkJob as BulkJobRecord, BulkJobLine as BulkJobLineRecord } from '../../modules/bulk/bulk-job.entity.js';
import { appendLines, cancelJob, getJob, listJobs, listLines, startJob } from '../../modules/bulk/bulk-job.service.js';
import { changeRoleOfUsers, upsertUser } from '../../modules/bulk/bulk-ops.service.js';
import type { CreateUserCommand } from '../../modules/users/user.commands.js';
import type { GraphQLContext } from '../context.js';
import { idOf, toGlobalId } from '../ids.js';
import {
  AppendBulkJobLinesInput,
  BulkJob,
  BulkJobConnection,
  BulkJobLine,
  BulkJobLineConnection,
  BulkJobLinesArgs,
  BulkJobPayload,
  BulkJobStatus,
  BulkLineError,
  BulkLineErrorCode,
  RoleAssignmentsInput,
  RoleAssignmentsPayload,
  StartBulkJobInput,
  StartBulkJobPayload,
  UpsertUsersInput,
  UpsertUsersPayload,
  type ChangeOutcome,
  type RoleAssignmentResult,
  type UpsertUserResult,
} from '../types/bulk.js';
import { toConnection, UserErrorCode, type UserError } from '../types/common.js';
import { ConnectionArgs, Role, User } from '../types/directory.js';
import { runMutation, tenantScope } from './helpers.js';
import { toUserCommand } from './user.resolver.js';

const USER_ERROR_CODES = new Set<string>(Object.values(UserErrorCode));
const userError = (err: DomainError): UserError => ({
  code: err.code as unknown as UserErrorCode,
  field: err.field ?? null,
  reason: err.reason ?? null,
  message: err.message,
});

/**
 * One item of a batch in its own savepoint: its input problems roll back to the savepoint and become the
 * item's userErrors, the other items are unaffected. Anything else fails the whole call (format-error.ts).
 */
async function runItem<T>(
  scope: TenantScope,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; errors: UserError[] }> {
  try {
    // clear: the item works on an empty identity map (not a copy of everything the batch touched so
    // far), so an item costs the same at position 1,000 as at position 1.
    return { ok: true, value: await scope.em.transactional((em) => fn({ ...scope, em }), { clear: true }) };
  } catch (err) {
    if (err instanceof DomainError && USER_ERROR_CODES.has(err.code)) return { ok: false, errors: [userError(err)] };
    throw err;
  }
}

function limitError(what: string, count: number): UserError {
  return {
    code: UserErrorCode.LIMIT_EXCEEDED,
    field: what,
    reason: 'MAX_BATCH_ITEMS',
    message: `at most ${MAX_BATCH_ITEMS} ${what} per call (got ${count}); split the batch, or start a bulk job for large imports`,
  };
}

/** A user id from a global id or a SCIM id (uuid); anything else is simply not found. */
const userIdOf = (id: string) => idOf(id, 'User') ?? id;
const jobIdOf = (id: string) => idOf(id, 'BulkJob') ?? 'unknown';

@Resolver()
export class BulkBatchResolver {
  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => UpsertUsersPayload, {
    description:
      'Creates or updates up to 1,000 users, matched by externalId or userName. Each item is applied on its own (one failing item leaves the others applied) and reported in results. Idempotent: the same batch again reports UNCHANGED and writes nothing.',
  })
  upsertUsers(@Ctx() ctx: GraphQLContext, @Arg('input', () => UpsertUsersInput) input: UpsertUsersInput) {
    return runMutation(
      ctx,
      async (scope) => {
        const counts = { created: 0, updated: 0, unchanged: 0, failed: 0 };
        if (input.users.length > MAX_BATCH_ITEMS)
          throw new DomainError(ErrorCode.LIMIT_EXCEEDED, limitError('users', input.users.length).message, {
            field: 'users',
            reason: 'MAX_BATCH_ITEMS',
          });
        const results: UpsertUserResult[] = [];
        for (const [index, item] of input.users.entries()) {
          const r = await runItem(scope, async (s) => {
            const cmd = { ...toUserCommand(item), userName: item.userName } as CreateUserCommand;
            return upsertUser(s, cmd, input.matchBy);
          });
          if (r.ok) {
            counts[r.value.outcome] += 1;
            results.push({ index, outcome: r.value.outcome as ChangeOutcome, user: r.value.user, userErrors: [] });
          } else {
            counts.failed += 1;
            results.push({ index, outcome: null, user: null, userErrors: r.errors });
          }
        }
        return { results, ...counts };
      },
      { results: null, created: null, updated: null, unchanged: null, failed: null },
    ).then(emptyWhenRefused);
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RoleAssignmentsPayload, {
    description:
      'Assigns roles to users: up to 1,000 assignments, each applied on its own and reported in results. Already-assigned users are skipped (idempotent).',
  })
  assignRoles(@Ctx() ctx: GraphQLContext, @Arg('input', () => RoleAssignmentsInput) input: RoleAssignmentsInput) {
    return changeRoles(ctx, input, 'assign');
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => RoleAssignmentsPayload, {
    description: 'Removes roles from users, like assignRoles. Removing an assignment that does not exist is a no-op.',
  })
  unassignRoles(@Ctx() ctx: GraphQLContext, @Arg('input', () => RoleAssignmentsInput) input: RoleAssignmentsInput) {
    return changeRoles(ctx, input, 'unassign');
  }
}

/** A payload refused as a whole (userErrors) still has lists and counts, empty. */
function emptyWhenRefused<P extends { userErrors: UserError[] }>(p: P): P {
  const out = p as Record<string, unknown>;
  if (out.results === null) out.results = [];
  for (const k of ['created', 'updated', 'unchanged', 'failed', 'changed']) if (k in out && out[k] === null) out[k] = 0;
  return p;
}

function changeRoles(ctx: GraphQLContext, input: RoleAssignmentsInput, kind: 'assign' | 'unassign') {
  return runMutation(
    ctx,
    async (scope) => {
      if (input.assignments.length > MAX_BATCH_ITEMS) {
        throw new DomainError(ErrorCode.LIMIT_EXCEEDED, limitError('assignments', input.assignments.length).message, {
          field: 'assignments',
          reason: 'MAX_BATCH_ITEMS',
        });
      }
      const results: RoleAssignmentResult[] = [];
      let changed = 0;
      let failed = 0;
      for (const [index, a] of input.assignments.entries()) {
        const r = await runItem(scope, (s) => changeRoleOfUsers(s, idOf(a.roleId, 'Role') ?? 'unknown', a.userIds.map(userIdOf), kind));
        if (r.ok) {
          changed += r.value.changed;
          results.push({ index, role: r.value.role, changed: r.value.changed, userErrors: [] });
        } else {
          failed += 1;
          results.push({ index, role: null, changed: null, userErrors: r.errors });
        }
      }
      return { results, changed, failed };
    },
    { results: null, changed: null, failed: null },
  ).then(emptyWhenRefused);
}

@Resolver(() => BulkJob)
export class BulkJobResolver {
  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => BulkJob, { nullable: true })
  bulkJob(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return getJob(tenantScope(ctx), jobIdOf(id));
  }

  @Authorized(Permission.DIRECTORY_READ)
  @Query(() => BulkJobConnection, { description: "The tenant's bulk jobs, newest first." })
  async bulkJobs(
    @Ctx() ctx: GraphQLContext,
    @Args() page: ConnectionArgs,
    @Arg('status', () => BulkJobStatus, { nullable: true }) status?: BulkJobStatus | null,
  ) {
    return toConnection(await listJobs(tenantScope(ctx), { status: status ?? null }, page));
  }

  @FieldResolver(() => ID) id(@Root() j: BulkJobRecord) {
    return toGlobalId('BulkJob', j.id);
  }
  @FieldResolver(() => Int) pending(@Root() j: BulkJobRecord) {
    return j.totalLines - j.processed;
  }
  @FieldResolver(() => Float) progress(@Root() j: BulkJobRecord) {
    return j.totalLines === 0 ? (j.status === 'completed' ? 1 : 0) : j.processed / j.totalLines;
  }
  @FieldResolver(() => String, { nullable: true }) createdBy(@Root() j: BulkJobRecord) {
    return j.actorLabel;
  }

  @FieldResolver(() => BulkJobLineConnection, {
    description: 'The lines in line order, with what became of each; filter by status to list the failed ones.',
  })
  async lines(@Root() j: BulkJobRecord, @Ctx() ctx: GraphQLContext, @Args() args: BulkJobLinesArgs) {
    const { status, ...page } = args;
    return toConnection(await listLines(tenantScope(ctx), j.id, { status: status ?? null }, page));
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => StartBulkJobPayload, {
    description: `Starts an asynchronous bulk job from JSON Lines. Small jobs: all lines at once. Large ones: complete: false, then appendBulkJobLines in chunks (a request body is at most 1 MB). Refused with LIMIT_EXCEEDED beyond ROSTER_BULK_MAX_LINES lines or ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT unfinished jobs.`,
  })
  startBulkJob(@Ctx() ctx: GraphQLContext, @Arg('input', () => StartBulkJobInput) input: StartBulkJobInput) {
    return runMutation(ctx, (scope) => startJob(scope, input, ctx.config.bulk), { job: null, reused: null });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => BulkJobPayload, { description: 'Appends lines to an UPLOADING job; complete: true queues it.' })
  appendBulkJobLines(@Ctx() ctx: GraphQLContext, @Arg('input', () => AppendBulkJobLinesInput) input: AppendBulkJobLinesInput) {
    return runMutation(ctx, async (scope) => ({ job: await appendLines(scope, jobIdOf(input.jobId), input, ctx.config.bulk) }), {
      job: null,
    });
  }

  @Authorized(Permission.DIRECTORY_WRITE)
  @Mutation(() => BulkJobPayload, {
    description: 'Cancels a job: no further lines are applied (a batch in flight finishes); lines already applied stay applied.',
  })
  cancelBulkJob(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return runMutation(ctx, async (scope) => ({ job: await cancelJob(scope, jobIdOf(id)) }), { job: null });
  }
}

@Resolver(() => BulkJobLine)
export class BulkJobLineResolver {
  @FieldResolver(() => String) input(@Root() l: BulkJobLineRecord) {
    return l.body;
  }
  @FieldResolver(() => User, { nullable: true }) async user(@Root() l: BulkJobLineRecord, @Ctx() ctx: GraphQLContext) {
    return l.userId ? ctx.loaders.user.load(l.userId) : null;
  }
  @FieldResolver(() => Role, { nullable: true }) async role(@Root() l: BulkJobLineRecord, @Ctx() ctx: GraphQLContext) {
    return l.roleId ? ctx.loaders.role.load(l.roleId) : null;
  }
  /** A stored code outside the enum (one the domain added later) reads as INTERNAL_ERROR rather than failing the query. */
  @FieldResolver(() => BulkLineError, { nullable: true }) error(@Root() l: BulkJobLineRecord): BulkLineError | null {
    if (!l.error) return null;
    const code = LINE_ERROR_CODES.has(l.error.code) ? (l.error.code as BulkLineErrorCode) : BulkLineErrorCode.INTERNAL_ERROR;
    return { ...l.error, code };
  }
}

const LINE_ERROR_CODES = new Set<string>(Object.values(BulkLineErrorCode));
