import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/env.js';

/**
 * Encryption of the few stored secrets Roster must read back: a webhook signing secret is needed in the
 * clear to compute signatures, so unlike credentials it cannot be stored as a hash.
 *
 * AES-256-GCM with a key derived (HKDF-SHA256) from ROSTER_SECRET_KEY; the additional authenticated data
 * names the row (tenant and id), so a ciphertext copied into another row, or another tenant, does not
 * decrypt. Format: `v1.<base64url(iv ‖ tag ‖ ciphertext)>`.
 */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {}

/** The AES key for a configured key string (any string of at least 32 characters, e.g. 32 random bytes in base64). */
export function deriveSecretKey(material: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, 'roster', 'roster secret-box v1', 32));
}

export function seal(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}`;
}

/** The sealed secret in the clear, under `keys` (one key, or the opening keys: loadOpeningKeys). */
export function open(keys: Buffer | readonly Buffer[], sealed: string, aad: string): string {
  return openWith(Buffer.isBuffer(keys) ? [keys] : keys, sealed, aad).plaintext;
}

/**
 * The same, and which of the keys opened it: 0 for the first (the current key), more for a previous one
 * (ROSTER_SECRET_KEY_PREVIOUS), whose secrets `roster secrets reseal` seals again under the current key.
 */
export function openWith(keys: readonly Buffer[], sealed: string, aad: string): { plaintext: string; keyIndex: number } {
  const [version, data] = sealed.split('.', 2);
  if (version !== VERSION || !data) throw new SecretBoxError('not a sealed secret of a known version');
  const raw = Buffer.from(data, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('sealed secret is truncated');
  for (const [keyIndex, key] of keys.entries()) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return {
        plaintext: Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8'),
        keyIndex,
      };
    } catch {
      // the next key, if any
    }
  }
  throw new SecretBoxError(
    'cannot decrypt the stored secret: neither ROSTER_SECRET_KEY nor ROSTER_SECRET_KEY_PREVIOUS is the key it was encrypted with',
  );
}

/** Where the embedded setup keeps its generated key. */
export const secretKeyFile = (dataDir: string) => path.join(path.resolve(dataDir), 'secret-key');

const cache = new WeakMap<object, Promise<Buffer | null>>();

/**
 * The key for this configuration: ROSTER_SECRET_KEY when set; otherwise, for the embedded database only,
 * a random key generated on first use and kept next to the data (`<ROSTER_DATA_DIR>/secret-key`, mode
 * 0600), so `npm start` needs no setup and the key lives and dies with the data it protects. With
 * DATABASE_URL and no ROSTER_SECRET_KEY there is no key (null): several processes must share one, and
 * only the operator can give it to all of them.
 */
/**
 * The keys that open stored secrets: the current key first (loadSecretKey), then the previous ones
 * (ROSTER_SECRET_KEY_PREVIOUS), so that secrets sealed before a key rotation still open until `roster secrets
 * reseal` has sealed them again. Null where there is no current key.
 */
export async function loadOpeningKeys(
  config: Pick<Config, 'secretKey' | 'secretKeyPrevious' | 'databaseUrl' | 'dataDir'>,
): Promise<Buffer[] | null> {
  const current = await loadSecretKey(config);
  return current && [current, ...(config.secretKeyPrevious ?? []).map(deriveSecretKey)];
}

export function loadSecretKey(config: Pick<Config, 'secretKey' | 'databaseUrl' | 'dataDir'>): Promise<Buffer | null> {
  let key = cache.get(config);
  if (!key) {
    key = resolveKey(config);
    cache.set(config, key);
    // A failure (unreadable data dir) is reported to this caller and retried by the next one.
    key.catch(() => cache.delete(config));
  }
  return key;
}

async function resolveKey(config: Pick<Config, 'secretKey' | 'databaseUrl' | 'dataDir'>): Promise<Buffer | null> {
  if (config.secretKey) return deriveSecretKey(config.secretKey);
  if (config.databaseUrl) return null;
  const file = secretKeyFile(config.dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  // Written aside, then linked into place: of two processes starting together exactly one key wins, and
  // nobody reads a half-written file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  const material = (await readFile(file, 'utf8')).trim();
  if (material.length < 32) throw new Error(`${file} does not hold a key (at least 32 characters); remove it to generate a new one`);
  return deriveSecretKey(material);
}
