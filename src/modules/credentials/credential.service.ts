import { z } from 'zod';
import { DomainError, ErrorCode, assertThat, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import { parseInput } from '../../kernel/validate.js';
import { Permission, TENANT_PERMISSIONS, type TenantScope } from '../../kernel/scope.js';
import { recordAudit } from '../audit/audit.service.js';
import { ApiKey, ScimCredential } from './credential.entity.js';
import { SECRET_PREFIX, displayPrefix, generateSecret, hashSecret } from './secrets.js';

/** The longest overlap a rotation may keep the previous SCIM credential alive for. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

const RotateInput = z.object({
  kind: z.enum(['bearer', 'basic']).default('bearer'),
  /** Keep the previous credential of this kind valid this many seconds longer (zero-downtime rotation). */
  overlapSeconds: z.number().int().min(0).max(MAX_ROTATION_OVERLAP_SECONDS).default(0),
});

export interface GeneratedScimCredential {
  credential: ScimCredential;
  /** The bearer token, or the Basic password. Shown once; only its hash is stored. */
  secret: string;
}

/**
 * Generates a SCIM credential. The previous active credentials of the same kind stop working now, or
 * after the explicit overlap.
 */
export async function generateScimCredential(
  scope: TenantScope,
  input: z.input<typeof RotateInput> = {},
): Promise<GeneratedScimCredential> {
  const { kind, overlapSeconds } = parseInput(RotateInput, input);
  const em = scope.em;
  const now = new Date();
  const previous = await em.find(ScimCredential, { tenantId: scope.tenantId, kind, revokedAt: null });
  for (const cred of previous) {
    if (overlapSeconds === 0) {
      cred.revokedAt = now;
      await recordAudit(scope, {
        action: 'scim_credential.revoked',
        targetType: 'credential',
        targetId: cred.id,
        changes: { reason: { before: null, after: 'replaced' } },
      });
    } else {
      const until = new Date(now.getTime() + overlapSeconds * 1000);
      if (!cred.expiresAt || cred.expiresAt > until) cred.expiresAt = until;
    }
  }
  const secret = generateSecret(kind === 'bearer' ? SECRET_PREFIX.scimToken : SECRET_PREFIX.scimBasic);
  const credential = em.create(ScimCredential, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    kind,
    secretHash: hashSecret(secret),
    // Basic needs a user name too; it is not secret, the password is.
    basicUsername: kind === 'basic' ? `scim-${uuidv7().slice(-12)}` : null,
    prefix: displayPrefix(secret),
    createdBy: scope.actor.label,
    createdAt: now,
  });
  await recordAudit(scope, {
    action: 'scim_credential.generated',
    targetType: 'credential',
    targetId: credential.id,
    changes: { kind: { before: null, after: kind }, overlapSeconds: { before: null, after: overlapSeconds } },
  });
  await em.flush();
  return { credential, secret };
}

export async function listScimCredentials(scope: TenantScope): Promise<ScimCredential[]> {
  return scope.em.find(ScimCredential, { tenantId: scope.tenantId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

/** Revokes one SCIM credential, or all of them when no id is given. Returns how many were revoked. */
export async function revokeScimCredentials(scope: TenantScope, id?: string): Promise<number> {
  // A malformed id is simply not found (and must not reach PostgreSQL as a uuid).
  if (id !== undefined && !isUuid(id)) throw notFound('SCIM credential', 'id');
  const where = id ? { tenantId: scope.tenantId, id, revokedAt: null } : { tenantId: scope.tenantId, revokedAt: null };
  const creds = await scope.em.find(ScimCredential, where);
  if (id) assertThat(creds.length === 1, ErrorCode.NOT_FOUND, 'SCIM credential not found or already revoked', { field: 'id' });
  const now = new Date();
  for (const c of creds) {
    c.revokedAt = now;
    await recordAudit(scope, { action: 'scim_credential.revoked', targetType: 'credential', targetId: c.id });
  }
  await scope.em.flush();
  return creds.length;
}

const CreateKeyInput = z.object({
  name: z.string().trim().min(1).max(100),
  permissions: z.array(z.enum(TENANT_PERMISSIONS as [Permission, ...Permission[]])).min(1),
});

export async function createApiKey(scope: TenantScope, input: z.input<typeof CreateKeyInput>): Promise<{ key: ApiKey; secret: string }> {
  const { name, permissions } = parseInput(CreateKeyInput, input);
  // A tenant's key mints only narrower keys: integrations:manage alone must not grant directory or audit
  // access. (Creating a tenant, the operator mints its first, full key.)
  const beyond = scope.actor.kind === 'api_key' ? permissions.filter((p) => !scope.actor.permissions.has(p as Permission)) : [];
  if (beyond.length > 0)
    throw new DomainError(ErrorCode.FORBIDDEN, `a key cannot grant permissions it does not hold: ${beyond.join(', ')}`, {
      field: 'permissions',
    });
  const secret = generateSecret(SECRET_PREFIX.apiKey);
  const key = scope.em.create(ApiKey, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    name,
    permissions: [...new Set(permissions)],
    secretHash: hashSecret(secret),
    prefix: displayPrefix(secret),
    createdBy: scope.actor.label,
    createdAt: new Date(),
  });
  await recordAudit(scope, {
    action: 'api_key.created',
    targetType: 'api_key',
    targetId: key.id,
    changes: { name: { before: null, after: name }, permissions: { before: null, after: key.permissions } },
  });
  await scope.em.flush();
  return { key, secret };
}

export async function listApiKeys(scope: TenantScope): Promise<ApiKey[]> {
  return scope.em.find(ApiKey, { tenantId: scope.tenantId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

export async function revokeApiKey(scope: TenantScope, id: string): Promise<ApiKey> {
  const key = await scope.em.findOne(ApiKey, { tenantId: scope.tenantId, id });
  if (!key) throw notFound('API key', 'id');
  assertThat(!key.revokedAt, ErrorCode.CONFLICT, 'API key is already revoked', { field: 'id' });
  key.revokedAt = new Date();
  await recordAudit(scope, { action: 'api_key.revoked', targetType: 'api_key', targetId: key.id });
  await scope.em.flush();
  return key;
}
