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
} as const;

export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** The first characters shown in listings, enough to recognise a secret, far too few to use it. */
export const displayPrefix = (secret: string): string => secret.slice(0, secret.indexOf('_', 4) + 5);

export function constantTimeEquals(a: string, b: string): boolean {
  const ha = hashSecret(a);
  const hb = hashSecret(b);
  return timingSafeEqual(ha, hb);
}
