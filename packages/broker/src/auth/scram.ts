import { randomBytes } from 'node:crypto';
import type { Client } from '../client.js';
import type { MaybePromise } from '../options.js';
import type { AuthExchange, AuthMethod, AuthStep } from './auth-method.js';
import type { CredentialStore, UserCredentials } from './credential-store.js';
import { DEFAULT_SCRAM_ITERATIONS, digest, hmac, safeEqual, type ScramKeys } from './scram-keys.js';

const BAD_CREDENTIALS = 0x86; // Bad User Name or Password
const text = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * SCRAM-SHA-256 (RFC 7677, RFC 5802) as an MQTT 5.0 enhanced authentication method:
 * CONNECT carries client-first, AUTH 0x18 server-first, AUTH 0x18 client-final, CONNACK
 * server-final (`v=`). No channel binding (`n` or `y` GS2 flags), ASCII-safe SASLprep
 * (NFKC only). An unknown user gets a deterministic fake salt and fails at the proof, so
 * the exchange does not reveal which user names exist.
 */
export class ScramSha256 implements AuthMethod {
  readonly name = 'SCRAM-SHA-256';
  private readonly store: CredentialStore;
  private readonly fakeSaltKey = randomBytes(32);
  private readonly serverNonce: () => string;

  /** `options.serverNonce` replaces the random server nonce part (for known-answer tests only). */
  constructor(store: CredentialStore, options: { serverNonce?: () => string } = {}) {
    this.store = store;
    this.serverNonce = options.serverNonce ?? randomNonce;
  }

  begin(_client: Client, _reauthentication: boolean): AuthExchange {
    return new ScramExchange(this.store, this.fakeSaltKey, this.serverNonce);
  }
}

type ExchangeState = 'client-first' | 'client-final' | 'done';

class ScramExchange implements AuthExchange {
  private state: ExchangeState = 'client-first';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private username = '';
  private keys: ScramKeys | undefined;

  constructor(
    private readonly store: CredentialStore,
    private readonly fakeSaltKey: Uint8Array,
    private readonly serverNonce: () => string,
  ) {}

  step(data: Uint8Array | undefined): MaybePromise<AuthStep> {
    const message = data === undefined ? undefined : decodeText(data);
    if (message === undefined) return fail('SCRAM message missing or not UTF-8');
    if (this.state === 'client-first') return this.clientFirst(message);
    if (this.state === 'client-final') return this.clientFinal(message);
    return fail('SCRAM exchange already finished');
  }

  /** client-first = gs2-header client-first-bare; gs2-header = ("n" / "y") "," [authzid] "," */
  private clientFirst(message: string): MaybePromise<AuthStep> {
    const match = /^([ny]),(a=[^,]*)?,(n=([^,]*),r=([\x21-\x2b\x2d-\x7e]+)(,.*)?)$/.exec(message);
    if (match === null) return fail('malformed SCRAM client-first message (channel binding is not supported)');
    const username = decodeSaslName(match[4]!);
    if (username === undefined || username.length === 0) return fail('invalid SCRAM user name');
    if (match[6]?.startsWith(',m=')) return fail('SCRAM mandatory extensions are not supported');
    this.gs2Header = `${match[1]},${match[2] ?? ''},`;
    this.clientFirstBare = match[3]!;
    this.username = username;
    this.nonce = match[5]! + this.serverNonce();
    const found = this.store.get(username);
    if (found instanceof Promise) return found.then((credentials) => this.serverFirstStep(credentials));
    return this.serverFirstStep(found);
  }

  private serverFirstStep(credentials: UserCredentials | undefined): AuthStep {
    this.keys = credentials?.scramSha256;
    const salt = this.keys?.salt ?? hmac('sha256', this.fakeSaltKey, this.username).subarray(0, 16);
    const iterations = this.keys?.iterations ?? DEFAULT_SCRAM_ITERATIONS;
    this.serverFirst = `r=${this.nonce},s=${Buffer.from(salt).toString('base64')},i=${iterations}`;
    this.state = 'client-final';
    return { outcome: 'continue', data: text.encode(this.serverFirst) };
  }

  /** client-final = "c=" base64(gs2-header) ",r=" nonce [extensions] ",p=" base64(ClientProof) */
  private clientFinal(message: string): AuthStep {
    this.state = 'done';
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) return fail('malformed SCRAM client-final message');
    const withoutProof = message.slice(0, proofAt);
    const match = /^c=([^,]*),r=([^,]*)(,.*)?$/.exec(withoutProof);
    if (match === null) return fail('malformed SCRAM client-final message');
    if (match[1] !== Buffer.from(this.gs2Header).toString('base64')) return fail('SCRAM channel binding mismatch');
    if (match[2] !== this.nonce) return fail('SCRAM nonce mismatch');
    const keys = this.keys;
    if (keys === undefined) return fail('bad user name or password');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac('sha256', keys.storedKey, authMessage);
    if (proof.byteLength !== clientSignature.byteLength) return fail('bad user name or password');
    const clientKey = Buffer.alloc(proof.byteLength);
    for (let i = 0; i < proof.byteLength; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!safeEqual(digest('sha256', clientKey), keys.storedKey)) return fail('bad user name or password');
    const serverSignature = hmac('sha256', keys.serverKey, authMessage);
    return { outcome: 'success', data: text.encode(`v=${serverSignature.toString('base64')}`), username: this.username };
  }
}

function randomNonce(): string {
  return randomBytes(18).toString('base64');
}

function fail(reason: string): AuthStep {
  return { outcome: 'failure', reasonCode: BAD_CREDENTIALS, reason };
}

function decodeText(data: Uint8Array): string | undefined {
  try {
    return decoder.decode(data);
  } catch {
    return undefined;
  }
}

/** saslname: ',' is sent as '=2C' and '=' as '=3D'; any other '=' is invalid (RFC 5802 §5.1). */
function decodeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=').normalize('NFKC');
}
