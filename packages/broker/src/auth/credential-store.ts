import type { MaybePromise } from '../options.js';
import { DEFAULT_SCRAM_ITERATIONS, deriveScramKeys, type ScramKeys } from './scram-keys.js';

/** What the broker keeps about one user: salted SCRAM keys, never the password itself. */
export interface UserCredentials {
  readonly username: string;
  /** Keys for SCRAM-SHA-256; plain user name/password CONNECTs are checked against them too. */
  readonly scramSha256: ScramKeys;
}

/**
 * The credential port: where user names and their salted keys live. The broker only reads
 * (`get`); a password file or a database adapter implements it the same way. Used both for
 * CONNECT user name/password and for the built-in SCRAM-SHA-256 enhanced authentication.
 */
export interface CredentialStore {
  get(username: string): MaybePromise<UserCredentials | undefined>;
}

/** In-memory credentials: `setPassword` derives and keeps salted SCRAM keys only. */
export class MemoryCredentialStore implements CredentialStore {
  private readonly users = new Map<string, UserCredentials>();

  /** Adds or replaces a user. `iterations` defaults to 4096 (RFC 7677). */
  setPassword(username: string, password: string, iterations = DEFAULT_SCRAM_ITERATIONS): this {
    this.users.set(username, { username, scramSha256: deriveScramKeys(password, { iterations }) });
    return this;
  }

  /** Adds already-derived credentials (e.g. read from a file). */
  set(credentials: UserCredentials): this {
    this.users.set(credentials.username, credentials);
    return this;
  }

  delete(username: string): boolean {
    return this.users.delete(username);
  }

  get(username: string): UserCredentials | undefined {
    return this.users.get(username);
  }

  get size(): number {
    return this.users.size;
  }
}
