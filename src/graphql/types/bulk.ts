import { ArgsType, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionOf, Node, UserError } from './common.js';
import { Role, User } from './directory.js';
import { UserFieldsInput } from './inputs.js';

export enum UpsertMatchBy {
  EXTERNAL_ID = 'externalId',
  USER_NAME = 'userName',
}
registerEnumType(UpsertMatchBy, {
  name: 'UpsertMatchBy',
  description: 'How an upsert finds the user it updates: by externalId, or by userName (case-insensitively).',
});

export enum ChangeOutcome {
  CREATED = 'created',
  UPDATED = 'updated',
  UNCHANGED = 'unchanged',
}
registerEnumType(ChangeOutcome, {
  name: 'ChangeOutcome',
  description: 'What an item of a batch, or a line of a bulk job, did. UNCHANGED wrote nothing (no version bump, no audit entry).',
});

// ----- synchronous batches -----

@InputType({
  description: 'A user to create, or to update when one matches. Omitted fields are left as they are (on update), null clears.',
})
export class UpsertUserInput extends UserFieldsInput {
  @Field() userName!: string;
}

@InputType()
export class UpsertUsersInput {
  @Field(() => [UpsertUserInput], { description: 'At most 1,000 users.' }) users!: UpsertUserInput[];
  @Field(() => UpsertMatchBy, { defaultValue: UpsertMatchBy.EXTERNAL_ID, description: 'With EXTERNAL_ID every user needs an externalId.' })
  matchBy!: UpsertMatchBy;
}

@ObjectType({ description: 'The result of one item of a batch; items are applied independently (each in its own savepoint).' })
export class UpsertUserResult {
  @Field(() => Int, { description: 'Position of the item in the input list (0-based).' }) index!: number;
  @Field(() => ChangeOutcome, { nullable: true, description: 'null when the item failed (see userErrors).' })
  outcome!: ChangeOutcome | null;
  @Field(() => User, { nullable: true }) user!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class UpsertUsersPayload {
  @Field(() => [UpsertUserResult], {
    description: 'One per input item, in input order; empty when the whole call was refused (see userErrors).',
  })
  results!: UpsertUserResult[];
  @Field(() => Int) created!: number;
  @Field(() => Int) updated!: number;
  @Field(() => Int) unchanged!: number;
  @Field(() => Int) failed!: number;
  @Field(() => [UserError], { description: 'Problems with the call as a whole (e.g. LIMIT_EXCEEDED); per-item problems are in results.' })
  userErrors!: UserError[];
}

@InputType()
export class RoleAssignmentInput {
  @Field(() => ID) roleId!: string;
  @Field(() => [ID], { description: 'Users (global ids or SCIM ids), at most 10,000 per assignment.' }) userIds!: string[];
}

@InputType()
export class RoleAssignmentsInput {
  @Field(() => [RoleAssignmentInput], { description: 'At most 1,000 assignments.' }) assignments!: RoleAssignmentInput[];
}

@ObjectType()
export class RoleAssignmentResult {
  @Field(() => Int, { description: 'Position of the assignment in the input list (0-based).' }) index!: number;
  @Field(() => Role, { nullable: true }) role!: unknown;
  @Field(() => Int, {
    nullable: true,
    description: 'Assignments added (or removed); 0 when all were already so. null when the item failed.',
  })
  changed!: number | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class RoleAssignmentsPayload {
  @Field(() => [RoleAssignmentResult]) results!: RoleAssignmentResult[];
  @Field(() => Int, { description: 'Assignments added (or removed) in total.' }) changed!: number;
  @Field(() => Int) failed!: number;
  @Field(() => [UserError]) userErrors!: UserError[];
}

// ----- asynchronous bulk jobs -----

export enum BulkJobStatus {
  UPLOADING = 'uploading',
  QUEUED = 'queued',
  RUNNING = 'running',
  COMPLETED = 'completed',
  CANCELLED = 'cancelled',
}
registerEnumType(BulkJobStatus, {
  name: 'BulkJobStatus',
  description:
    'UPLOADING: accepting lines (appendBulkJobLines); QUEUED: waiting for a worker; RUNNING; COMPLETED: every line applied or failed; CANCELLED.',
});

export enum BulkLineStatus {
  PENDING = 'pending',
  SUCCEEDED = 'succeeded',
  FAILED = 'failed',
}
registerEnumType(BulkLineStatus, { name: 'BulkLineStatus' });

export enum BulkLineErrorCode {
  INVALID_INPUT = 'INVALID_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  MANAGER_CYCLE = 'MANAGER_CYCLE',
  TEAM_CYCLE = 'TEAM_CYCLE',
  PRECONDITION_FAILED = 'PRECONDITION_FAILED',
  LIMIT_EXCEEDED = 'LIMIT_EXCEEDED',
  FORBIDDEN = 'FORBIDDEN',
  INTERNAL_ERROR = 'INTERNAL_ERROR',
}
registerEnumType(BulkLineErrorCode, {
  name: 'BulkLineErrorCode',
  description: 'The UserErrorCode a line failed with, or INTERNAL_ERROR (logged on the server with the job id and line number).',
});

@ObjectType({ description: 'Why a line failed. The line changed nothing.' })
export class BulkLineError {
  @Field(() => BulkLineErrorCode) code!: BulkLineErrorCode;
  @Field(() => String, { nullable: true, description: 'The field of the line at fault, e.g. "user.userName".' }) field!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field() message!: string;
}

@ObjectType({ description: 'One line of a bulk job and what became of it.' })
export class BulkJobLine {
  @Field(() => Int, { description: 'The line number in the uploaded JSON Lines (1-based).' }) lineNumber!: number;
  @Field(() => String, { nullable: true, description: 'The op of the line, when it has one.' }) op!: string | null;
  @Field({ description: 'The line as uploaded.' }) input!: string;
  @Field(() => BulkLineStatus) status!: BulkLineStatus;
  @Field(() => ChangeOutcome, { nullable: true }) outcome!: ChangeOutcome | null;
  @Field(() => User, { nullable: true, description: 'The user the line applied to (when it succeeded).' }) user!: unknown;
  @Field(() => Role, { nullable: true, description: 'For assignRole / unassignRole: the role.' }) role!: unknown;
  @Field(() => BulkLineError, { nullable: true }) error!: BulkLineError | null;
  @Field(() => Date, { nullable: true }) processedAt!: Date | null;
}

export const BulkJobLineConnection = ConnectionOf(BulkJobLine, 'BulkJobLine');

@ObjectType({
  implements: Node,
  description: 'An asynchronous bulk job: JSON Lines applied by the workers of every Roster process, each line exactly once.',
})
export class BulkJob extends Node {
  @Field(() => BulkJobStatus) status!: BulkJobStatus;
  @Field(() => String, { nullable: true, description: 'The idempotency key it was started with.' }) clientKey!: string | null;
  @Field(() => Int, { description: 'Lines stored (blank lines are not).' }) totalLines!: number;
  @Field(() => Int, { description: 'The highest line number received; an upload continues at receivedThrough + 1.' })
  receivedThrough!: number;
  @Field(() => Int) processed!: number;
  @Field(() => Int) succeeded!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int, { description: 'Lines not applied yet (after a cancel: never to be).' }) pending!: number;
  @Field(() => Float, { description: 'processed / totalLines, from 0 to 1.' }) progress!: number;
  @Field(() => String, {
    nullable: true,
    description: 'The credential that started it; its lines are applied, and audited, as this credential.',
  })
  createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

export const BulkJobConnection = ConnectionOf(BulkJob, 'BulkJob');

@ArgsType()
export class BulkJobLinesArgs {
  @Field(() => BulkLineStatus, { nullable: true, description: 'Only lines with this status (e.g. FAILED).' })
  status?: BulkLineStatus | null;
  @Field(() => Int, { nullable: true, description: 'At most 100.' }) first?: number | null;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => Int, { nullable: true, description: 'At most 100.' }) last?: number | null;
  @Field(() => String, { nullable: true }) before?: string | null;
}

@InputType()
export class StartBulkJobInput {
  @Field(() => String, {
    nullable: true,
    description:
      'JSON Lines: one operation per line (see "Bulk jobs" in the README). Optional: lines can also be sent with appendBulkJobLines.',
  })
  lines?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'An idempotency key (e.g. a hash of the file): starting again with the same key returns the same job (reused: true).',
  })
  clientKey?: string | null;
  @Field({ defaultValue: true, description: 'false keeps the job UPLOADING, to send more lines with appendBulkJobLines; true queues it.' })
  complete!: boolean;
}

@ObjectType()
export class StartBulkJobPayload {
  @Field(() => BulkJob, { nullable: true }) job!: unknown;
  @Field(() => Boolean, {
    nullable: true,
    description: 'true when clientKey named an existing job, which is returned instead of a new one.',
  })
  reused!: boolean | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@InputType()
export class AppendBulkJobLinesInput {
  @Field(() => ID) jobId!: string;
  @Field({ description: 'More JSON Lines.' }) lines!: string;
  @Field(() => Int, {
    description:
      'The line number of the first line sent (receivedThrough + 1 to continue; lines already received are skipped, so a retried chunk is harmless).',
  })
  firstLineNumber!: number;
  @Field({ defaultValue: false, description: 'true: the upload is complete, queue the job.' }) complete!: boolean;
}

@ObjectType()
export class BulkJobPayload {
  @Field(() => BulkJob, { nullable: true }) job!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}
