import type { PubcompPacket } from '@hato/protocol';
import type { Connection } from '../connection.js';

/** PUBCOMP ends an outgoing QoS 2 exchange; the packet id is free again (§4.3.3). */
export function handlePubcomp(connection: Connection, packet: PubcompPacket): void {
  connection.broker.delivery.acknowledge(connection.session!, packet.packetId, 'awaiting-pubcomp');
}
