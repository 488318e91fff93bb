/** Body decoders for CONNECT and CONNACK (spec 3.1, 3.2 of 3.1.1 and 5.0; MQTT 3.1). */
import { readProperties } from './decode-properties.js';
import { MalformedPacketError, ProtocolError, UnsupportedProtocolVersionError } from './errors.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from './packets.js';
import type { Reader } from './reader.js';
import { connackReasonCodes } from './reason-code-sets.js';

/** Reads protocol name and level; the only part decoded before the version is known. */
function readVersion(r: Reader): ProtocolVersion {
  const name = r.string('protocol name');
  const level = r.u8('protocol level');
  if (name === 'MQTT' && (level === 4 || level === 5)) return level;
  if (name === 'MQIsdp' && level === 3) return 3;
  // [MQTT-3.1.2-1] [MQTT-3.1.2-2] unknown name or level: CONNACK 0x01 / 0x84, then close.
  throw new UnsupportedProtocolVersionError(level, name);
}

function isValidWillTopic(topic: string): boolean {
  return topic.length > 0 && topic.indexOf('+') === -1 && topic.indexOf('#') === -1;
}

export function decodeConnect(r: Reader, flags: number): ConnectPacket {
  const version = readVersion(r);
  if (version !== 3 && flags !== 0) throw new MalformedPacketError('CONNECT fixed header flags must be 0 [MQTT-2.2.2-1]');
  r.strictVarint = version === 5;
  const cf = r.u8('connect flags');
  // MQTT 3.1 did not reserve bit 0; 3.1.1 and 5.0 do.
  if (version !== 3 && (cf & 0x01) !== 0) throw new MalformedPacketError('CONNECT reserved flag set [MQTT-3.1.2-3]');
  const willFlag = (cf & 0x04) !== 0;
  const willQos = (cf >> 3) & 0x03;
  const willRetain = (cf & 0x20) !== 0;
  const passwordFlag = (cf & 0x40) !== 0;
  const usernameFlag = (cf & 0x80) !== 0;
  if (willQos === 3) throw new MalformedPacketError('CONNECT will QoS 3 [MQTT-3.1.2-14]');
  if (!willFlag && (willQos !== 0 || willRetain)) {
    throw new MalformedPacketError('CONNECT will QoS/retain set without will flag [MQTT-3.1.2-13] [MQTT-3.1.2-15]');
  }
  if (version !== 5 && passwordFlag && !usernameFlag) {
    throw new MalformedPacketError('CONNECT password flag without user name flag [MQTT-3.1.2-22]');
  }
  const keepAlive = r.u16('keep alive');
  const properties = version === 5 ? readProperties(r, 1) : undefined;
  const clientId = r.string('client identifier');
  const packet: ConnectPacket = { type: 'connect', protocolVersion: version, clientId, cleanStart: (cf & 0x02) !== 0, keepAlive };
  if (properties !== undefined) packet.properties = properties;
  if (willFlag) packet.will = readWill(r, version, willQos as QoS, willRetain);
  if (usernameFlag) packet.username = r.string('user name');
  if (passwordFlag) packet.password = r.binary('password');
  r.done('CONNECT');
  return packet;
}

function readWill(r: Reader, version: ProtocolVersion, qos: QoS, retain: boolean): Will {
  const properties = version === 5 ? readProperties(r, 0) : undefined;
  const topic = r.string('will topic');
  // A will topic is a topic name: non-empty, no wildcards [MQTT-3.1.3-11] [MQTT-4.7.3-1].
  if (!isValidWillTopic(topic)) throw new MalformedPacketError('CONNECT will topic is not a valid topic name');
  const will: Will = { topic, payload: r.binary('will payload'), qos, retain };
  if (properties !== undefined) will.properties = properties;
  return will;
}

export function decodeConnack(r: Reader, flags: number, version: ProtocolVersion): ConnackPacket {
  if (version !== 3 && flags !== 0) throw new MalformedPacketError('CONNACK fixed header flags must be 0 [MQTT-2.2.2-1]');
  const ackFlags = r.u8('connect acknowledge flags');
  // In MQTT 3.1 the byte is unused; 3.1.1 and 5.0 reserve bits 7..1 [MQTT-3.2.2-1].
  if (version !== 3 && (ackFlags & 0xfe) !== 0) throw new MalformedPacketError('CONNACK reserved flags set [MQTT-3.2.2-1]');
  const sessionPresent = version !== 3 && (ackFlags & 0x01) !== 0;
  const reasonCode = r.u8('connect reason code');
  if (version === 5 ? connackReasonCodes[reasonCode] !== 1 : reasonCode > 5) {
    throw new ProtocolError(`CONNACK reason code 0x${reasonCode.toString(16)} not defined`);
  }
  if (sessionPresent && reasonCode !== 0) {
    throw new ProtocolError('CONNACK session present with a non-zero reason code [MQTT-3.2.2-4] [MQTT-3.2.2-6]');
  }
  // Checked above against the version's table.
  const packet: ConnackPacket = { type: 'connack', sessionPresent, reasonCode: reasonCode as ConnackPacket['reasonCode'] };
  if (version === 5) {
    const properties = readProperties(r, 2);
    if (properties !== undefined) packet.properties = properties;
  }
  r.done('CONNACK');
  return packet;
}
