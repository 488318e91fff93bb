/**
 * Test helpers. Byte vectors are written by hand in the tests; these helpers only turn
 * hex text into bytes and frame a body with its own, independent remaining-length code.
 */
import { Decoder, type Packet, type ProtocolVersion } from '../src/index.js';

/** Hex text (spaces, newlines and `|` separators ignored) → bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s|]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Remaining length as the spec's algorithm (1.5.5) writes it. */
function remainingLength(n: number): string {
  let out = '';
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out += byte.toString(16).padStart(2, '0');
  } while (n > 0);
  return out;
}

/** First byte (hex) + remaining length computed from the body + body (hex parts). */
export function frame(first: string, ...body: string[]): string {
  const b = body.join('').replace(/[\s|]/g, '');
  return first + remainingLength(b.length / 2) + b;
}

/** Property block: variable-byte-integer length of the parts + the parts (hex). */
export function props(...parts: string[]): string {
  const b = parts.join('').replace(/[\s|]/g, '');
  return remainingLength(b.length / 2) + b;
}

/** String field: 2-byte length + UTF-8 bytes, as hex. */
export function str(s: string): string {
  const bytes = new TextEncoder().encode(s);
  return (bytes.length >> 8).toString(16).padStart(2, '0') + (bytes.length & 0xff).toString(16).padStart(2, '0') + toHex(bytes);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Decodes every packet in `bytes` with a fresh decoder. */
export function decodeAll(bytes: Uint8Array, version: ProtocolVersion | undefined, maximumPacketSize?: number): Packet[] {
  const d = new Decoder({ protocolVersion: version, ...(maximumPacketSize !== undefined ? { maximumPacketSize } : {}) });
  d.push(bytes);
  const out: Packet[] = [];
  for (let p = d.next(); p !== null; p = d.next()) out.push(p);
  return out;
}

/** Decodes exactly one packet and checks nothing is left over. */
export function decodeOne(bytes: Uint8Array, version: ProtocolVersion | undefined): Packet {
  const d = new Decoder({ protocolVersion: version });
  d.push(bytes);
  const p = d.next();
  if (p === null) throw new Error('incomplete packet');
  if (d.buffered !== 0) throw new Error(`${d.buffered} bytes left after the packet`);
  return p;
}

/**
 * The error the decoder throws for `bytes`; 'decoded' if every byte decoded without
 * error, 'incomplete' if the decoder still waits for bytes (a broken test vector).
 */
export function decodeError(bytes: Uint8Array, version: ProtocolVersion | undefined): unknown {
  const d = new Decoder({ protocolVersion: version });
  d.push(bytes);
  try {
    while (d.next() !== null) {}
  } catch (e) {
    return e;
  }
  return d.buffered > 0 ? 'incomplete' : 'decoded';
}
