/**
 * Byte-level helpers for building MQTT packets by hand (MQTT 3.1.1 §1.5, 5.0 §1.5).
 * Deliberately independent of @hato/protocol so tests do not share bugs with the code
 * under test. Strings may be given as raw bytes to build invalid UTF-8 on purpose.
 */

const textEncoder = new TextEncoder();

/** Text or raw bytes; raw bytes are written unchanged (used to send invalid UTF-8). */
export type StringOrBytes = string | Uint8Array;

export function toBytes(value: StringOrBytes): Uint8Array {
  return typeof value === 'string' ? textEncoder.encode(value) : value;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff);
}

/** Two Byte Integer, big-endian (§1.5.2). */
export function u16(value: number): Uint8Array {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

/** Four Byte Integer, big-endian (5.0 §1.5.3). */
export function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** Variable Byte Integer, 1–4 bytes (5.0 §1.5.5, 3.1.1 §2.2.3). */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return Uint8Array.from(out);
}

/** UTF-8 Encoded String: two-byte length then the bytes (§1.5.3 / 5.0 §1.5.4). */
export function utf8(value: StringOrBytes): Uint8Array {
  const bytes = toBytes(value);
  return concat([u16(bytes.length), bytes]);
}

/** Binary Data: two-byte length then the bytes (5.0 §1.5.6). */
export function binary(value: StringOrBytes): Uint8Array {
  return utf8(value);
}

/** A whole control packet: first byte, Remaining Length, then the body. */
export function frame(firstByte: number, body: Uint8Array): Uint8Array {
  return concat([u8(firstByte), varint(body.length), body]);
}

/** Parses "10 0c 00 04" or "100c0004" into bytes. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`invalid hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array, max = 64): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown;
}
