/**
 * Encoder: measures the packet first, then writes it into one buffer (the caller's with
 * encodeInto). Throws EncodeError for packets that cannot be encoded for `version`.
 */
import { connackLength, connectLength, writeConnack, writeConnect } from './encode-connect.js';
import {
  ackLength,
  disconnectLength,
  publishLength,
  subackLength,
  subscribeLength,
  unsubackLength,
  unsubscribeLength,
  writeAck,
  writeDisconnect,
  writePublish,
  writeSuback,
  writeSubscribe,
  writeUnsuback,
  writeUnsubscribe,
} from './encode-packets.js';
import { EncodeError } from './errors.js';
import { type Packet, PacketTypeCode, type ProtocolVersion } from './packets.js';
import { MAX_VARINT, varintLength, writeVarint } from './writer.js';

/** Remaining length of `packet` (validates it). */
function bodyLength(packet: Packet, version: ProtocolVersion): number {
  switch (packet.type) {
    case 'publish':
      return publishLength(packet, version);
    case 'connect':
      return connectLength(packet, version);
    case 'connack':
      return connackLength(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return ackLength(packet, PacketTypeCode[packet.type], version);
    case 'subscribe':
      return subscribeLength(packet, version);
    case 'suback':
      return subackLength(packet, version);
    case 'unsubscribe':
      return unsubscribeLength(packet, version);
    case 'unsuback':
      return unsubackLength(packet, version);
    case 'pingreq':
    case 'pingresp':
      return 0;
    case 'disconnect':
    case 'auth':
      return disconnectLength(packet, PacketTypeCode[packet.type], version);
    default:
      throw new EncodeError(0x81, `unknown packet type ${(packet as { type: unknown }).type}`);
  }
}

function firstByte(packet: Packet): number {
  switch (packet.type) {
    case 'publish':
      return 0x30 | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0);
    case 'pubrel':
    case 'subscribe':
    case 'unsubscribe':
      return (PacketTypeCode[packet.type] << 4) | 0x02; // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
    default:
      return PacketTypeCode[packet.type] << 4;
  }
}

function writeBody(packet: Packet, version: ProtocolVersion, buf: Uint8Array, pos: number, length: number): number {
  switch (packet.type) {
    case 'publish':
      return writePublish(buf, pos, packet, version);
    case 'connect':
      return writeConnect(buf, pos, packet, version);
    case 'connack':
      return writeConnack(buf, pos, packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return writeAck(buf, pos, packet, PacketTypeCode[packet.type], length);
    case 'subscribe':
      return writeSubscribe(buf, pos, packet, version);
    case 'suback':
      return writeSuback(buf, pos, packet, version);
    case 'unsubscribe':
      return writeUnsubscribe(buf, pos, packet, version);
    case 'unsuback':
      return writeUnsuback(buf, pos, packet, version);
    case 'disconnect':
    case 'auth':
      return writeDisconnect(buf, pos, packet, PacketTypeCode[packet.type], length);
    default:
      return pos;
  }
}

function checkedBodyLength(packet: Packet, version: ProtocolVersion): number {
  if (version !== 3 && version !== 4 && version !== 5) throw new EncodeError(0x84, `unsupported protocol version ${version}`);
  const length = bodyLength(packet, version);
  if (length > MAX_VARINT) throw new EncodeError(0x95, `packet body of ${length} bytes exceeds 268,435,455`);
  return length;
}

/** Size in bytes of the encoded packet, fixed header included. */
export function encodedLength(packet: Packet, version: ProtocolVersion): number {
  const length = checkedBodyLength(packet, version);
  return 1 + varintLength(length) + length;
}

/*
 * Small packets are carved out of 64 KB slabs, as Node's Buffer pool does: allocating a
 * fresh ArrayBuffer per packet costs more than encoding a 64-byte PUBLISH. A retained
 * view keeps its slab alive; callers storing encoded bytes for long can `slice()` them.
 */
const SLAB_SIZE = 64 * 1024;
const MAX_POOLED = 8 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOffset = 0;

function allocate(n: number): Uint8Array {
  if (n > MAX_POOLED) return new Uint8Array(n);
  if (slabOffset + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const view = new Uint8Array(slab, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7; // keep views 8-byte aligned
  return view;
}

/**
 * Encodes `packet` for `version` into a Uint8Array of exactly its size. Packets up to
 * 8 KB are views into a shared 64 KB slab (`byteOffset` may be non-zero).
 */
export function encode(packet: Packet, version: ProtocolVersion): Uint8Array {
  const length = checkedBodyLength(packet, version);
  const buf = allocate(1 + varintLength(length) + length);
  buf[0] = firstByte(packet);
  const pos = writeVarint(buf, 1, length);
  writeBody(packet, version, buf, pos, length);
  return buf;
}

/** Encodes into `target` at `offset`; returns the number of bytes written. */
export function encodeInto(packet: Packet, version: ProtocolVersion, target: Uint8Array, offset: number): number {
  const length = checkedBodyLength(packet, version);
  const total = 1 + varintLength(length) + length;
  if (!Number.isInteger(offset) || offset < 0 || offset + total > target.length) {
    throw new EncodeError(0x81, `target has no room for ${total} bytes at offset ${offset}`);
  }
  target[offset] = firstByte(packet);
  const pos = writeVarint(target, offset + 1, length);
  writeBody(packet, version, target, pos, length);
  return total;
}

/** Offset of the packet identifier in an encoded QoS>0 PUBLISH. */
function publishIdOffset(encoded: Uint8Array): number {
  if (encoded.length < 2 || encoded[0]! >> 4 !== 3 || (encoded[0]! & 0x06) === 0) {
    throw new EncodeError(0x81, 'not an encoded QoS 1 or 2 PUBLISH');
  }
  let i = 1;
  while (encoded[i]! & 0x80 && i < 4) i++;
  const topicAt = i + 1;
  const offset = topicAt + 2 + ((encoded[topicAt]! << 8) | encoded[topicAt + 1]!);
  if (offset + 2 > encoded.length) throw new EncodeError(0x81, 'truncated encoded PUBLISH');
  return offset;
}

/** Patches the packet identifier of an encoded QoS>0 PUBLISH in place. */
export function setPublishPacketId(encoded: Uint8Array, packetId: number): void {
  if (!Number.isInteger(packetId) || packetId < 1 || packetId > 65_535) throw new EncodeError(0x81, 'packet identifier must be 1..65535');
  const at = publishIdOffset(encoded);
  encoded[at] = packetId >>> 8;
  encoded[at + 1] = packetId & 0xff;
}

/** Sets or clears the DUP flag of an encoded PUBLISH in place (QoS>0 only [MQTT-3.3.1-2]). */
export function setPublishDup(encoded: Uint8Array, dup: boolean): void {
  if (encoded.length < 1 || encoded[0]! >> 4 !== 3) throw new EncodeError(0x81, 'not an encoded PUBLISH');
  if (dup && (encoded[0]! & 0x06) === 0) throw new EncodeError(0x81, 'DUP cannot be set on a QoS 0 PUBLISH [MQTT-3.3.1-2]');
  encoded[0] = dup ? encoded[0]! | 0x08 : encoded[0]! & 0xf7;
}
