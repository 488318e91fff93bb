import type { QoS } from '@hato/protocol';
import type { Connection } from '../connection.js';
import type { Message } from '../message.js';

/** Most bytes a Topic Alias can add to a PUBLISH (property id, two-byte value, longer length fields). */
const ALIAS_OVERHEAD = 5;

/**
 * Outgoing topic aliases (5.0 §3.3.2.3.4) for a client that allows them (its Topic Alias
 * Maximum > 0 [MQTT-3.1.2-26]): the first PUBLISH of a topic carries topic and alias, later
 * ones an empty topic and the alias; aliases stay within the client's maximum (least
 * recently used replaced) [MQTT-3.3.2-11]. `plain` are the bytes without alias: used when
 * an alias could push the packet over the client's Maximum Packet Size, so a mapping is
 * never set by a packet that is not sent.
 */
export function aliasedPublish(
  connection: Connection,
  message: Message,
  plain: Uint8Array,
  qos: QoS,
  retain: boolean,
  packetId: number,
  dup: boolean,
  subscriptionIds: number[] | undefined,
  now: number,
): Uint8Array {
  if (plain.byteLength + ALIAS_OVERHEAD > connection.maxOutgoingPacketSize) return plain;
  // aliasFor: no allocation per message; negative = a new mapping (send topic and alias).
  const alias = connection.aliasSender!.aliasFor(message.topic);
  if (alias === 0) return plain;
  return message.bytesWithAlias(qos, retain, packetId, dup, subscriptionIds, now, alias < 0 ? -alias : alias, alias < 0);
}
