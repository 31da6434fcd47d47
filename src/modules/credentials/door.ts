import { isIP } from 'node:net';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config/env.js';
import type { Actor, Door, Permission } from '../../kernel/scope.js';
import { hashSecret, presentedPrefix } from './secrets.js';

/**
 * Passing a door (SCIM or GraphQL): authentication, the failed-authentication limit, the tenant's rate
 * limit, the audit of a failure and last-used, in ONE statement (`roster_door`, see the rate_limits
 * migration) committed on its own before the request's transaction begins, in the same round trip
 * (passDoorAndEnter, infra/orm/door-transaction.ts). Keeping the bucket update out of the request's
 * transaction is what keeps it cheap: its row lock lasts microseconds instead of the request.
 */

/** The limits of one door, as the SQL functions take them (rates per second; a rate of 0 is off). */
export interface DoorLimits {
  rps: number;
  burst: number;
  failuresPerSecond: number;
  failureBurst: number;
  retentionDays: number;
}

export type PresentedCredential =
  /** A static SCIM bearer token, or an OAuth access token (`rst_at_…`). */
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string }
  /** A GraphQL API key. */
  | { kind: 'api_key'; secret: string };

export interface DoorRequest {
  door: Extract<Door, 'scim' | 'graphql'>;
  credential: PresentedCredential;
  /** The tenant the URL names (SCIM on `<slug>.<base domain>`), or null. */
  hostSlug: string | null;
  clientIp: string;
  requestId?: string;
  userAgent?: string;
}

export type FailureReason = 'unknown_credential' | 'revoked' | 'expired' | 'wrong_tenant';

export type DoorResult =
  | { outcome: 'ok'; tenantId: string | null; tenantSlug: string | null; actor: Actor; remaining: number | null }
  | { outcome: 'rate_limited'; tenantId: string; retryAfter: number }
  | { outcome: 'auth_blocked'; retryAfter: number }
  | { outcome: 'invalid'; reason: FailureReason; tenantId: string | null; prefix: string };

export interface DoorRow {
  outcome: 'ok' | 'invalid' | 'auth_blocked' | 'rate_limited';
  reason: FailureReason | null;
  tenant_id: string | null;
  tenant_slug: string | null;
  actor_kind: Actor['kind'] | null;
  actor_id: string | null;
  actor_label: string | null;
  permissions: string[] | null;
  retry_after: number;
  remaining: number | null;
}

/** The client address as a bucket key: an IP address, or one fixed value for anything else a proxy header may carry. */
export const clientAddress = (ip: string): string => (isIP(ip) ? ip : 'unparseable');

/** OAuth access tokens are told apart from static SCIM tokens by their prefix. */
const isAccessToken = (token: string) => token.startsWith('rst_at_');

/**
 * The door's statement for a request: `roster_door(…)`'s arguments, the prefix of the presented secret (for
 * logs), and a key of the presented credential (door, kind and the secret's hash) for what the process
 * remembers of the credential's tenant between requests (infra/orm/door-transaction.ts).
 */
export function doorCall(req: DoorRequest, limits: DoorLimits): { params: unknown[]; prefix: string; credentialKey: string } {
  const c = req.credential;
  const secret = c.kind === 'bearer' ? c.token : c.kind === 'basic' ? c.password : c.secret;
  const kind = c.kind === 'bearer' ? (isAccessToken(c.token) ? 'oauth' : 'bearer') : c.kind;
  const prefix = presentedPrefix(secret);
  const hash = hashSecret(secret);
  return {
    prefix,
    credentialKey: `${req.door}:${kind}:${hash.toString('base64')}`,
    params: [
      req.door,
      kind,
      hash,
      c.kind === 'basic' ? hashSecret(c.username) : null,
      req.hostSlug,
      limits.rps,
      limits.burst,
      limits.failuresPerSecond,
      limits.failureBurst,
      limits.retentionDays,
      clientAddress(req.clientIp),
      prefix,
      req.requestId ?? null,
      req.userAgent ?? null,
    ],
  };
}

/** `roster_door(…)`'s placeholders, in doorCall's order. */
export const DOOR_ARGS = '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?';

/** The door's row (from the statement, or as JSON kept in the session: roster_enter_door) → its result. */
export function doorResult(row: DoorRow, prefix: string): DoorResult {
  switch (row.outcome) {
    case 'ok':
      return {
        outcome: 'ok',
        tenantId: row.tenant_id,
        tenantSlug: row.tenant_slug,
        remaining: row.remaining,
        actor: {
          kind: row.actor_kind as Actor['kind'],
          id: row.actor_id ?? undefined,
          label: row.actor_label ?? '',
          permissions: new Set((row.permissions ?? []) as Permission[]),
        },
      };
    case 'rate_limited':
      return { outcome: 'rate_limited', tenantId: row.tenant_id as string, retryAfter: row.retry_after };
    case 'auth_blocked':
      return { outcome: 'auth_blocked', retryAfter: row.retry_after };
    default:
      return { outcome: 'invalid', reason: row.reason ?? 'unknown_credential', tenantId: row.tenant_id, prefix };
  }
}

/**
 * Charges a tenant's bucket after the fact (GraphQL query cost). The balance may go negative: the
 * tenant's next requests then wait until it has refilled. One autocommit statement, outside any
 * request transaction.
 */
export async function chargeTokens(
  em: EntityManager,
  tenantId: string,
  door: 'scim' | 'graphql',
  tokens: number,
  limits: Pick<DoorLimits, 'rps' | 'burst'>,
): Promise<number> {
  const rows = await em.execute<Array<{ tokens: number }>>(`select tokens from roster_rate_take(?, ?, ?, ?, true)`, [
    `t:${tenantId}:${door}`,
    tokens,
    limits.rps,
    limits.burst,
  ]);
  return rows[0]?.tokens ?? 0;
}

/** A door's limits from the configuration (failed authentications are configured per minute). */
export function doorLimits(config: Pick<Config, 'rateLimits'>, door: 'scim' | 'graphql'): DoorLimits {
  const { rateLimits } = config;
  return {
    rps: rateLimits[door].rps,
    burst: rateLimits[door].burst,
    failuresPerSecond: rateLimits.authFailures.perMinute / 60,
    failureBurst: rateLimits.authFailures.burst,
    retentionDays: rateLimits.authFailures.retentionDays,
  };
}
