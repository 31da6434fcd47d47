/**
 * SCIM 2.0 URNs (RFC 7643 §3, §8.7; RFC 7644 §3.5.2, §3.7, §3.12, §3.4.3, §4, §8.2).
 * URNs are compared case-insensitively wherever Roster reads them from a client (`sameUrn`).
 */

/** RFC 7643 §4.1: the core User resource schema. */
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** RFC 7643 §4.3: the Enterprise User extension. */
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** RFC 7643 §4.2: the core Group resource schema. */
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** RFC 7643 §5: /ServiceProviderConfig. */
export const SERVICE_PROVIDER_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
/** RFC 7643 §6: /ResourceTypes. */
export const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
/** RFC 7643 §7: /Schemas. */
export const SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** RFC 7644 §3.5.2: PATCH request body. */
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** RFC 7644 §3.4.2: query responses. */
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** RFC 7644 §3.4.3: POST /.search. */
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
/** RFC 7644 §3.7: /Bulk request. */
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
/** RFC 7644 §3.7: /Bulk response. */
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
/** RFC 7644 §3.12: error responses. */
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Id of a tenant's custom User extension schema (see `customUserExtension` in definitions.ts). */
export function customUserExtensionUrn(tenantSlug: string): string {
  return `urn:roster:params:scim:schemas:extension:${tenantSlug}:2.0:User`;
}

/** Schema URIs are compared without regard to case (clients vary, e.g. `...:2.0:user`). */
export function sameUrn(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
