import { type PubrelPacket, ReasonCode } from '@hato/protocol';
import { type Connection, PUBCOMP } from '../connection.js';

/**
 * PUBREL for an incoming QoS 2 message: forget the id, answer PUBCOMP [MQTT-4.3.3-11], once
 * the id's release is stored (else, after a crash, the client's next message under that id
 * would be taken for a duplicate and dropped).
 */
export function handlePubrel(connection: Connection, packet: PubrelPacket): void {
  const known = connection.session!.deleteIncomingQos2(packet.packetId);
  const code = known || connection.protocolVersion !== 5 ? 0 : ReasonCode.PacketIdentifierNotFound;
  connection.sendAfterCommit(PUBCOMP, packet.packetId, code);
}
