/**
 * The closed set of failures the domain can report. Transports translate them exactly once:
 * graphql/format-error.ts (extensions.code, userErrors) and scim/middleware/scim-errors.ts (status, scimType).
 */
export const ErrorCode = {
  INVALID_INPUT: 'INVALID_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  MANAGER_CYCLE: 'MANAGER_CYCLE',
  TEAM_CYCLE: 'TEAM_CYCLE',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface DomainErrorOptions {
  /** The input field the error is about, as the caller named it (e.g. 'userName', 'managerId'). */
  field?: string;
  /** A finer, stable reason, e.g. 'USER_NAME_TAKEN'. */
  reason?: string;
}

export class DomainError extends Error {
  readonly field?: string;
  readonly reason?: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.field = options.field;
    this.reason = options.reason;
  }
}

export function assertThat(condition: unknown, code: ErrorCode, message: string, options?: DomainErrorOptions): asserts condition {
  if (!condition) throw new DomainError(code, message, options);
}

export const notFound = (what: string, field?: string) => new DomainError(ErrorCode.NOT_FOUND, `${what} not found`, { field });
