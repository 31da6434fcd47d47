import { DB_UNAVAILABLE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../infra/db/unavailable.js';
import { isTimeout } from '../infra/db/timeouts.js';
import { TIMEOUT_RETRY_AFTER_SECONDS } from '../kernel/deadline.js';
import { DomainError, ErrorCode } from '../kernel/errors.js';
import { translateDbError } from '../infra/orm/db-errors.js';
import { ScimFilterError } from './filter/errors.js';
import { ScimPatchError } from './patch/errors.js';
import { ERROR } from './schemas/urns.js';

/** RFC 7644 §3.12 scimType values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor'
  | 'expiredCursor';

/** A protocol-level failure on /scim/v2 (the domain's own failures are DomainErrors, mapped below). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ScimError';
  }
}

export interface ScimErrorBody {
  schemas: [typeof ERROR];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export const scimErrorBody = (status: number, detail: string, scimType?: ScimType): ScimErrorBody => ({
  schemas: [ERROR],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail,
});

const DOMAIN: Record<ErrorCode, { status: number; scimType?: ScimType }> = {
  INVALID_INPUT: { status: 400, scimType: 'invalidValue' },
  NOT_FOUND: { status: 404 },
  CONFLICT: { status: 409, scimType: 'uniqueness' },
  FORBIDDEN: { status: 403 },
  UNAUTHENTICATED: { status: 401 },
  PRECONDITION_FAILED: { status: 412 },
  MANAGER_CYCLE: { status: 400, scimType: 'invalidValue' },
  TEAM_CYCLE: { status: 400, scimType: 'invalidValue' },
  LIMIT_EXCEEDED: { status: 400, scimType: 'tooMany' },
};

/**
 * The one translation of every failure to the SCIM error shape. Unknown errors return null (the caller
 * logs them and answers a bare 500 SCIM error without internals).
 */
export function toScimError(raw: unknown): { status: number; body: ScimErrorBody; headers?: Record<string, string> } | null {
  const err = translateDbError(raw);
  if (err instanceof ScimError)
    return { status: err.status, body: scimErrorBody(err.status, err.message, err.scimType), headers: err.headers };
  if (err instanceof ScimFilterError) return { status: 400, body: scimErrorBody(400, err.message, err.scimType) };
  if (err instanceof ScimPatchError) return { status: 400, body: scimErrorBody(400, err.message, err.scimType) };
  if (err instanceof DomainError) {
    const m = DOMAIN[err.code];
    // A member reference to a user that does not exist is a bad value in the request, not a missing resource.
    if (err.code === ErrorCode.NOT_FOUND && err.field && err.field !== 'id')
      return { status: 400, body: scimErrorBody(400, err.message, 'invalidValue') };
    return { status: m.status, body: scimErrorBody(m.status, err.message, m.scimType) };
  }
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string; name?: string };
  if (e && e.name === 'ScimProjectionError')
    return { status: 400, body: scimErrorBody(400, e.message ?? 'invalid attributes', 'invalidValue') };
  const status = e?.status ?? e?.statusCode;
  // Body-parser failures (http-errors): malformed JSON, too large, wrong charset.
  if (status === 413) return { status: 413, body: scimErrorBody(413, 'the request body is too large', 'tooMany') };
  if (status === 415) return { status: 415, body: scimErrorBody(415, 'send application/scim+json or application/json') };
  if (e?.name === 'UnacceptableInputError')
    return { status: 400, body: scimErrorBody(400, e.message ?? 'unacceptable input', 'invalidValue') };
  if (status === 400)
    return { status: 400, body: scimErrorBody(400, `malformed request body: ${e.message ?? 'invalid JSON'}`, 'invalidSyntax') };
  // Out of time (request deadline or statement_timeout): the transaction was rolled back.
  if (isTimeout(err)) {
    const retry = String(TIMEOUT_RETRY_AFTER_SECONDS);
    return {
      status: 503,
      body: scimErrorBody(503, `the request took too long and was abandoned; nothing was changed; retry after ${retry} seconds`),
      headers: { 'Retry-After': retry },
    };
  }
  // Database restarting, unreachable, out of connections, or a transaction to retry: nothing was written.
  if (isDatabaseUnavailable(err)) {
    const retry = String(DB_UNAVAILABLE_RETRY_AFTER_SECONDS);
    return {
      status: 503,
      body: scimErrorBody(503, `the service is temporarily unavailable; nothing was changed; retry after ${retry} seconds`),
      headers: { 'Retry-After': retry },
    };
  }
  return null;
}
