/**
 * Minimal parser for what a broker sends back: splits a byte stream into packets and
 * decodes the fields tests assert on. Written from the spec, independent of @hato/protocol.
 */
import { toHex } from './bytes.js';
import type { MqttVersion } from './builder.js';
import { type DecodedProperties, decodeProperties, Reader } from './properties.js';

export const PACKET_TYPES = [
  'reserved',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

export type PacketTypeName = (typeof PACKET_TYPES)[number];

interface Base {
  /** Fixed header flags (low nibble of byte 1). */
  flags: number;
  /** The whole packet as received. */
  raw: Uint8Array;
}

export interface ConnackIn extends Base {
  type: 'connack';
  sessionPresent: boolean;
  /** Return code (3.x) or reason code (5.0). */
  reasonCode: number;
  properties: DecodedProperties;
}

export interface PublishIn extends Base {
  type: 'publish';
  topic: string;
  payload: Uint8Array;
  /** Payload decoded as UTF-8 (lossy), for convenience. */
  text: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId: number | undefined;
  properties: DecodedProperties;
}

export interface AckIn extends Base {
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  packetId: number;
  /** 0 when absent (3.x, or 5.0 short form). */
  reasonCode: number;
  properties: DecodedProperties;
}

export interface SubackIn extends Base {
  type: 'suback' | 'unsuback';
  packetId: number;
  /** SUBACK return codes / 5.0 reason codes; empty for a 3.1.1 UNSUBACK. */
  reasonCodes: number[];
  properties: DecodedProperties;
}

export interface DisconnectIn extends Base {
  type: 'disconnect' | 'auth';
  reasonCode: number;
  properties: DecodedProperties;
}

export interface OtherIn extends Base {
  type: 'reserved' | 'connect' | 'subscribe' | 'unsubscribe' | 'pingreq' | 'pingresp';
}

export type ParsedPacket = ConnackIn | PublishIn | AckIn | SubackIn | DisconnectIn | OtherIn;

/** The parsed shape of packet type T (e.g. PacketOf<'suback'>). */
export type PacketOf<T extends PacketTypeName> = ParsedPacket extends infer P
  ? P extends { type: infer U }
    ? T extends U
      ? Omit<P, 'type'> & { type: T }
      : never
    : never
  : never;

/**
 * Splits complete packets off the front of `buffer`. Returns the packets and the
 * unconsumed rest. Throws if the Remaining Length is longer than 4 bytes.
 */
export function splitPackets(buffer: Uint8Array): { packets: Uint8Array[]; rest: Uint8Array } {
  const packets: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    let length = 0;
    let multiplier = 1;
    let pos = offset + 1;
    let complete = false;
    for (let i = 0; i < 4 && pos < buffer.length; i++) {
      const byte = buffer[pos++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) {
        complete = true;
        break;
      }
      if (i === 3) throw new Error(`bad remaining length: ${toHex(buffer.subarray(offset, pos))}`);
    }
    if (!complete || buffer.length - pos < length) break;
    packets.push(buffer.slice(offset, pos + length));
    offset = pos + length;
  }
  return { packets, rest: buffer.slice(offset) };
}

/** Parses one complete packet (as produced by splitPackets). Throws on malformed input. */
export function parsePacket(raw: Uint8Array, version: MqttVersion = 4): ParsedPacket {
  const header = new Reader(raw);
  const first = header.u8();
  const bodyLength = header.varint();
  const r = new Reader(raw, header.offset, header.offset + bodyLength);
  const type = PACKET_TYPES[first >> 4]!;
  const base = { flags: first & 0x0f, raw };
  const v5 = version === 5;
  switch (type) {
    case 'connack': {
      const ackFlags = r.u8();
      const reasonCode = r.u8();
      const properties = v5 && r.remaining > 0 ? decodeProperties(r) : [];
      return { ...base, type, sessionPresent: (ackFlags & 1) === 1, reasonCode, properties };
    }
    case 'publish':
      return parsePublish(r, base, v5);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const packetId = r.u16();
      const reasonCode = v5 && r.remaining > 0 ? r.u8() : 0;
      const properties = v5 && r.remaining > 0 ? decodeProperties(r) : [];
      return { ...base, type, packetId, reasonCode, properties };
    }
    case 'suback':
    case 'unsuback': {
      const packetId = r.u16();
      const properties = v5 ? decodeProperties(r) : [];
      const reasonCodes: number[] = [];
      while (r.remaining > 0) reasonCodes.push(r.u8());
      return { ...base, type, packetId, reasonCodes, properties };
    }
    case 'disconnect':
    case 'auth': {
      const reasonCode = r.remaining > 0 ? r.u8() : 0;
      const properties = r.remaining > 0 ? decodeProperties(r) : [];
      return { ...base, type, reasonCode, properties };
    }
    default:
      return { ...base, type };
  }
}

function parsePublish(r: Reader, base: Base, v5: boolean): PublishIn {
  const qos = (base.flags >> 1) & 0x03;
  const topic = r.string();
  const packetId = qos > 0 ? r.u16() : undefined;
  const properties = v5 ? decodeProperties(r) : [];
  const payload = r.take(r.remaining);
  return {
    ...base,
    type: 'publish',
    topic,
    payload,
    text: new TextDecoder().decode(payload),
    qos,
    retain: (base.flags & 0x01) === 1,
    dup: (base.flags & 0x08) === 0x08,
    packetId,
    properties,
  };
}

/** One-line description of a packet for failure messages. */
export function describePacket(packet: ParsedPacket): string {
  switch (packet.type) {
    case 'publish':
      return `publish(topic=${packet.topic} qos=${packet.qos} retain=${packet.retain} dup=${packet.dup} id=${packet.packetId} payload=${JSON.stringify(packet.text.slice(0, 40))})`;
    case 'connack':
      return `connack(sp=${packet.sessionPresent} rc=0x${packet.reasonCode.toString(16)})`;
    case 'disconnect':
    case 'auth':
      return `${packet.type}(rc=0x${packet.reasonCode.toString(16)})`;
    case 'suback':
    case 'unsuback':
      return `${packet.type}(id=${packet.packetId} codes=${packet.reasonCodes.map((c) => c.toString(16)).join(',')})`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${packet.type}(id=${packet.packetId} rc=0x${packet.reasonCode.toString(16)})`;
    default:
      return `${packet.type}(${toHex(packet.raw, 16)})`;
  }
}
