import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ErrorCode, assertThat, notFound } from '../../kernel/errors.js';
import { uuidv7 } from '../../kernel/ids.js';
import { parseInput } from '../../kernel/validate.js';
import { Permission, TENANT_PERMISSIONS, type Actor, type TenantScope } from '../../kernel/scope.js';
import { recordAudit } from '../audit/audit.service.js';
import { ApiKey, ScimCredential } from './credential.entity.js';
import { SECRET_PREFIX, constantTimeEquals, displayPrefix, generateSecret, hashSecret } from './secrets.js';

/** The longest overlap a rotation may keep the previous SCIM credential alive for. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;
const LAST_USED_GRANULARITY_MS = 60_000;

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
export async function generateScimCredential(scope: TenantScope, input: z.input<typeof RotateInput> = {}): Promise<GeneratedScimCredential> {
  const { kind, overlapSeconds } = parseInput(RotateInput, input);
  const em = scope.em;
  const now = new Date();
  const previous = await em.find(ScimCredential, { tenantId: scope.tenantId, kind, revokedAt: null });
  for (const cred of previous) {
    if (overlapSeconds === 0) cred.revokedAt = now;
    else {
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
  recordAudit(scope, { action: 'scim_credential.generated', targetType: 'credential', targetId: credential.id, changes: { kind: { before: null, after: kind }, overlapSeconds: { before: null, after: overlapSeconds } } });
  await em.flush();
  return { credential, secret };
}

export async function listScimCredentials(scope: TenantScope): Promise<ScimCredential[]> {
  return scope.em.find(ScimCredential, { tenantId: scope.tenantId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

/** Revokes one SCIM credential, or all of them when no id is given. Returns how many were revoked. */
export async function revokeScimCredentials(scope: TenantScope, id?: string): Promise<number> {
  const where = id ? { tenantId: scope.tenantId, id, revokedAt: null } : { tenantId: scope.tenantId, revokedAt: null };
  const creds = await scope.em.find(ScimCredential, where);
  if (id) assertThat(creds.length === 1, ErrorCode.NOT_FOUND, 'SCIM credential not found or already revoked', { field: 'id' });
  const now = new Date();
  for (const c of creds) {
    c.revokedAt = now;
    recordAudit(scope, { action: 'scim_credential.revoked', targetType: 'credential', targetId: c.id });
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
  recordAudit(scope, { action: 'api_key.created', targetType: 'api_key', targetId: key.id, changes: { name: { before: null, after: name }, permissions: { before: null, after: key.permissions } } });
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
  recordAudit(scope, { action: 'api_key.revoked', targetType: 'api_key', targetId: key.id });
  await scope.em.flush();
  return key;
}

// ---------------------------------------------------------------------------------------------------
// Authentication. These run before the tenant is known, inside the request's transaction, with
// `roster.credential_lookup` on (see the RLS policies in the initial migration).

export interface Authenticated {
  tenantId: string | null;
  actor: Actor;
}

async function withCredentialLookup<T>(em: EntityManager, fn: () => Promise<T>): Promise<T> {
  await em.execute(`select set_config('roster.credential_lookup', 'on', true)`);
  try {
    return await fn();
  } finally {
    await em.execute(`select set_config('roster.credential_lookup', 'off', true)`);
  }
}

async function touch(em: EntityManager, table: 'api_keys' | 'scim_credentials', id: string, lastUsedAt: Date | string | null): Promise<void> {
  // last-used is informational: written at most once a minute per credential, not on every request.
  if (lastUsedAt && Date.now() - new Date(lastUsedAt).getTime() < LAST_USED_GRANULARITY_MS) return;
  await em.execute(`update ${table} set last_used_at = now() where id = ?`, [id]);
}

export async function authenticateApiKey(em: EntityManager, secret: string, operatorKey?: string): Promise<Authenticated | null> {
  if (operatorKey && constantTimeEquals(secret, operatorKey)) {
    await em.execute(`select set_config('roster.operator', 'on', true)`);
    return { tenantId: null, actor: { kind: 'operator', label: 'operator (environment)', permissions: new Set([Permission.TENANTS_MANAGE]) } };
  }
  if (!secret.startsWith('rst_')) return null;
  const rows = await withCredentialLookup(em, () =>
    em.execute<Array<{ id: string; tenant_id: string | null; name: string; permissions: string[]; last_used_at: Date | null }>>(
      `select id, tenant_id, name, permissions, last_used_at from api_keys where secret_hash = ? and revoked_at is null`,
      [hashSecret(secret)],
    ),
  );
  const row = rows[0];
  if (!row) return null;
  if (row.tenant_id) await em.execute(`select set_config('roster.tenant_id', ?, true)`, [row.tenant_id]);
  else await em.execute(`select set_config('roster.operator', 'on', true)`);
  await touch(em, 'api_keys', row.id, row.last_used_at);
  return {
    tenantId: row.tenant_id,
    actor: {
      kind: row.tenant_id ? 'api_key' : 'operator',
      id: row.id,
      label: row.name,
      permissions: new Set(row.permissions as Permission[]),
    },
  };
}

export type ScimPresented = { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

/** The permissions an IdP's SCIM credential carries: read and write the directory, nothing else. */
const SCIM_PERMISSIONS = new Set<Permission>([Permission.DIRECTORY_READ, Permission.DIRECTORY_WRITE]);

export async function authenticateScim(em: EntityManager, presented: ScimPresented): Promise<Authenticated | null> {
  const secret = presented.kind === 'bearer' ? presented.token : presented.password;
  const rows = await withCredentialLookup(em, () =>
    em.execute<Array<{ id: string; tenant_id: string; kind: string; basic_username: string | null; prefix: string; last_used_at: Date | null }>>(
      `select id, tenant_id, kind, basic_username, prefix, last_used_at from scim_credentials
        where secret_hash = ? and revoked_at is null and (expires_at is null or expires_at > now())`,
      [hashSecret(secret)],
    ),
  );
  const row = rows[0];
  if (!row || row.kind !== presented.kind) return null;
  if (presented.kind === 'basic' && !constantTimeEquals(presented.username, row.basic_username ?? '')) return null;
  await em.execute(`select set_config('roster.tenant_id', ?, true)`, [row.tenant_id]);
  await touch(em, 'scim_credentials', row.id, row.last_used_at);
  return { tenantId: row.tenant_id, actor: { kind: 'scim_credential', id: row.id, label: `SCIM ${row.kind} ${row.prefix}…`, permissions: SCIM_PERMISSIONS } };
}
