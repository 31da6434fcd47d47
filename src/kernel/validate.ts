import type { z } from 'zod';
import { DomainError, ErrorCode } from './errors.js';

/** Parses a command with its zod schema; the first issue becomes an INVALID_INPUT DomainError naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map(String).join('.');
    throw new DomainError(ErrorCode.INVALID_INPUT, `${field || 'input'}: ${issue.message}`, { field: field || undefined });
  }
  return parsed.data;
}
