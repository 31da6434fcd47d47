import type { EntityManager } from '@mikro-orm/postgresql';

/** What a credential may do. Tenant keys hold a subset of the first four; operator keys hold TENANTS_MANAGE only. */
export const Permission = {
  DIRECTORY_READ: 'directory:read',
  DIRECTORY_WRITE: 'directory:write',
  INTEGRATIONS_MANAGE: 'integrations:manage',
  AUDIT_READ: 'audit:read',
  TENANTS_MANAGE: 'tenants:manage',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];
export const TENANT_PERMISSIONS: Permission[] = [
  Permission.DIRECTORY_READ,
  Permission.DIRECTORY_WRITE,
  Permission.INTEGRATIONS_MANAGE,
  Permission.AUDIT_READ,
];

export type Door = 'graphql' | 'scim' | 'cli' | 'system';

export interface Actor {
  kind: 'api_key' | 'scim_credential' | 'oauth_client' | 'operator' | 'cli' | 'system';
  /** Credential id, when the actor is a stored credential. */
  id?: string;
  /** Human-readable: key name, credential prefix, 'cli'. Never a secret. */
  label: string;
  permissions: ReadonlySet<Permission>;
}

/**
 * Everything a domain operation needs to act for a caller inside one tenant. `em` is a fork bound to
 * the request's transaction, in which `roster.tenant_id` is set (row-level security) and the ORM's
 * tenant filter is parameterised.
 */
export interface TenantScope {
  tenantId: string;
  actor: Actor;
  door: Door;
  requestId?: string;
  em: EntityManager;
}
