import { type ConnectPacket, ReasonCode } from '@hato/protocol';
import type { Connection } from '../connection.js';
import type { AuthExchange, AuthMethod } from './auth-method.js';

/** A CONNECT waiting for its enhanced authentication exchange to finish. */
export interface PendingConnect {
  readonly packet: ConnectPacket;
  /** The client id the broker assigned, if it had to. */
  readonly assigned: string | undefined;
}

/**
 * Enhanced authentication state of one connection: the method it authenticated with
 * (re-authentication must use the same one [MQTT-4.12.1-1]), the exchange in progress if
 * any, and the CONNECT it completes (undefined while re-authenticating).
 */
export interface AuthState {
  readonly method: AuthMethod;
  exchange: AuthExchange | undefined;
  connect: PendingConnect | undefined;
}

/** Sends AUTH with the method name and optional data (5.0 §3.15). */
export function sendAuth(connection: Connection, reasonCode: number, method: string, data: Uint8Array | undefined): void {
  const properties = data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: data };
  connection.send({ type: 'auth', reasonCode, properties });
}

/** CONNACK codes an authentication failure may use; anything else becomes 0x87 Not authorized. */
const CONNACK_AUTH_FAILURES = new Set<number>([
  ReasonCode.UnspecifiedError,
  ReasonCode.BadUserNameOrPassword,
  ReasonCode.NotAuthorized,
  ReasonCode.ServerUnavailable,
  ReasonCode.ServerBusy,
  ReasonCode.Banned,
  ReasonCode.BadAuthenticationMethod,
  ReasonCode.QuotaExceeded,
]);

export function connackFailureCode(code: number | undefined): number {
  return code !== undefined && CONNACK_AUTH_FAILURES.has(code) ? code : ReasonCode.NotAuthorized;
}
