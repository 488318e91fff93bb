import { parseSharedSubscription, ReasonCode, type UnsubscribePacket } from '@hato/protocol';
import type { Connection } from '../connection.js';

/** UNSUBSCRIBE: remove each filter; UNSUBACK (5.0: one reason code per filter) [MQTT-3.10.4-4] [MQTT-3.10.4-5]. */
export function handleUnsubscribe(connection: Connection, packet: UnsubscribePacket): void {
  const broker = connection.broker;
  const session = connection.session!;
  const reasonCodes: number[] = [];
  const removed: string[] = [];
  for (const filter of packet.topicFilters) {
    const shared = parseSharedSubscription(filter);
    const existed = broker.sessions.unsubscribe(session, filter, shared === null ? filter : shared.filter, shared?.group);
    reasonCodes.push(existed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
    if (existed) removed.push(filter);
  }
  if (connection.protocolVersion === 5) connection.send({ type: 'unsuback', packetId: packet.packetId, reasonCodes });
  else connection.send({ type: 'unsuback', packetId: packet.packetId });
  if (removed.length > 0) broker.emit('unsubscribed', removed, connection);
}
