import type { Client } from '../client.js';
import type { MaybePromise } from '../options.js';

/**
 * One step of an enhanced authentication exchange (MQTT 5.0 §4.12):
 * - `continue`: send AUTH 0x18 with `data` and wait for the client's next AUTH;
 * - `success`: authenticated (`data` goes in the CONNACK, or AUTH 0x00 on re-authentication);
 *   `username`, when given, becomes the client's user name;
 * - `failure`: refused with `reasonCode` (default 0x87 Not authorized).
 */
export type AuthStep =
  | { readonly outcome: 'continue'; readonly data?: Uint8Array }
  | { readonly outcome: 'success'; readonly data?: Uint8Array; readonly username?: string }
  | { readonly outcome: 'failure'; readonly reasonCode?: number; readonly reason?: string };

/** The state of one exchange with one client; `step` may be async (a store lookup). */
export interface AuthExchange {
  /** Called with the Authentication Data of the CONNECT (or AUTH 0x19), then of each AUTH 0x18. */
  step(data: Uint8Array | undefined): MaybePromise<AuthStep>;
}

/**
 * A pluggable enhanced authentication method, chosen by the CONNECT's Authentication
 * Method property (`name`, e.g. 'SCRAM-SHA-256'). `begin` starts a fresh exchange for a
 * CONNECT or a re-authentication (AUTH 0x19) of an already authenticated client.
 */
export interface AuthMethod {
  readonly name: string;
  begin(client: Client, reauthentication: boolean): AuthExchange;
}
