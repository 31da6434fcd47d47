import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `Roster-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
 * keyed with the subscription's secret (the whole `whsec_…` string). During a rotation overlap there is
 * one v1 per valid secret. The timestamp is the attempt's, so a receiver can refuse replays.
 */
export const SECRET_PREFIX = 'whsec_';
export const SIGNATURE_HEADER = 'roster-signature';
/** How old a signature a receiver should accept (and what verifySignature defaults to). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const generateSigningSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64url');

/** The first characters of a secret, to recognise it in listings. */
export const signingSecretPrefix = (secret: string): string => secret.slice(0, SECRET_PREFIX.length + 4);

export const computeSignature = (secret: string, timestamp: number, body: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');

export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${computeSignature(s, timestamp, body)}`)].join(',');
}

/** What a receiver does: some v1 matches for this secret, and the timestamp is recent. */
export function verifySignature(
  header: string,
  body: string,
  secret: string,
  opts: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(computeSignature(secret, t, body), 'hex');
  return parts.some(
    ([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected),
  );
}
