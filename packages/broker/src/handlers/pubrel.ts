import { type PubrelPacket, ReasonCode } from '@hato/protocol';
import type { Connection } from '../connection.js';

/** PUBREL for an incoming QoS 2 message: forget the id, answer PUBCOMP [MQTT-4.3.3-11]. */
export function handlePubrel(connection: Connection, packet: PubrelPacket): void {
  const known = connection.session!.deleteIncomingQos2(packet.packetId);
  if (known || connection.protocolVersion !== 5) {
    connection.send({ type: 'pubcomp', packetId: packet.packetId });
    return;
  }
  connection.send({ type: 'pubcomp', packetId: packet.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
}
