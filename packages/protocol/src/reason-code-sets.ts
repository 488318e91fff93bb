/**
 * Which 5.0 reason codes each packet may carry (the tables of spec 3.2.2.2, 3.4.2.1,
 * 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1). The decoder rejects
 * others as a Protocol Error, the encoder refuses them. Each list is also a type, so that
 * a packet built from an arbitrary error code does not type-check: `connackReasonFor` and
 * `disconnectReasonFor` are the one place that chooses the code a CONNACK or DISCONNECT
 * carries for an error.
 */

const CONNACK = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c,
  0x9d, 0x9f,
] as const;
const DISCONNECT = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
  0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
] as const;

/** A reason code a 5.0 CONNACK may carry (spec 3.2.2.2). */
export type ConnackReasonCode = (typeof CONNACK)[number];
/** A 3.1 / 3.1.1 CONNACK return code (spec 3.1.1 §3.2.2.3). */
export type ConnectReturnCodeValue = 0 | 1 | 2 | 3 | 4 | 5;
/** A reason code a 5.0 DISCONNECT may carry (spec 3.14.2.1). */
export type DisconnectReasonCode = (typeof DISCONNECT)[number];

function set(codes: readonly number[]): Uint8Array {
  const table = new Uint8Array(256);
  for (const c of codes) table[c] = 1;
  return table;
}

export const connackReasonCodes = set(CONNACK);
/** PUBACK and PUBREC. */
export const pubackReasonCodes = set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
/** PUBREL and PUBCOMP. */
export const pubrelReasonCodes = set([0x00, 0x92]);
export const subackReasonCodes = set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
export const unsubackReasonCodes = set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);
export const disconnectReasonCodes = set(DISCONNECT);
export const authReasonCodes = set([0x00, 0x18, 0x19]);
/** 3.x SUBACK return codes: granted QoS 0..2 or 0x80 failure (3.1.1). */
export const subackReturnCodesV3 = set([0x00, 0x01, 0x02, 0x80]);

/** Reason code table per packet type code (acks 4..7, 11 UNSUBACK, 14, 15). */
export function ackReasonCodes(typeCode: number): Uint8Array {
  return typeCode === 4 || typeCode === 5 ? pubackReasonCodes : pubrelReasonCodes;
}

/** True when `code` may stand in a 5.0 CONNACK. */
export function isConnackReasonCode(code: number): code is ConnackReasonCode {
  return connackReasonCodes[code] === 1;
}

/** True when `code` may stand in a 5.0 DISCONNECT. */
export function isDisconnectReasonCode(code: number): code is DisconnectReasonCode {
  return disconnectReasonCodes[code] === 1;
}

/**
 * The CONNACK reason code that reports an error whose reason is `code` (any 5.0 reason
 * code): the code itself where a CONNACK may carry it, else its nearest CONNACK equivalent.
 * Success codes (< 0x80) are not errors and report as 0x80 Unspecified error.
 */
export function connackReasonFor(code: number): ConnackReasonCode {
  if (code >= 0x80 && isConnackReasonCode(code)) return code;
  switch (code) {
    case 0x8b: // Server shutting down
      return 0x88; // Server unavailable
    case 0x8e: // Session taken over (by another CONNECT during this one's hooks)
    case 0x93: // Receive Maximum exceeded
    case 0x94: // Topic Alias invalid
    case 0x91: // Packet Identifier in use
    case 0x92: // Packet Identifier not found
      return 0x82; // Protocol Error
    case 0x96: // Message rate too high
    case 0xa0: // Maximum connect time
      return 0x89; // Server busy
    case 0x8f: // Topic Filter invalid
      return 0x82;
    default:
      return 0x80;
  }
}

/**
 * The DISCONNECT reason code that reports an error whose reason is `code` (any 5.0 reason
 * code) to a connected client: the code itself where a DISCONNECT may carry it, else its
 * nearest DISCONNECT equivalent. CONNACK-only codes never reach a DISCONNECT: a second
 * CONNECT with an unknown level (0x84) is a Protocol Error [MQTT-3.1.0-2].
 */
export function disconnectReasonFor(code: number): DisconnectReasonCode {
  // 0x00 and 0x04 are no errors (and 0x04 is the client's alone).
  if (code >= 0x80 && isDisconnectReasonCode(code)) return code;
  switch (code) {
    case 0x84: // Unsupported Protocol Version
    case 0x85: // Client Identifier not valid
    case 0x91: // Packet Identifier in use
    case 0x92: // Packet Identifier not found
      return 0x82; // Protocol Error
    case 0x86: // Bad User Name or Password (re-authentication)
    case 0x8a: // Banned
    case 0x8c: // Bad authentication method (re-authentication)
      return 0x87; // Not authorized
    case 0x88: // Server unavailable
      return 0x89; // Server busy
    default:
      return 0x80;
  }
}

/** DISCONNECT codes a client may send (the "Sent by" column of spec table 3.14.2.1). */
const FROM_CLIENT = set([0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99]);

/**
 * The DISCONNECT reason code a client sends when the server broke the protocol with an
 * error whose reason is `code`: the code itself where a client may send it, else 0x82
 * Protocol Error (a codec error can carry, say, 0x84 from a CONNECT a server sent).
 */
export function clientDisconnectReasonFor(code: number): DisconnectReasonCode {
  return FROM_CLIENT[code] === 1 ? (code as DisconnectReasonCode) : 0x82;
}
