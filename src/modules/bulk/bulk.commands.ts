import { z } from 'zod';
import { UserFields } from '../users/user.commands.js';

/** How an upsert finds the existing user: by the IdP's anchor, or by login. */
export const MatchBy = z.enum(['externalId', 'userName']);
export type MatchBy = z.infer<typeof MatchBy>;

/** What an upsert (or any line) did to its target. */
export type Outcome = 'created' | 'updated' | 'unchanged';

/** The most items one synchronous batch (GraphQL upsertUsers / assignRoles) may carry. */
export const MAX_BATCH_ITEMS = 1000;

/**
 * The user fields a bulk line (and the GraphQL batch, through its own input type) may set: the domain's
 * own field names, so a line means exactly what the domain command means. `customAttributes` is the
 * domain's `custom`.
 */
export const UPSERT_FIELDS: ReadonlySet<string> = new Set([
  ...Object.keys(UserFields.shape).filter((k) => k !== 'custom'),
  'customAttributes',
]);

const nonEmpty = z.string().trim().min(1, 'must not be empty').max(256);

/** Names one existing user: exactly one of id, externalId, userName. */
export const UserSelector = z
  .object({ id: nonEmpty.optional(), externalId: nonEmpty.optional(), userName: nonEmpty.optional() })
  .strict()
  .refine(
    (s) => [s.id, s.externalId, s.userName].filter((v) => v !== undefined).length === 1,
    'give exactly one of id, externalId, userName',
  );
export type UserSelector = z.infer<typeof UserSelector>;

const TeamSelector = z
  .object({ id: nonEmpty.optional(), name: z.string().trim().min(1).max(200).optional() })
  .strict()
  .refine((s) => (s.id === undefined) !== (s.name === undefined), 'give exactly one of id, name');

const RoleSelector = z
  .object({ id: nonEmpty.optional(), displayName: nonEmpty.optional() })
  .strict()
  .refine((s) => (s.id === undefined) !== (s.displayName === undefined), 'give exactly one of id, displayName');

const UpsertUserFields = z.record(z.string(), z.unknown()).superRefine((user, ctx) => {
  for (const key of Object.keys(user)) {
    if (!UPSERT_FIELDS.has(key))
      ctx.addIssue({ code: 'custom', path: [key], message: 'is not a user field (see "Bulk jobs" in README.md)' });
  }
  if (typeof user.userName !== 'string') ctx.addIssue({ code: 'custom', path: ['userName'], message: 'is required' });
});

/**
 * One line of a bulk job (JSON Lines: one JSON object per line). The format is documented in README.md
 * ("Bulk jobs"); every line is validated here, then applied through the same domain operations as the
 * single mutations.
 */
export const BulkLine = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsertUser'), matchBy: MatchBy.optional(), user: UpsertUserFields }).strict(),
  z.object({ op: z.literal('deactivateUser'), user: UserSelector }).strict(),
  z
    .object({
      op: z.literal('setManager'),
      user: UserSelector,
      // A manager named by externalId or id that does not exist yet stays pending (linked when it arrives).
      manager: UserSelector.nullable(),
    })
    .strict(),
  z.object({ op: z.literal('moveTeam'), user: UserSelector, team: TeamSelector.nullable() }).strict(),
  z.object({ op: z.literal('assignRole'), user: UserSelector, role: RoleSelector }).strict(),
  z.object({ op: z.literal('unassignRole'), user: UserSelector, role: RoleSelector }).strict(),
]);
export type BulkLine = z.infer<typeof BulkLine>;
export type BulkOp = BulkLine['op'];
export const BULK_OPS: readonly BulkOp[] = ['upsertUser', 'deactivateUser', 'setManager', 'moveTeam', 'assignRole', 'unassignRole'];

/** What a line that applied reports. */
export interface LineResult {
  outcome: Outcome;
  userId: string;
  roleId?: string;
}
