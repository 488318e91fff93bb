/**
 * Low-level writers for the encoder: each writes at `pos` into a buffer already sized by
 * the length pass and returns the position after the field. Measuring helpers throw
 * EncodeError for values the wire format cannot carry.
 */
import { EncodeError } from './errors.js';
import { utf8Length, writeUtf8 } from './utf8.js';

export const MAX_VARINT = 268_435_455;

/** Bytes a variable byte integer takes. */
export function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

export function writeU16(buf: Uint8Array, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2;
}

export function writeU32(buf: Uint8Array, pos: number, n: number): number {
  buf[pos] = n >>> 24;
  buf[pos + 1] = (n >>> 16) & 0xff;
  buf[pos + 2] = (n >>> 8) & 0xff;
  buf[pos + 3] = n & 0xff;
  return pos + 4;
}

/** UTF-8 byte length of an MQTT string field (without its 2-byte prefix). */
export function stringLength(s: unknown, what: string): number {
  if (typeof s !== 'string') throw new EncodeError(0x81, `${what} must be a string`);
  const n = utf8Length(s);
  if (n < 0) throw new EncodeError(0x81, `${what} contains U+0000 or a lone surrogate [MQTT-1.5.4-1] [MQTT-1.5.4-2]`);
  if (n > 65_535) throw new EncodeError(0x81, `${what} longer than 65,535 bytes`);
  return n;
}

/** Writes the 2-byte length and the string; `n` comes from stringLength. */
export function writeString(buf: Uint8Array, pos: number, s: string, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return writeUtf8(buf, pos + 2, s, n);
}

export function binaryLength(b: unknown, what: string): number {
  if (!(b instanceof Uint8Array)) throw new EncodeError(0x81, `${what} must be a Uint8Array`);
  if (b.length > 65_535) throw new EncodeError(0x81, `${what} longer than 65,535 bytes`);
  return b.length;
}

export function writeBinary(buf: Uint8Array, pos: number, b: Uint8Array): number {
  pos = writeU16(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

export function checkInt(n: unknown, min: number, max: number, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new EncodeError(0x81, `${what} must be an integer in ${min}..${max}`);
  }
  return n;
}

export function checkPacketId(id: unknown, what: string): number {
  return checkInt(id, 1, 65_535, `${what} packet identifier`);
}
