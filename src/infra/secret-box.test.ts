import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deriveSecretKey, loadSecretKey, open, seal, secretKeyFile } from './secret-box.js';

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
