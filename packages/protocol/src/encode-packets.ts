/**
 * Measures and writes the bodies of every packet but CONNECT/CONNACK.
 *
 * Short forms (5.0), as mosquitto sends them: PUBACK/PUBREC/PUBREL/PUBCOMP omit reason
 * code and properties when the reason is 0x00 and there are no properties (remaining
 * length 2) and omit the property length when only the reason is non-zero (length 3);
 * DISCONNECT likewise (length 0 or 1). AUTH omits both only when reason 0x00 and no
 * properties (length 0), since the spec defines no length-1 AUTH.
 */
import { propertiesLength, writeProperties } from './encode-properties.js';
import { EncodeError } from './errors.js';
import type { AckPacket, AuthPacket, DisconnectPacket, ProtocolVersion, PublishPacket, SubackPacket, SubscribePacket, UnsubackPacket, UnsubscribePacket } from './packets.js';
import type { Properties } from './properties.js';
import {
  ackReasonCodes,
  authReasonCodes,
  disconnectReasonCodes,
  subackReasonCodes,
  subackReturnCodesV3,
  unsubackReasonCodes,
} from './reason-code-sets.js';
import { checkInt, checkPacketId, stringLength, varintLength, writeString, writeU16 } from './writer.js';
import { utf8Length, writeUtf8 } from './utf8.js';

/** Lengths measured for the PUBLISH being encoded (measure, then write, synchronously). */
let publishTopicLength = 0;
let publishPropertiesLength = 0;

export function publishLength(p: PublishPacket, version: ProtocolVersion): number {
  const topic = p.topic;
  if (typeof topic !== 'string') throw new EncodeError(0x81, 'topic must be a string');
  const tl = utf8Length(topic);
  if (tl < 0 || tl > 65_535) throw new EncodeError(0x90, 'topic name is not a valid UTF-8 string of at most 65,535 bytes');
  if (topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1) throw new EncodeError(0x90, 'topic name contains a wildcard [MQTT-3.3.2-2]');
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new EncodeError(0x81, 'QoS must be 0, 1 or 2');
  if (qos > 0) checkPacketId(p.packetId, 'PUBLISH');
  else if (p.dup) throw new EncodeError(0x81, 'DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]');
  if (!(p.payload instanceof Uint8Array)) throw new EncodeError(0x81, 'payload must be a Uint8Array');
  let n = 2 + tl + (qos > 0 ? 2 : 0) + p.payload.length;
  if (version === 5) {
    const pl = propertiesLength(p.properties, 3);
    if (tl === 0 && p.properties?.topicAlias === undefined) throw new EncodeError(0x82, 'empty topic name without a topic alias');
    publishPropertiesLength = pl;
    n += varintLength(pl) + pl;
  } else if (tl === 0) {
    throw new EncodeError(0x90, 'empty topic name [MQTT-4.7.3-1]');
  }
  publishTopicLength = tl;
  return n;
}

export function writePublish(buf: Uint8Array, pos: number, p: PublishPacket, version: ProtocolVersion): number {
  const tl = publishTopicLength;
  buf[pos] = tl >>> 8;
  buf[pos + 1] = tl & 0xff;
  pos = writeUtf8(buf, pos + 2, p.topic, tl);
  if (p.qos > 0) pos = writeU16(buf, pos, p.packetId!);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, publishPropertiesLength);
  buf.set(p.payload, pos);
  return pos + p.payload.length;
}

/** Whether `props` holds any property (undefined values and empty lists do not count). */
function hasProperties(props: Properties | undefined): boolean {
  if (props === undefined) return false;
  for (const key in props) {
    const v = (props as Record<string, unknown>)[key];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return true;
  }
  return false;
}

function checkReason(code: number | undefined, table: Uint8Array, what: string): number {
  if (code === undefined) return 0;
  checkInt(code, 0, 255, `${what} reason code`);
  if (table[code] !== 1) {
    throw new EncodeError(0x82, `${what} reason code 0x${code.toString(16)} not allowed`);
  }
  return code;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP (typeCode 4..7). */
export function ackLength(p: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>, typeCode: number, version: ProtocolVersion): number {
  checkPacketId(p.packetId, p.type);
  if (version !== 5) return 2;
  const code = checkReason(p.reasonCode, ackReasonCodes(typeCode), p.type);
  if (!hasProperties(p.properties)) return code === 0 ? 2 : 3;
  const pl = propertiesLength(p.properties, typeCode);
  return 3 + varintLength(pl) + pl;
}

export function writeAck(
  buf: Uint8Array,
  pos: number,
  p: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>,
  typeCode: number,
  length: number,
): number {
  pos = writeU16(buf, pos, p.packetId);
  if (length === 2) return pos;
  buf[pos++] = p.reasonCode ?? 0;
  if (length === 3) return pos;
  const props = hasProperties(p.properties) ? p.properties : undefined;
  return writeProperties(buf, pos, props, propertiesLength(props, typeCode));
}

export function subscribeLength(p: SubscribePacket, version: ProtocolVersion): number {
  checkPacketId(p.packetId, 'SUBSCRIBE');
  if (!Array.isArray(p.subscriptions) || p.subscriptions.length === 0) {
    throw new EncodeError(0x82, 'SUBSCRIBE needs at least one subscription [MQTT-3.8.3-3]');
  }
  let n = 2;
  for (const s of p.subscriptions) {
    const fl = stringLength(s.topicFilter, 'topic filter');
    if (fl === 0) throw new EncodeError(0x8f, 'empty topic filter [MQTT-4.7.3-1]');
    checkInt(s.qos, 0, 2, 'subscription QoS');
    if (version === 5) {
      checkInt(s.retainHandling ?? 0, 0, 2, 'retain handling');
      if (s.noLocal && s.topicFilter.startsWith('$share/')) throw new EncodeError(0x82, 'No Local on a shared subscription [MQTT-3.8.3-4]');
    }
    n += 3 + fl;
  }
  if (version === 5) {
    const pl = propertiesLength(p.properties, 8);
    n += varintLength(pl) + pl;
  }
  return n;
}

export function writeSubscribe(buf: Uint8Array, pos: number, p: SubscribePacket, version: ProtocolVersion): number {
  pos = writeU16(buf, pos, p.packetId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 8));
  for (const s of p.subscriptions) {
    pos = writeString(buf, pos, s.topicFilter, stringLength(s.topicFilter, 'topic filter'));
    let o = s.qos;
    if (version === 5) {
      if (s.noLocal) o |= 0x04;
      if (s.retainAsPublished) o |= 0x08;
      o |= (s.retainHandling ?? 0) << 4;
    }
    buf[pos++] = o;
  }
  return pos;
}

export function subackLength(p: SubackPacket, version: ProtocolVersion): number {
  checkPacketId(p.packetId, 'SUBACK');
  if (!Array.isArray(p.reasonCodes) || p.reasonCodes.length === 0) throw new EncodeError(0x82, 'SUBACK needs at least one reason code');
  const table = version === 5 ? subackReasonCodes : subackReturnCodesV3;
  for (const c of p.reasonCodes) checkReason(c, table, 'SUBACK');
  let n = 2 + p.reasonCodes.length;
  if (version === 5) {
    const pl = propertiesLength(p.properties, 9);
    n += varintLength(pl) + pl;
  }
  return n;
}

export function writeSuback(buf: Uint8Array, pos: number, p: SubackPacket, version: ProtocolVersion): number {
  pos = writeU16(buf, pos, p.packetId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 9));
  for (const c of p.reasonCodes) buf[pos++] = c;
  return pos;
}

export function unsubscribeLength(p: UnsubscribePacket, version: ProtocolVersion): number {
  checkPacketId(p.packetId, 'UNSUBSCRIBE');
  if (!Array.isArray(p.topicFilters) || p.topicFilters.length === 0) {
    throw new EncodeError(0x82, 'UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]');
  }
  let n = 2;
  for (const f of p.topicFilters) {
    const fl = stringLength(f, 'topic filter');
    if (fl === 0) throw new EncodeError(0x8f, 'empty topic filter [MQTT-4.7.3-1]');
    n += 2 + fl;
  }
  if (version === 5) {
    const pl = propertiesLength(p.properties, 10);
    n += varintLength(pl) + pl;
  }
  return n;
}

export function writeUnsubscribe(buf: Uint8Array, pos: number, p: UnsubscribePacket, version: ProtocolVersion): number {
  pos = writeU16(buf, pos, p.packetId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 10));
  for (const f of p.topicFilters) pos = writeString(buf, pos, f, stringLength(f, 'topic filter'));
  return pos;
}

export function unsubackLength(p: UnsubackPacket, version: ProtocolVersion): number {
  checkPacketId(p.packetId, 'UNSUBACK');
  if (version !== 5) return 2;
  const codes = p.reasonCodes;
  if (!Array.isArray(codes) || codes.length === 0) throw new EncodeError(0x82, 'UNSUBACK (5.0) needs at least one reason code');
  for (const c of codes) checkReason(c, unsubackReasonCodes, 'UNSUBACK');
  const pl = propertiesLength(p.properties, 11);
  return 2 + varintLength(pl) + pl + codes.length;
}

export function writeUnsuback(buf: Uint8Array, pos: number, p: UnsubackPacket, version: ProtocolVersion): number {
  pos = writeU16(buf, pos, p.packetId);
  if (version !== 5) return pos;
  pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 11));
  for (const c of p.reasonCodes!) buf[pos++] = c;
  return pos;
}

/** DISCONNECT (14) and AUTH (15). */
export function disconnectLength(p: DisconnectPacket | AuthPacket, typeCode: number, version: ProtocolVersion): number {
  if (version !== 5) {
    if (typeCode === 15) throw new EncodeError(0x82, 'AUTH exists only in MQTT 5.0');
    return 0;
  }
  const code = checkReason(p.reasonCode, typeCode === 15 ? authReasonCodes : disconnectReasonCodes, p.type);
  if (!hasProperties(p.properties)) return code === 0 ? 0 : typeCode === 15 ? 2 : 1;
  const pl = propertiesLength(p.properties, typeCode);
  return 1 + varintLength(pl) + pl;
}

export function writeDisconnect(buf: Uint8Array, pos: number, p: DisconnectPacket | AuthPacket, typeCode: number, length: number): number {
  if (length === 0) return pos;
  buf[pos++] = p.reasonCode ?? 0;
  if (length === 1) return pos;
  const props = hasProperties(p.properties) ? p.properties : undefined;
  return writeProperties(buf, pos, props, propertiesLength(props, typeCode));
}
