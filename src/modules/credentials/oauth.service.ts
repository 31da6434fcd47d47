import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ErrorCode, assertThat, notFound } from '../../kernel/errors.js';
import { isUuid, uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseInput } from '../../kernel/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { MAX_ROTATION_OVERLAP_SECONDS } from './credential.service.js';
import { clientAddress, type DoorLimits } from './door.js';
import { OAuthClient, OAuthClientSecret } from './oauth.entity.js';
import { SECRET_PREFIX, displayPrefix, generateSecret, hashSecret } from './secrets.js';

/**
 * OAuth 2.0 client credentials for the SCIM door (Microsoft Entra gallery apps). Managed over GraphQL by
 * `integrations:manage`; the token endpoint (src/oauth/router.ts) calls issueAccessToken.
 */

/** Public client ids: recognisable, but deliberately not shaped like a secret (scanners should not flag them). */
export const CLIENT_ID_PATTERN = /^roster-client-[0-9a-f]{24}$/;
const newClientId = () => `roster-client-${randomBytes(12).toString('hex')}`;

const CreateInput = z.object({ name: z.string().trim().min(1).max(100).default('SCIM OAuth client') });
const RotateInput = z.object({
  /** Keep the previous secrets (and the tokens issued with them) valid this many seconds longer. */
  overlapSeconds: z.number().int().min(0).max(MAX_ROTATION_OVERLAP_SECONDS).default(0),
});

export interface ClientWithSecret {
  client: OAuthClient;
  /** The client secret. Shown once; only its hash is stored. */
  secret: string;
}

function newSecret(scope: TenantScope, clientId: string, now: Date): { record: OAuthClientSecret; secret: string } {
  const secret = generateSecret(SECRET_PREFIX.oauthClientSecret);
  const record = scope.em.create(OAuthClientSecret, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    clientId,
    secretHash: hashSecret(secret),
    prefix: displayPrefix(secret),
    createdBy: scope.actor.label,
    createdAt: now,
  });
  return { record, secret };
}

export async function createOAuthClient(scope: TenantScope, input: z.input<typeof CreateInput> = {}): Promise<ClientWithSecret> {
  const { name } = parseInput(CreateInput, input);
  const now = new Date();
  const client = scope.em.create(OAuthClient, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    clientId: newClientId(),
    name,
    createdBy: scope.actor.label,
    createdAt: now,
  });
  // The entities declare no relation, so the unit of work cannot order the inserts: the client goes first.
  await scope.em.flush();
  const { secret } = newSecret(scope, client.id, now);
  await recordAudit(scope, {
    action: 'oauth_client.created',
    targetType: 'oauth_client',
    targetId: client.id,
    changes: { name: { before: null, after: name }, clientId: { before: null, after: client.clientId } },
  });
  await scope.em.flush();
  return { client, secret };
}

async function activeClient(scope: TenantScope, id: string): Promise<OAuthClient> {
  if (!isUuid(id)) throw notFound('OAuth client', 'id');
  const client = await scope.em.findOne(OAuthClient, { tenantId: scope.tenantId, id });
  if (!client) throw notFound('OAuth client', 'id');
  assertThat(!client.revokedAt, ErrorCode.CONFLICT, 'the OAuth client is revoked', { field: 'id' });
  return client;
}

/** Revokes the secrets' access tokens now (a rotation without overlap, a revocation): a leaked secret's tokens die with it. */
async function deleteTokensOf(em: EntityManager, tenantId: string, secretIds: string[]): Promise<void> {
  if (secretIds.length === 0) return;
  await em.execute(
    `delete from oauth_access_tokens where tenant_id = ? and secret_id in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
    [tenantId, JSON.stringify(secretIds)],
  );
}

/**
 * A new secret for the client. The previous ones stop working now, or after the overlap (their access
 * tokens never outlive them: a token's expiry is capped at its secret's).
 */
export async function rotateOAuthClientSecret(
  scope: TenantScope,
  id: string,
  input: z.input<typeof RotateInput> = {},
): Promise<ClientWithSecret> {
  const { overlapSeconds } = parseInput(RotateInput, input);
  const client = await activeClient(scope, id);
  const now = new Date();
  const previous = await scope.em.find(OAuthClientSecret, { tenantId: scope.tenantId, clientId: client.id, revokedAt: null });
  const until = new Date(now.getTime() + overlapSeconds * 1000);
  for (const s of previous) {
    if (overlapSeconds === 0) s.revokedAt = now;
    else if (!s.expiresAt || s.expiresAt > until) s.expiresAt = until;
  }
  const { secret } = newSecret(scope, client.id, now);
  await recordAudit(scope, {
    action: 'oauth_client.secret_rotated',
    targetType: 'oauth_client',
    targetId: client.id,
    changes: { overlapSeconds: { before: null, after: overlapSeconds } },
  });
  await scope.em.flush();
  if (overlapSeconds === 0)
    await deleteTokensOf(
      scope.em,
      scope.tenantId,
      previous.map((s) => s.id),
    );
  else
    await scope.em.execute(
      `update oauth_access_tokens set expires_at = least(expires_at, ?::timestamptz) where tenant_id = ? and client_id = ?`,
      [until.toISOString(), scope.tenantId, client.id],
    );
  return { client, secret };
}

/** Revokes the client, its secrets and its access tokens, at once. */
export async function revokeOAuthClient(scope: TenantScope, id: string): Promise<OAuthClient> {
  const client = await activeClient(scope, id);
  const now = new Date();
  client.revokedAt = now;
  const secrets = await scope.em.find(OAuthClientSecret, { tenantId: scope.tenantId, clientId: client.id, revokedAt: null });
  for (const s of secrets) s.revokedAt = now;
  await recordAudit(scope, { action: 'oauth_client.revoked', targetType: 'oauth_client', targetId: client.id });
  await scope.em.flush();
  await scope.em.execute(`delete from oauth_access_tokens where tenant_id = ? and client_id = ?`, [scope.tenantId, client.id]);
  return client;
}

export async function listOAuthClients(scope: TenantScope): Promise<OAuthClient[]> {
  return scope.em.find(OAuthClient, { tenantId: scope.tenantId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

export async function listOAuthClientSecrets(scope: TenantScope, clientId: string): Promise<OAuthClientSecret[]> {
  return scope.em.find(OAuthClientSecret, { tenantId: scope.tenantId, clientId }, { orderBy: { createdAt: 'desc', id: 'desc' } });
}

// ---------------------------------------------------------------------------------------------------
// The token endpoint.

export interface TokenRequest {
  clientId: string;
  clientSecret: string;
  /** The tenant the URL names (`<slug>.<base domain>/oauth/token`), or null. */
  hostSlug: string | null;
  clientIp: string;
  requestId?: string;
  userAgent?: string;
}

export type TokenResult =
  | { outcome: 'ok'; accessToken: string; expiresIn: number; tenantId: string }
  | { outcome: 'invalid'; reason: string; tenantId: string | null }
  | { outcome: 'auth_blocked'; retryAfter: number }
  | { outcome: 'rate_limited'; retryAfter: number };

/**
 * The arguments both OAuth endpoints pass last to their statement, for roster_oauth_client: the
 * failed-authentication limit and what a failure is recorded with (the presented client id only when it
 * looks like one: the audit never stores what may be a pasted secret).
 */
const failureArgs = (req: TokenRequest, limits: DoorLimits) => [
  limits.failuresPerSecond,
  limits.failureBurst,
  limits.retentionDays,
  clientAddress(req.clientIp),
  CLIENT_ID_PATTERN.test(req.clientId) ? req.clientId : 'unrecognised',
  req.requestId ?? null,
  req.userAgent ?? null,
];

/** A client the endpoints' statement refused (401 invalid_client). */
const refusedClient = (row: { reason: string | null; tenant_id: string | null }) =>
  ({ outcome: 'invalid', reason: row.reason ?? 'unknown_client', tenantId: row.tenant_id }) as const;

/**
 * Client credentials grant: authenticates the client and issues an opaque access token (`rst_at_…`,
 * stored hashed) valid ttlSeconds, capped at its secret's expiry. One autocommit statement
 * (`roster_oauth_token`), like the doors; the request counts against the tenant's SCIM rate limit.
 */
export async function issueAccessToken(em: EntityManager, req: TokenRequest, ttlSeconds: number, limits: DoorLimits): Promise<TokenResult> {
  const token = generateSecret(SECRET_PREFIX.oauthAccessToken);
  const rows = await em.execute<
    Array<{
      outcome: 'ok' | 'invalid' | 'auth_blocked' | 'rate_limited';
      reason: string | null;
      tenant_id: string | null;
      expires_in: number | null;
      retry_after: number;
    }>
  >(`select * from roster_oauth_token(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    req.clientId,
    hashSecret(req.clientSecret),
    hashSecret(token),
    displayPrefix(token),
    ttlSeconds,
    req.hostSlug,
    limits.rps,
    limits.burst,
    ...failureArgs(req, limits),
  ]);
  const row = rows[0];
  switch (row.outcome) {
    case 'ok':
      return { outcome: 'ok', accessToken: token, expiresIn: row.expires_in ?? ttlSeconds, tenantId: row.tenant_id as string };
    case 'invalid':
      return refusedClient(row);
    default:
      return { outcome: row.outcome, retryAfter: row.retry_after };
  }
}

export type RevocationResult =
  | { outcome: 'ok'; tenantId: string; revoked: number }
  | { outcome: 'invalid'; reason: string; tenantId: string | null }
  | { outcome: 'auth_blocked'; retryAfter: number };

/**
 * Token revocation (RFC 7009): authenticates the client as issueAccessToken does and ends `token` if it is
 * an access token issued to that client. One autocommit statement (`roster_oauth_revoke`). `revoked` is for
 * the log only: the endpoint answers the same whatever the token was (§2.2), so it reveals none.
 */
export async function revokeAccessToken(
  em: EntityManager,
  req: TokenRequest & { token: string },
  limits: DoorLimits,
): Promise<RevocationResult> {
  const rows = await em.execute<
    Array<{
      outcome: 'ok' | 'invalid' | 'auth_blocked';
      reason: string | null;
      tenant_id: string | null;
      revoked: number;
      retry_after: number;
    }>
  >(`select * from roster_oauth_revoke(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    req.clientId,
    hashSecret(req.clientSecret),
    hashSecret(req.token),
    req.hostSlug,
    ...failureArgs(req, limits),
  ]);
  const row = rows[0];
  switch (row.outcome) {
    case 'ok':
      return { outcome: 'ok', tenantId: row.tenant_id as string, revoked: row.revoked };
    case 'invalid':
      return refusedClient(row);
    default:
      return { outcome: 'auth_blocked', retryAfter: row.retry_after };
  }
}
