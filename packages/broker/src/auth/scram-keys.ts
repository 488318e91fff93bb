import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM key material for one user and one hash (RFC 5802 §3): the server stores the salt,
 * the iteration count, StoredKey = H(ClientKey) and ServerKey, never the password.
 */
export interface ScramKeys {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

/** Hash names SCRAM mechanisms use, mapped to node:crypto's. */
export type ScramHash = 'sha256' | 'sha1';

/** Iteration count RFC 7677 recommends as a minimum for SCRAM-SHA-256. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;

function keyLength(hash: ScramHash): number {
  return hash === 'sha256' ? 32 : 20;
}

export function hmac(hash: ScramHash, key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac(hash, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Uint8Array): Buffer {
  return createHash(hash).update(data).digest();
}

/** ClientKey, StoredKey, ServerKey from SaltedPassword (RFC 5802 §3). */
function keysFromSalted(hash: ScramHash, salted: Uint8Array, salt: Uint8Array, iterations: number): ScramKeys {
  const clientKey = hmac(hash, salted, 'Client Key');
  return { salt, iterations, storedKey: digest(hash, clientKey), serverKey: hmac(hash, salted, 'Server Key') };
}

/** Derives the stored SCRAM keys for a password (a fresh random salt unless one is given). */
export function deriveScramKeys(password: string, options: { hash?: ScramHash; iterations?: number; salt?: Uint8Array } = {}): ScramKeys {
  const hash = options.hash ?? 'sha256';
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  const salt = options.salt ?? randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, keyLength(hash), hash);
  return keysFromSalted(hash, salted, salt, iterations);
}

/**
 * Checks a plain password against stored keys: derives SaltedPassword with the stored salt
 * and iterations and compares H(ClientKey) with StoredKey in constant time. Asynchronous
 * (PBKDF2 runs off the event loop).
 */
export function verifyPassword(keys: ScramKeys, password: Uint8Array, hash: ScramHash = 'sha256'): Promise<boolean> {
  return new Promise((resolve) => {
    const text = Buffer.from(new TextDecoder().decode(password).normalize('NFKC'), 'utf8');
    pbkdf2(text, keys.salt, keys.iterations, keyLength(hash), hash, (err, salted) => {
      if (err !== null) {
        resolve(false);
        return;
      }
      resolve(safeEqual(keysFromSalted(hash, salted, keys.salt, keys.iterations).storedKey, keys.storedKey));
    });
  });
}

/** Constant-time comparison of two byte strings (false for different lengths). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
