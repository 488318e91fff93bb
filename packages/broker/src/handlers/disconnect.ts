import { type DisconnectPacket, ProtocolError, ReasonCode } from '@hato/protocol';
import type { Connection } from '../connection.js';
import { NEVER_EXPIRES } from '../session/session.js';

/**
 * DISCONNECT from the client: the will is discarded [MQTT-3.14.4-3] unless a 5.0 client
 * asks for it with 0x04; a 5.0 client may change the Session Expiry Interval, but not
 * from 0 [MQTT-3.14.2-2].
 */
export function handleDisconnect(connection: Connection, packet: DisconnectPacket): void {
  const session = connection.session!;
  if (connection.protocolVersion === 5) {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      if (connection.connectSessionExpiry === 0 && expiry !== 0) {
        throw new ProtocolError('DISCONNECT cannot set a Session Expiry Interval when CONNECT had 0 [MQTT-3.14.2-2]');
      }
      session.expiryInterval = Math.min(expiry , NEVER_EXPIRES);
    }
  }
  const publishWill = connection.protocolVersion === 5 && packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
  connection.terminate(undefined, publishWill);
}
