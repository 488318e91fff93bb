import { type PubrecPacket, ReasonCode } from '@hato/protocol';
import { type Connection, PUBREL } from '../connection.js';

/**
 * PUBREC for an outgoing QoS 2 message: answer PUBREL and wait for PUBCOMP [MQTT-4.3.3-3].
 * A 5.0 PUBREC with a failure code ends the exchange (no PUBREL) (5.0 §4.3.3).
 */
export function handlePubrec(connection: Connection, packet: PubrecPacket): void {
  const session = connection.session!;
  const entry = session.inflight.get(packet.packetId);
  if (entry !== undefined && entry.qos === 2 && entry.state !== 'awaiting-puback') {
    if ((packet.reasonCode ?? 0) >= 0x80) {
      connection.broker.delivery.acknowledge(session, packet.packetId, 'awaiting-pubrec');
      return;
    }
    entry.state = 'awaiting-pubcomp';
    session.recordState(entry);
    // Once that state is stored (see Connection.sendAck): a PUBREL must never precede it, or
    // after a crash the PUBLISH would go again to a client that already forgot its id.
    connection.sendAfterCommit(PUBREL, packet.packetId, 0);
    return;
  }
  if (connection.protocolVersion === 5) {
    connection.send({ type: 'pubrel', packetId: packet.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
  } else {
    connection.send({ type: 'pubrel', packetId: packet.packetId });
  }
}
