/**
 * The DISCONNECT a client sends when the server broke the protocol. Only some reason
 * codes may come from a client (MQTT 5.0 §3.14.2.1); a codec error can carry another
 * (0x84 from a CONNECT the server should never send), which becomes 0x82 Protocol Error.
 */
import type { DisconnectPacket } from '@hato/protocol';

const FROM_CLIENT = new Set([0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99]);

/** `reasonCode` if a client may send it in DISCONNECT, else 0x82 Protocol Error. */
export function clientDisconnectCode(reasonCode: number): number {
  return FROM_CLIENT.has(reasonCode) ? reasonCode : 0x82;
}

/** A DISCONNECT packet with `reasonCode` as given (the caller checked it). */
export function disconnectWith(reasonCode: number): DisconnectPacket {
  return { type: 'disconnect', reasonCode: reasonCode as DisconnectPacket['reasonCode'] };
}
