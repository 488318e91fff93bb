/**
 * Bounds-checked reads over one packet body `buf[pos, end)`. Every read checks the
 * remaining bytes first and throws MalformedPacketError when the field is truncated,
 * so no typed-array access ever goes out of range. One Reader is reused per Decoder.
 */
import { MalformedPacketError } from './errors.js';
import { decodeUtf8 } from './utf8.js';

export class Reader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** 5.0 requires minimal variable byte integers [MQTT-1.5.5-1]; 3.x does not say so. */
  strictVarint = false;

  reset(buf: Uint8Array, pos: number, end: number, strictVarint: boolean): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.strictVarint = strictVarint;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  truncated(what: string): MalformedPacketError {
    return new MalformedPacketError(`truncated ${what}`);
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw this.truncated(what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw this.truncated(what);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(what: string): number {
    const p = this.pos;
    if (p + 4 > this.end) throw this.truncated(what);
    this.pos = p + 4;
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** Variable byte integer, at most 4 bytes (0..268,435,455). */
  varint(what: string): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (this.strictVarint && byte === 0 && i > 0) {
          throw new MalformedPacketError(`${what}: variable byte integer not minimal [MQTT-1.5.5-1]`);
        }
        return value;
      }
      multiplier *= 128;
    }
    throw new MalformedPacketError(`${what}: variable byte integer longer than 4 bytes`);
  }

  /** Length-prefixed UTF-8 string [MQTT-1.5.4-1] [MQTT-1.5.4-2]. */
  string(what: string): string {
    const len = this.u16(what);
    const p = this.pos;
    if (p + len > this.end) throw this.truncated(what);
    this.pos = p + len;
    const s = decodeUtf8(this.buf, p, p + len);
    if (s === null) throw new MalformedPacketError(`${what}: invalid UTF-8 or U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]`);
    return s;
  }

  /** Length-prefixed binary data; a view into the input, not a copy. */
  binary(what: string): Uint8Array {
    const len = this.u16(what);
    return this.bytes(len, what);
  }

  bytes(len: number, what: string): Uint8Array {
    const p = this.pos;
    if (p + len > this.end) throw this.truncated(what);
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  /** The rest of the packet (PUBLISH payload). */
  rest(): Uint8Array {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }

  /** Trailing bytes after the last field make the packet malformed. */
  done(what: string): void {
    if (this.pos !== this.end) throw new MalformedPacketError(`${what}: ${this.end - this.pos} unexpected trailing bytes`);
  }
}
