/**
 * Body decoders for the packets after CONNECT/CONNACK/PUBLISH: the four publish acks,
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT and AUTH.
 */
import { readProperties } from './decode-properties.js';
import { MalformedPacketError, ProtocolError } from './errors.js';
import type {
  AckPacket,
  AuthPacket,
  DisconnectPacket,
  ProtocolVersion,
  QoS,
  RetainHandling,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import type { Reader } from './reader.js';
import type { DisconnectReasonCode } from './reason-code-sets.js';
import {
  ackReasonCodes,
  authReasonCodes,
  disconnectReasonCodes,
  subackReasonCodes,
  subackReturnCodesV3,
  unsubackReasonCodes,
} from './reason-code-sets.js';

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const ackTypes: readonly AckType[] = ['puback', 'puback', 'puback', 'puback', 'puback', 'pubrec', 'pubrel', 'pubcomp'];

function readPacketId(r: Reader, what: string): number {
  const id = r.u16('packet identifier');
  if (id === 0) throw new ProtocolError(`${what} packet identifier 0 [MQTT-2.2.1-3]`);
  return id;
}

function checkReason(code: number, table: Uint8Array, what: string): number {
  if (table[code] !== 1) throw new ProtocolError(`${what} reason code 0x${code.toString(16)} not allowed`);
  return code;
}

/** PUBACK (4), PUBREC (5), PUBREL (6), PUBCOMP (7). 5.0 short forms: length 2 and 3. */
export function decodeAck(r: Reader, typeCode: number, version: ProtocolVersion): AckPacket<AckType> {
  const type = ackTypes[typeCode]!;
  const packetId = readPacketId(r, type);
  if (version !== 5) {
    r.done(type);
    return { type, packetId };
  }
  // Spec 3.4.2.1: remaining length 2: reason 0x00 and no properties; 3: no properties.
  const reasonCode = r.remaining > 0 ? checkReason(r.u8('reason code'), ackReasonCodes(typeCode), type) : 0;
  const packet: AckPacket<AckType> = { type, packetId, reasonCode };
  if (r.remaining > 0) {
    const properties = readProperties(r, typeCode);
    if (properties !== undefined) packet.properties = properties;
  }
  r.done(type);
  return packet;
}

export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packetId = readPacketId(r, 'SUBSCRIBE');
  const properties = version === 5 ? readProperties(r, 8) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = r.string('topic filter');
    if (topicFilter.length === 0) throw new MalformedPacketError('SUBSCRIBE with an empty topic filter [MQTT-4.7.3-1]');
    subscriptions.push(readOptions(r, topicFilter, version));
  }
  // [MQTT-3.8.3-3] at least one filter; 5.0: a SUBSCRIBE with no payload is a Protocol Error.
  if (subscriptions.length === 0) throw new ProtocolError('SUBSCRIBE with no topic filter [MQTT-3.8.3-3]');
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function readOptions(r: Reader, topicFilter: string, version: ProtocolVersion): Subscription {
  const o = r.u8('subscription options');
  const qos = o & 0x03;
  if (qos === 3) throw new MalformedPacketError('SUBSCRIBE QoS 3 [MQTT-3.8.3-4]');
  if (version !== 5) {
    if (o > 3) throw new MalformedPacketError('SUBSCRIBE reserved option bits set [MQTT-3.8.3-4]');
    return { topicFilter, qos: qos as QoS };
  }
  if (o > 0x3f) throw new MalformedPacketError('SUBSCRIBE reserved option bits set [MQTT-3.8.3-5]');
  const retainHandling = (o >> 4) & 0x03;
  if (retainHandling === 3) throw new ProtocolError('SUBSCRIBE retain handling 3 (spec 3.8.3.1)');
  const noLocal = (o & 0x04) !== 0;
  // [MQTT-3.8.3-4] (5.0) No Local on a shared subscription is a Protocol Error.
  if (noLocal && topicFilter.startsWith('$share/')) throw new ProtocolError('No Local set on a shared subscription [MQTT-3.8.3-4]');
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal,
    retainAsPublished: (o & 0x08) !== 0,
    retainHandling: retainHandling as RetainHandling,
  };
}

export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packetId = readPacketId(r, 'SUBACK');
  const properties = version === 5 ? readProperties(r, 9) : undefined;
  const table = version === 5 ? subackReasonCodes : subackReturnCodesV3;
  const reasonCodes: number[] = [];
  while (r.remaining > 0) reasonCodes.push(checkReason(r.u8('reason code'), table, 'SUBACK'));
  if (reasonCodes.length === 0) throw new ProtocolError('SUBACK with no reason code');
  const packet: SubackPacket = { type: 'suback', packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = readPacketId(r, 'UNSUBSCRIBE');
  const properties = version === 5 ? readProperties(r, 10) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) {
    const filter = r.string('topic filter');
    if (filter.length === 0) throw new MalformedPacketError('UNSUBSCRIBE with an empty topic filter [MQTT-4.7.3-1]');
    topicFilters.push(filter);
  }
  // [MQTT-3.10.3-2] at least one filter; 5.0: no payload is a Protocol Error.
  if (topicFilters.length === 0) throw new ProtocolError('UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]');
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packetId = readPacketId(r, 'UNSUBACK');
  if (version !== 5) {
    r.done('UNSUBACK');
    return { type: 'unsuback', packetId };
  }
  const properties = readProperties(r, 11);
  const reasonCodes: number[] = [];
  while (r.remaining > 0) reasonCodes.push(checkReason(r.u8('reason code'), unsubackReasonCodes, 'UNSUBACK'));
  if (reasonCodes.length === 0) throw new ProtocolError('UNSUBACK with no reason code');
  const packet: UnsubackPacket = { type: 'unsuback', packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** DISCONNECT: 3.x empty; 5.0 remaining length 0 (reason 0), 1 (reason only) or more. */
export function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  if (version !== 5) {
    r.done('DISCONNECT');
    return { type: 'disconnect' };
  }
  const reasonCode = (r.remaining > 0 ? checkReason(r.u8('reason code'), disconnectReasonCodes, 'DISCONNECT') : 0) as DisconnectReasonCode;
  const properties = r.remaining > 0 ? readProperties(r, 14) : undefined;
  r.done('DISCONNECT');
  const packet: DisconnectPacket = { type: 'disconnect', reasonCode };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** AUTH (5.0 only): remaining length 0 means reason 0x00; otherwise reason and properties. */
export function decodeAuth(r: Reader): AuthPacket {
  if (r.remaining === 0) return { type: 'auth', reasonCode: 0 };
  const reasonCode = checkReason(r.u8('reason code'), authReasonCodes, 'AUTH');
  const properties = readProperties(r, 15);
  r.done('AUTH');
  const packet: AuthPacket = { type: 'auth', reasonCode };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}
