import { defineEntity, p } from '@mikro-orm/core';

export const ScimCredentialSchema = defineEntity({
  name: 'ScimCredential',
  tableName: 'scim_credentials',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    kind: p.string().$type<'bearer' | 'basic'>(),
    secretHash: p.blob(),
    basicUsername: p.string().nullable(),
    prefix: p.string(),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class ScimCredential extends ScimCredentialSchema.class {}
ScimCredentialSchema.setClass(ScimCredential);

export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary(),
    /** null for operator keys */
    tenantId: p.uuid().nullable(),
    name: p.string(),
    permissions: p.array<string>().columnType('text[]'),
    secretHash: p.blob(),
    prefix: p.string(),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
