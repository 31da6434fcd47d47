import { createHmac } from 'node:crypto';
import { computeSignature, generateSigningSecret, signatureHeader, signingSecretPrefix, verifySignature } from './webhook-signature.js';

describe('webhook signatures', () => {
  const body = '{"id":"e1","type":"user.created"}';
  const secret = 'whsec_test';

  it('is HMAC-SHA256 over "<t>.<body>" with the whole secret as key', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(computeSignature(secret, 1700000000, body)).toBe(expected);
    expect(signatureHeader([secret], 1700000000, body)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('carries one v1 per signing secret (rotation overlap); each verifies', () => {
    const header = signatureHeader([secret, 'whsec_old'], 1700000000, body);
    expect(header.split(',')).toHaveLength(3);
    expect(verifySignature(header, body, secret, { now: 1700000000 })).toBe(true);
    expect(verifySignature(header, body, 'whsec_old', { now: 1700000000 })).toBe(true);
    expect(verifySignature(header, body, 'whsec_other', { now: 1700000000 })).toBe(false);
  });

  it('refuses a tampered body, a stale or future timestamp, garbage', () => {
    const header = signatureHeader([secret], 1700000000, body);
    expect(verifySignature(header, body.replace('e1', 'e2'), secret, { now: 1700000000 })).toBe(false);
    expect(verifySignature(header, body, secret, { now: 1700000000 + 301 })).toBe(false);
    expect(verifySignature(header, body, secret, { now: 1700000000 - 301 })).toBe(false);
    expect(verifySignature(header, body, secret, { now: 1700000000 + 299 })).toBe(true);
    expect(verifySignature('v1=abc', body, secret)).toBe(false);
    expect(verifySignature('t=1700000000,v1=zz', body, secret, { now: 1700000000 })).toBe(false);
  });

  it('secrets are 256-bit, prefixed, and recognisable by their first characters', () => {
    const s = generateSigningSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(generateSigningSecret()).not.toBe(s);
    expect(signingSecretPrefix(s)).toBe(s.slice(0, 10));
  });
});
