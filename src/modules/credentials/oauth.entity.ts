import { defineEntity, p } from '@mikro-orm/core';

/** An OAuth 2.0 client of the SCIM door (client credentials grant). `clientId` is public; its secrets are not. */
export const OAuthClientSchema = defineEntity({
  name: 'OAuthClient',
  tableName: 'oauth_clients',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    clientId: p.string(),
    name: p.string(),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class OAuthClient extends OAuthClientSchema.class {}
OAuthClientSchema.setClass(OAuthClient);

/** A client secret, stored as its SHA-256 digest. Several are valid at once only during a rotation's overlap. */
export const OAuthClientSecretSchema = defineEntity({
  name: 'OAuthClientSecret',
  tableName: 'oauth_client_secrets',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    clientId: p.uuid(),
    secretHash: p.blob(),
    prefix: p.string(),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class OAuthClientSecret extends OAuthClientSecretSchema.class {}
OAuthClientSecretSchema.setClass(OAuthClientSecret);
