/** RFC 7644 §3.12 scimType values a PATCH can fail with (all are HTTP 400). */
export type ScimPatchErrorType = 'invalidPath' | 'noTarget' | 'invalidValue' | 'mutability' | 'invalidSyntax';

/**
 * A PATCH request that cannot be applied. The SCIM error middleware maps it to
 * `{ status: "400", scimType, detail: message }`.
 */
export class ScimPatchError extends Error {
  constructor(
    message: string,
    readonly scimType: ScimPatchErrorType,
  ) {
    super(message);
    this.name = 'ScimPatchError';
  }
}
