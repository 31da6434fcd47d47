/**
 * The one error type of the filter package. Callers (the SCIM error middleware) map it to
 * `400 Bad Request` with the `scimType` carried here (RFC 7644 §3.12, Table 9).
 */

/**
 * - `invalidFilter`: the filter is malformed, names an unknown attribute, or combines an attribute with an
 *   operator/value it does not support (RFC 7644 §3.4.2.2 and §3.12).
 * - `invalidValue`: an unusable `sortBy` parameter. RFC 7644 §3.4.2.3 does not name an error for it; §3.12
 *   defines `invalidValue` as "a required value was missing, or the value specified was not compatible with
 *   the operation or attribute type", which fits a query parameter better than `invalidPath` (a PATCH term).
 */
export type ScimFilterErrorType = 'invalidFilter' | 'invalidValue';

export class ScimFilterError extends Error {
  override readonly name = 'ScimFilterError';
  readonly status = 400;
  readonly scimType: ScimFilterErrorType;
  /** 0-based character offset in the filter text, when the error is tied to one. */
  readonly position: number | undefined;

  constructor(message: string, options: { position?: number; scimType?: ScimFilterErrorType } = {}) {
    super(options.position === undefined ? message : `${message} at position ${options.position}`);
    this.scimType = options.scimType ?? 'invalidFilter';
    this.position = options.position;
  }
}

/** Quotes request text for an error message, shortened so a hostile filter cannot bloat logs and responses. */
export function quote(text: string, max = 60): string {
  return `'${text.length > max ? `${text.slice(0, max)}…` : text}'`;
}
