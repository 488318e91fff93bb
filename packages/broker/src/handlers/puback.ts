import type { PubackPacket } from '@hato/protocol';
import type { Connection } from '../connection.js';

/** PUBACK for an outgoing QoS 1 message: it is done; the window moves on [MQTT-4.3.2-1]. */
export function handlePuback(connection: Connection, packet: PubackPacket): void {
  connection.broker.delivery.acknowledge(connection.session!, packet.packetId, 'awaiting-puback');
}
