import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretBoxError, deriveSecretKey, loadOpeningKeys, loadSecretKey, open, openWith, seal, secretKeyFile } from './secret-box.js';

describe('secret box', () => {
  const key = deriveSecretKey('k'.repeat(32));

  it('round-trips, with a fresh IV each time', () => {
    const a = seal(key, 'whsec_abc', 'row-1');
    expect(a).toMatch(/^v1\./);
    expect(seal(key, 'whsec_abc', 'row-1')).not.toBe(a);
    expect(open(key, a, 'row-1')).toBe('whsec_abc');
  });

  it('refuses another key, another row, a tampered ciphertext', () => {
    const a = seal(key, 'whsec_abc', 'row-1');
    expect(() => open(deriveSecretKey('x'.repeat(32)), a, 'row-1')).toThrow(/ROSTER_SECRET_KEY/);
    expect(() => open(key, a, 'row-2')).toThrow();
    const raw = Buffer.from(a.slice(3), 'base64url');
    raw[raw.length - 1] ^= 1;
    expect(() => open(key, `v1.${raw.toString('base64url')}`, 'row-1')).toThrow();
    expect(() => open(key, 'v2.abc', 'row-1')).toThrow(/version/);
  });

  it('opens under the first of several keys that fits, and says which (a key rotation)', () => {
    const old = deriveSecretKey('o'.repeat(32));
    const sealedOld = seal(old, 'whsec_old', 'row-1');
    const sealedNew = seal(key, 'whsec_new', 'row-1');
    expect(openWith([key, old], sealedOld, 'row-1')).toEqual({ plaintext: 'whsec_old', keyIndex: 1 });
    expect(openWith([key, old], sealedNew, 'row-1')).toEqual({ plaintext: 'whsec_new', keyIndex: 0 });
    expect(open([key, old], sealedOld, 'row-1')).toBe('whsec_old');
    expect(() => open([key], sealedOld, 'row-1')).toThrow(/ROSTER_SECRET_KEY_PREVIOUS/);
    expect(() => openWith([key, old], sealedOld, 'row-2')).toThrow(SecretBoxError);
  });

  it('opening keys: the current key first, then the previous ones; none without a current key', async () => {
    const old = 'o'.repeat(32);
    expect(
      await loadOpeningKeys({ secretKey: 'k'.repeat(32), secretKeyPrevious: [old], databaseUrl: 'postgres://x', dataDir: '/x' }),
    ).toEqual([key, deriveSecretKey(old)]);
    expect(await loadOpeningKeys({ secretKeyPrevious: [old], databaseUrl: 'postgres://x', dataDir: '/x' })).toBeNull();
  });

  it('uses ROSTER_SECRET_KEY; else, embedded only, a key generated once in the data directory', async () => {
    expect(await loadSecretKey({ secretKey: 'k'.repeat(32), databaseUrl: 'postgres://x', dataDir: '/nonexistent' })).toEqual(key);
    expect(await loadSecretKey({ databaseUrl: 'postgres://x', dataDir: '/nonexistent' })).toBeNull();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'roster-key-'));
    const [k1, k2] = await Promise.all([loadSecretKey({ dataDir }), loadSecretKey({ dataDir })]);
    const k3 = await loadSecretKey({ dataDir });
    expect(k1).toEqual(k2);
    expect(k1).toEqual(k3);
    expect((await readFile(secretKeyFile(dataDir), 'utf8')).length).toBeGreaterThanOrEqual(43);
    expect((await stat(secretKeyFile(dataDir))).mode & 0o777).toBe(0o600);
  });
});
