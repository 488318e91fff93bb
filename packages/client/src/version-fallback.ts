/**
 * A 3.1.1-only broker answers a 5.0 CONNECT with a 3.1.1 CONNACK: `20 02 00 01`
 * (return code 1, unacceptable protocol version). Read as 5.0 it does not decode, so the
 * connection spots its shape before the first packet and reports a refusal of the
 * protocol level (0x84 Unsupported Protocol Version), which says what to do instead.
 */
import { ConnectError } from './errors.js';

/** The 3.x return code if `head` starts with a 3.x CONNACK refusal (`20 02 0x 01..05`). */
export function legacyConnackCode(head: Uint8Array | undefined): number | undefined {
  if (head === undefined || head.length < 4 || head[0] !== 0x20 || head[1] !== 0x02 || head[2]! > 1) return undefined;
  const code = head[3]!;
  return code >= 1 && code <= 5 ? code : undefined;
}

export function protocolRefusedError(returnCode: number): ConnectError {
  return new ConnectError(
    0x84,
    5,
    `the broker answered with an MQTT 3.1.1 CONNACK (return code ${returnCode}): it does not accept MQTT 5.0; ` +
      `use protocolVersion 4, or 'auto' to fall back`,
  );
}
