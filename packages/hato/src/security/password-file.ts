import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { deriveScramKeys, type ScramKeys } from '@hato/broker';

/**
 * Password files: one `user:hash` line per user, `#` comments and blank lines ignored.
 *
 * Hashes read:
 * - `$scrypt$N$r$p$salt$hash[$scram-sha-256$iterations$salt$storedKey$serverKey]`, written
 *   by `hato passwd`: scrypt (memory-hard) for user name/password CONNECTs, plus the salted
 *   SCRAM-SHA-256 keys (RFC 5802 §3) the broker's SCRAM needs, which no other hash can give.
 * - Mosquitto 2.x `$7$iterations$salt$hash` (PBKDF2-HMAC-SHA512, 64-byte hash) and
 *   `$6$salt$hash` (SHA-512 over password then salt), all base64, as mosquitto_passwd writes.
 *   These users can log in with a password; SCRAM needs `hato passwd` to set them again.
 */
export type PasswordHash =
  | { readonly kind: 'sha512'; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'pbkdf2-sha512'; readonly iterations: number; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'scrypt'; readonly cost: number; readonly blockSize: number; readonly parallelization: number; readonly salt: Buffer; readonly hash: Buffer; readonly scram: ScramKeys | undefined };

export interface PasswordEntry {
  readonly username: string;
  readonly hash: PasswordHash;
}

/** A password file line that cannot be read: names the file and the line. */
export class PasswordFileError extends Error {
  override readonly name = 'PasswordFileError';
}

/** scrypt N=2^14, r=8, p=1: 16 MiB and tens of milliseconds per check. */
export const SCRYPT_COST = 16384;
const SCRYPT_BLOCK_SIZE = 8;
const SCRYPT_PARALLELIZATION = 1;
const SCRYPT_KEY_LENGTH = 64;
/** SCRAM-SHA-256 iterations written by `hato passwd`: well above RFC 7677's 4096, since these keys are also a verifier. */
export const SCRAM_ITERATIONS = 100_000;

/** Parses a password file's text; throws PasswordFileError naming the first bad line. */
export function parsePasswordFile(text: string, fileName = 'password file'): Map<string, PasswordEntry> {
  const users = new Map<string, PasswordEntry>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new PasswordFileError(`${fileName}:${i + 1}: expected user:hash`);
    const username = line.slice(0, colon);
    try {
      users.set(username, { username, hash: parseHash(line.slice(colon + 1)) });
    } catch (err) {
      throw new PasswordFileError(`${fileName}:${i + 1}: user '${username}': ${(err as Error).message}`);
    }
  }
  return users;
}

export async function readPasswordFile(path: string): Promise<Map<string, PasswordEntry>> {
  return parsePasswordFile(await readFile(path, 'utf8'), path);
}

function parseHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts[0] !== '' || parts.length < 4) throw new Error('not a hashed password (plain-text passwords are not accepted)');
  switch (parts[1]) {
    case '6':
      if (parts.length !== 4) throw new Error('$6$ expects $6$salt$hash');
      return { kind: 'sha512', salt: base64(parts[2]!), hash: base64(parts[3]!, 64) };
    case '7':
      if (parts.length !== 5) throw new Error('$7$ expects $7$iterations$salt$hash');
      return { kind: 'pbkdf2-sha512', iterations: positive(parts[2]!), salt: base64(parts[3]!), hash: base64(parts[4]!, 64) };
    case 'scrypt':
      return parseScrypt(parts);
    default:
      throw new Error(`unknown hash type '$${parts[1]}$'`);
  }
}

function parseScrypt(parts: string[]): PasswordHash {
  if (parts.length !== 7 && parts.length !== 12) throw new Error('$scrypt$ expects $scrypt$N$r$p$salt$hash[$scram-sha-256$iterations$salt$storedKey$serverKey]');
  let scram: ScramKeys | undefined;
  if (parts.length === 12) {
    if (parts[7] !== 'scram-sha-256') throw new Error(`unknown key type '${parts[7]}'`);
    scram = { iterations: positive(parts[8]!), salt: base64(parts[9]!), storedKey: base64(parts[10]!, 32), serverKey: base64(parts[11]!, 32) };
  }
  return {
    kind: 'scrypt',
    cost: positive(parts[2]!),
    blockSize: positive(parts[3]!),
    parallelization: positive(parts[4]!),
    salt: base64(parts[5]!),
    hash: base64(parts[6]!),
    scram,
  };
}

function positive(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new Error(`'${text}' is not a positive integer`);
  return n;
}

function base64(text: string, length?: number): Buffer {
  if (text === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error('bad base64');
  const bytes = Buffer.from(text, 'base64');
  if (length !== undefined && bytes.byteLength !== length) throw new Error(`expected ${length} bytes, got ${bytes.byteLength}`);
  return bytes;
}

/** Checks a password against an entry, off the event loop for the slow hashes. */
export function verifyPassword(hash: PasswordHash, password: Uint8Array): Promise<boolean> {
  switch (hash.kind) {
    case 'sha512':
      return Promise.resolve(safeEqual(createHash('sha512').update(password).update(hash.salt).digest(), hash.hash));
    case 'pbkdf2-sha512':
      return new Promise((resolve) => {
        pbkdf2(password, hash.salt, hash.iterations, hash.hash.byteLength, 'sha512', (err, key) => resolve(err === null && safeEqual(key, hash.hash)));
      });
    case 'scrypt':
      return new Promise((resolve) => {
        const options = { N: hash.cost, r: hash.blockSize, p: hash.parallelization, maxmem: 256 * hash.cost * hash.blockSize };
        scrypt(password, hash.salt, hash.hash.byteLength, options, (err, key) => resolve(err === null && safeEqual(key, hash.hash)));
      });
  }
}

function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** The `$scrypt$...` text `hato passwd` writes for a password: scrypt hash and SCRAM-SHA-256 keys, fresh salts. */
export function hashPassword(password: string, options: { cost?: number; scramIterations?: number } = {}): Promise<string> {
  const cost = options.cost ?? SCRYPT_COST;
  const salt = randomBytes(16);
  const scram = deriveScramKeys(password, { iterations: options.scramIterations ?? SCRAM_ITERATIONS });
  return new Promise((resolve, reject) => {
    const params = { N: cost, r: SCRYPT_BLOCK_SIZE, p: SCRYPT_PARALLELIZATION, maxmem: 256 * cost * SCRYPT_BLOCK_SIZE };
    scrypt(Buffer.from(password, 'utf8'), salt, SCRYPT_KEY_LENGTH, params, (err, key) => {
      if (err !== null) return reject(err);
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
      const keys = `scram-sha-256$${scram.iterations}$${b64(scram.salt)}$${b64(scram.storedKey)}$${b64(scram.serverKey)}`;
      resolve(`$scrypt$${cost}$${SCRYPT_BLOCK_SIZE}$${SCRYPT_PARALLELIZATION}$${b64(salt)}$${b64(key)}$${keys}`);
    });
  });
}

/**
 * The file's text with `username` set to `hashed` (replacing its line in place, else
 * appended) or, when `hashed` is undefined, its line removed. Other lines are kept as they are.
 * Returns undefined when deleting a user the file does not have.
 */
export function editPasswordText(text: string, username: string, hashed: string | undefined): string | undefined {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const index = lines.findIndex((line) => line.trim().startsWith(`${username}:`));
  if (hashed === undefined) {
    if (index === -1) return undefined;
    lines.splice(index, 1);
  } else if (index === -1) lines.push(`${username}:${hashed}`);
  else lines[index] = `${username}:${hashed}`;
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
