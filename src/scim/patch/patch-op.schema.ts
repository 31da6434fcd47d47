/**
 * Wire shape of a PATCH request body (RFC 7644 §3.5.2):
 *
 *   { "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
 *     "Operations": [{ "op": "add" | "replace" | "remove", "path"?: string, "value"?: any }] }
 *
 * Tolerances (all harmless: no valid request changes meaning):
 * - `op` is matched case-insensitively and normalised to lower case (Entra sends `Add`/`Replace`/`Remove`).
 * - Member names (`schemas`, `Operations`, `op`, `path`, `value`) are matched case-insensitively, as
 *   RFC 7643 §2.1 makes attribute names case-insensitive; so `operations` is accepted too.
 * - A `path` that is null, empty or blank is treated as absent.
 * - The PatchOp URN in `schemas` is compared case-insensitively.
 */
import { z } from 'zod';
import { PATCH_OP, sameUrn } from '../schemas/urns.js';
import { ScimPatchError, type ScimPatchErrorType } from './errors.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface NormalisedOp {
  op: PatchOpName;
  /** Absent for path-less operations (the target is the resource itself). */
  path?: string;
  /** Absent only for `remove`; JSON has no `undefined`, so absent and undefined are the same. */
  value?: unknown;
}

/** Renames keys that match `names` case-insensitively to their canonical spelling (exact spelling wins). */
function canonicalKeys(names: readonly string[]) {
  return (input: unknown): unknown => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
    const source = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const name of names) {
      const key = name in source ? name : Object.keys(source).find((k) => k.toLowerCase() === name.toLowerCase());
      if (key !== undefined) out[name] = source[key];
    }
    return out;
  };
}

const OP_ERROR = 'op must be one of "add", "replace", "remove" (any case)';

export const patchOperationSchema = z.preprocess(
  canonicalKeys(['op', 'path', 'value']),
  z
    .object(
      {
        op: z
          .string({ error: OP_ERROR })
          .transform((s) => s.trim().toLowerCase())
          .pipe(z.enum(['add', 'replace', 'remove'], { error: OP_ERROR })),
        path: z
          .string({ error: 'path must be a string' })
          .nullish()
          .transform((p) => (p == null || p.trim() === '' ? undefined : p.trim())),
        value: z.unknown().optional(),
      },
      { error: 'each operation must be an object' },
    )
    .superRefine((op, ctx) => {
      // RFC 7644 §3.5.2.1 / §3.5.2.3: add and replace MUST carry a value.
      if (op.op !== 'remove' && op.value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: `"${op.op}" requires a value`,
          params: { scimType: 'invalidValue' },
        });
      }
    })
    .transform((op): NormalisedOp => {
      const out: NormalisedOp = { op: op.op };
      if (op.path !== undefined) out.path = op.path;
      if (op.value !== undefined) out.value = op.value;
      return out;
    }),
);

export const patchRequestSchema = z.preprocess(
  canonicalKeys(['schemas', 'Operations']),
  z.object(
    {
      schemas: z
        .array(z.string(), { error: `schemas must be an array containing "${PATCH_OP}"` })
        .refine((s) => s.some((u) => sameUrn(u, PATCH_OP)), { message: `schemas must contain "${PATCH_OP}"` }),
      Operations: z
        .array(patchOperationSchema, { error: 'Operations must be an array of operations' })
        .min(1, { message: 'Operations must contain at least one operation' }),
    },
    { error: 'the PATCH body must be a JSON object' },
  ),
);

export type PatchRequest = z.output<typeof patchRequestSchema>;

/**
 * Validates a PATCH body and returns its operations with `op` normalised. Every failure is a
 * `ScimPatchError`: `invalidValue` when only a required `value` is missing, otherwise `invalidSyntax`
 * (RFC 7644 §3.12: "the request body message structure was invalid").
 */
export function parsePatchRequest(body: unknown): NormalisedOp[] {
  const result = patchRequestSchema.safeParse(body);
  if (result.success) return result.data.Operations;
  const issues = result.error.issues;
  const scimType: ScimPatchErrorType = issues.every(
    (i) => i.code === 'custom' && (i.params as { scimType?: string } | undefined)?.scimType === 'invalidValue',
  )
    ? 'invalidValue'
    : 'invalidSyntax';
  const detail = issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
  throw new ScimPatchError(`invalid PatchOp request: ${detail}`, scimType);
}
