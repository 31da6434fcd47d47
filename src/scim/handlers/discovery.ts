import { ScimError } from '../errors.js';
import { CORE_GROUP_SCHEMA, type ScimSchemaDef } from '../schemas/definitions.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, LIST_RESPONSE, RESOURCE_TYPE, SCHEMA, SERVICE_PROVIDER_CONFIG } from '../schemas/urns.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, send, userSchemas, type ScimContext } from './common.js';

/** Limits the service advertises, and enforces. */
export const SCIM_MAX_PAYLOAD_BYTES = 1_048_576;
export const SCIM_MAX_FILTER_RESULTS = MAX_PAGE_SIZE;
/** POST /Bulk (handlers/bulk.ts): operations per request, and the body limit (the SCIM body limit). */
export const SCIM_BULK_MAX_OPERATIONS = 1000;
export const SCIM_BULK_MAX_PAYLOAD_BYTES = SCIM_MAX_PAYLOAD_BYTES;

const meta = (ctx: ScimContext, resourceType: string, path: string) => ({ resourceType, location: `${ctx.state.scim.baseUrl}${path}` });

/** RFC 7643 §5: what this service supports, truthfully. */
export function serviceProviderConfig(ctx: ScimContext) {
  send(ctx, 200, {
    schemas: [SERVICE_PROVIDER_CONFIG],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: SCIM_BULK_MAX_OPERATIONS, maxPayloadSize: SCIM_BULK_MAX_PAYLOAD_BYTES },
    filter: { supported: true, maxResults: SCIM_MAX_FILTER_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865 (cursor-based pagination) alongside RFC 7644 index pagination.
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: DEFAULT_PAGE_SIZE,
      maxPageSize: MAX_PAGE_SIZE,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description:
          "The tenant's SCIM token, or an access token from the tenant's OAuth 2.0 token endpoint (<tenant host>/oauth/token, client credentials grant): Authorization: Bearer <token>",
        specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
        primary: true,
      },
      { type: 'httpbasic', name: 'HTTP Basic', description: 'A Basic credential generated in Roster (Okta Basic Auth)' },
    ],
    meta: meta(ctx, 'ServiceProviderConfig', '/ServiceProviderConfig'),
  });
}

async function resourceTypes(ctx: ScimContext) {
  const { scope, tenantSlug } = ctx.state.scim;
  const us = await userSchemas(scope, tenantSlug);
  const extensions = [{ schema: ENTERPRISE_USER, required: false }];
  if (us.customDecls.length > 0) extensions.push({ schema: us.customUrn, required: false });
  return [
    {
      schemas: [RESOURCE_TYPE],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: CORE_USER,
      schemaExtensions: extensions,
      meta: meta(ctx, 'ResourceType', '/ResourceTypes/User'),
    },
    {
      schemas: [RESOURCE_TYPE],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group (a Roster role)',
      schema: CORE_GROUP,
      schemaExtensions: [],
      meta: meta(ctx, 'ResourceType', '/ResourceTypes/Group'),
    },
  ];
}

const list = (resources: unknown[]) => ({
  schemas: [LIST_RESPONSE],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

export async function listResourceTypes(ctx: ScimContext) {
  send(ctx, 200, list(await resourceTypes(ctx)));
}

export async function getResourceType(ctx: ScimContext) {
  const found = (await resourceTypes(ctx)).find((r) => r.id.toLowerCase() === String(ctx.params.id).toLowerCase());
  if (!found) throw new ScimError(404, `ResourceType ${ctx.params.id} not found`);
  send(ctx, 200, found);
}

async function schemas(ctx: ScimContext): Promise<Array<ScimSchemaDef & { schemas: string[]; meta: unknown }>> {
  const { scope, tenantSlug } = ctx.state.scim;
  const us = await userSchemas(scope, tenantSlug);
  const all = [...us.schemas.filter((s) => s.id !== us.customUrn || us.customDecls.length > 0), CORE_GROUP_SCHEMA];
  return all.map((s) => ({ schemas: [SCHEMA], ...s, meta: meta(ctx, 'Schema', `/Schemas/${s.id}`) }));
}

export async function listSchemas(ctx: ScimContext) {
  send(ctx, 200, list(await schemas(ctx)));
}

export async function getSchema(ctx: ScimContext) {
  const found = (await schemas(ctx)).find((s) => s.id.toLowerCase() === String(ctx.params.id).toLowerCase());
  if (!found) throw new ScimError(404, `Schema ${ctx.params.id} not found`);
  send(ctx, 200, found);
}
