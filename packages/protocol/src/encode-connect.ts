/** Measures and writes CONNECT and CONNACK bodies. */
import { propertiesLength, writeProperties } from './encode-properties.js';
import { EncodeError } from './errors.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion } from './packets.js';
import { connackReasonCodes } from './reason-code-sets.js';
import { binaryLength, checkInt, stringLength, varintLength, writeBinary, writeString, writeU16 } from './writer.js';

function checkConnect(p: ConnectPacket, version: ProtocolVersion): void {
  if (p.protocolVersion !== version) {
    throw new EncodeError(0x84, `CONNECT protocolVersion ${p.protocolVersion} differs from the encoding version ${version}`);
  }
  checkInt(p.keepAlive, 0, 65_535, 'keep alive');
  if (version !== 5 && p.password !== undefined && p.username === undefined) {
    throw new EncodeError(0x81, 'password without user name [MQTT-3.1.2-22]');
  }
  const will = p.will;
  if (will !== undefined) {
    checkInt(will.qos, 0, 2, 'will QoS');
    if (will.topic.length === 0 || will.topic.indexOf('+') !== -1 || will.topic.indexOf('#') !== -1) {
      throw new EncodeError(0x81, 'will topic must be a topic name without wildcards');
    }
  }
}

export function connectLength(p: ConnectPacket, version: ProtocolVersion): number {
  checkConnect(p, version);
  // protocol name (2 + 4 or 6), level, flags, keep alive
  let n = (version === 3 ? 8 : 6) + 4 + 2 + stringLength(p.clientId, 'client identifier');
  if (version === 5) {
    const pl = propertiesLength(p.properties, 1);
    n += varintLength(pl) + pl;
  }
  const will = p.will;
  if (will !== undefined) {
    if (version === 5) {
      const wl = propertiesLength(will.properties, 0);
      n += varintLength(wl) + wl;
    }
    n += 4 + stringLength(will.topic, 'will topic') + binaryLength(will.payload, 'will payload');
  }
  if (p.username !== undefined) n += 2 + stringLength(p.username, 'user name');
  if (p.password !== undefined) n += 2 + binaryLength(p.password, 'password');
  return n;
}

export function writeConnect(buf: Uint8Array, pos: number, p: ConnectPacket, version: ProtocolVersion): number {
  pos = version === 3 ? writeString(buf, pos, 'MQIsdp', 6) : writeString(buf, pos, 'MQTT', 4);
  buf[pos++] = version;
  const will = p.will;
  let flags = p.cleanStart ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepAlive);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 1));
  pos = writeString(buf, pos, p.clientId, stringLength(p.clientId, 'client identifier'));
  if (will !== undefined) {
    if (version === 5) pos = writeProperties(buf, pos, will.properties, propertiesLength(will.properties, 0));
    pos = writeString(buf, pos, will.topic, stringLength(will.topic, 'will topic'));
    pos = writeBinary(buf, pos, will.payload);
  }
  if (p.username !== undefined) pos = writeString(buf, pos, p.username, stringLength(p.username, 'user name'));
  if (p.password !== undefined) pos = writeBinary(buf, pos, p.password);
  return pos;
}

export function connackLength(p: ConnackPacket, version: ProtocolVersion): number {
  const code = checkInt(p.reasonCode, 0, 255, 'CONNACK reason code');
  if (version === 5 ? connackReasonCodes[code] !== 1 : code > 5) {
    throw new EncodeError(0x82, `CONNACK reason code 0x${code.toString(16)} not defined`);
  }
  if (p.sessionPresent && code !== 0) throw new EncodeError(0x82, 'session present with a non-zero reason code [MQTT-3.2.2-4]');
  if (version !== 5) return 2;
  const pl = propertiesLength(p.properties, 2);
  return 2 + varintLength(pl) + pl;
}

export function writeConnack(buf: Uint8Array, pos: number, p: ConnackPacket, version: ProtocolVersion): number {
  // MQTT 3.1 has no session present flag: the byte is unused and sent as 0.
  buf[pos++] = p.sessionPresent && version !== 3 ? 1 : 0;
  buf[pos++] = p.reasonCode;
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propertiesLength(p.properties, 2));
  return pos;
}
