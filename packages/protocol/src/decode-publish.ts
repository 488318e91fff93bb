/** Body decoder for PUBLISH (spec 3.3), the hot path. */
import { readProperties } from './decode-properties.js';
import { MalformedPacketError, ProtocolError } from './errors.js';
import type { ProtocolVersion, PublishPacket, QoS } from './packets.js';
import type { Reader } from './reader.js';

export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw new MalformedPacketError('PUBLISH QoS 3 [MQTT-3.3.1-4]');
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0) throw new MalformedPacketError('PUBLISH DUP set with QoS 0 [MQTT-3.3.1-2]');
  const topic = r.string('topic name');
  if (topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1) {
    throw new MalformedPacketError('PUBLISH topic name contains a wildcard [MQTT-3.3.2-2]');
  }
  let packet: PublishPacket;
  if (qos === 0) {
    packet = { type: 'publish', topic, payload: EMPTY, qos: 0, retain: (flags & 0x01) !== 0, dup: false };
  } else {
    const packetId = r.u16('packet identifier');
    if (packetId === 0) throw new ProtocolError('PUBLISH packet identifier 0 [MQTT-2.2.1-3]');
    packet = { type: 'publish', topic, payload: EMPTY, qos: qos as QoS, retain: (flags & 0x01) !== 0, dup, packetId };
  }
  if (version === 5) {
    const properties = readProperties(r, 3);
    if (properties !== undefined) packet.properties = properties;
    // [MQTT-3.3.2-1] / 3.3.2.3.4: a zero-length topic needs a Topic Alias, else Protocol Error.
    if (topic.length === 0 && properties?.topicAlias === undefined) {
      throw new ProtocolError('PUBLISH with an empty topic name and no topic alias');
    }
  } else if (topic.length === 0) {
    throw new MalformedPacketError('PUBLISH with an empty topic name [MQTT-4.7.3-1]');
  }
  packet.payload = r.rest();
  return packet;
}

const EMPTY = new Uint8Array(0);
