import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets carry a recognisable prefix (so secret scanners can find leaked ones) followed by 256 bits of
 * randomness. Only SHA-256 digests are stored: for uniformly random secrets a slow KDF adds nothing, and
 * the digest is looked up by index.
 */
export const SECRET_PREFIX = {
  scimToken: 'rst_scim_',
  scimBasic: 'rst_basic_',
  apiKey: 'rst_key_',
  operatorKey: 'rst_op_',
  /** OAuth 2.0 client secret (SCIM client credentials grant). */
  oauthClientSecret: 'rst_oauth_',
  /** OAuth 2.0 access token issued by /oauth/token. */
  oauthAccessToken: 'rst_at_',
} as const;

export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** The first characters shown in listings, enough to recognise a secret, far too few to use it. */
export const displayPrefix = (secret: string): string => secret.slice(0, secret.indexOf('_', 4) + 5);

/**
 * What an audit record or log line may say about a presented (failed) credential: the display prefix of
 * something shaped like a Roster secret, else only that it was not one. Never more of the secret.
 */
export const presentedPrefix = (secret: string): string =>
  /^rst_[a-z]+_[A-Za-z0-9_-]{8,}$/.test(secret) ? displayPrefix(secret) : 'unrecognised';

export function constantTimeEquals(a: string, b: string): boolean {
  const ha = hashSecret(a);
  const hb = hashSecret(b);
  return timingSafeEqual(ha, hb);
}
