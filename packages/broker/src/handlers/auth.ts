import { type AuthPacket, ProtocolError } from '@hato/protocol';
import type { Connection } from '../connection.js';

/**
 * AUTH: enhanced authentication is not supported, so no CONNECT ever starts an exchange
 * (it is refused with 0x8C) and an AUTH packet is a protocol error [MQTT-4.12.0-1].
 */
export function handleAuth(_connection: Connection, _packet: AuthPacket): void {
  throw new ProtocolError('AUTH without an authentication exchange');
}
