/**
 * Resumable MQTT decoder: push chunks of any size, pull whole packets.
 *
 * - A packet that lies entirely inside one chunk is decoded in place; its binary fields
 *   (payload, correlation data, password) are `subarray` views of that chunk, so callers
 *   must not reuse a pushed chunk's memory.
 * - A packet split across chunks is gathered once, when its last byte has arrived.
 * - Nothing pins a pushed chunk once its packets are decoded: the reader lets go of it after
 *   each packet, and while waiting for the rest of a packet the decoder keeps only the bytes it
 *   still needs, copied to their exact size when the chunk holding them is much larger
 *   (an idle connection whose last read was a 64 KiB chunk keeps none of it).
 * - `maximumPacketSize` is checked as soon as the fixed header is read, before any of
 *   the body is waited for, so an announced 256 MB packet costs nothing.
 * - Errors are DecodeError subclasses only; after one the decoder is poisoned and
 *   rethrows it (the connection must be closed).
 */
import { decodeBody } from './decode-body.js';
import { decodeConnect } from './decode-connect.js';
import { DecodeError, MalformedPacketError, PacketTooLargeError, ProtocolError } from './errors.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { Reader } from './reader.js';

export interface DecoderOptions {
  /** Undefined for a broker (set by the CONNECT it decodes); the agreed level for a client. */
  protocolVersion?: ProtocolVersion;
  /** Largest whole packet (fixed header included) accepted, in bytes. Default: no limit. */
  maximumPacketSize?: number;
}

/**
 * One reader for every decoder: a packet is decoded synchronously from start to end, and the
 * reader lets go of the chunk after each one (no per-connection reader while idle).
 */
const reader = new Reader();

/** Fixed header (5) + largest remaining length (268,435,455). */
const MAX_PACKET = 268_435_460;
const EMPTY = new Uint8Array(0);
/**
 * Bytes of a chunk's memory the decoder may keep alive beyond the unread bytes it needs while
 * it waits; past this, the unread bytes are copied out (at most one partial packet's worth).
 */
const SLACK = 1024;

export class Decoder {
  protocolVersion: ProtocolVersion | undefined;
  maximumPacketSize: number;
  /** Current chunk and read position in it. */
  private cur: Uint8Array = EMPTY;
  private pos = 0;
  /** Chunks queued after `cur`, from index `head` (undefined while there are none). */
  private queue: Uint8Array[] | undefined;
  private head = 0;
  /** Unread bytes in `cur` and `queue`. */
  private avail = 0;
  /** Fixed header of the packet being waited for; typeCode -1 = none yet. */
  private typeCode = -1;
  private flags = 0;
  private remaining = 0;
  private failure: DecodeError | undefined;

  constructor(options: DecoderOptions = {}) {
    this.protocolVersion = options.protocolVersion;
    this.maximumPacketSize = options.maximumPacketSize ?? MAX_PACKET;
  }

  /** Bytes pushed but not yet consumed by a decoded packet. */
  get buffered(): number {
    return this.avail;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.avail === 0) {
      this.cur = chunk;
      this.pos = 0;
    } else {
      // Queued only behind an unfinished packet; a view into a larger buffer would keep it alive.
      (this.queue ??= []).push(chunk.buffer.byteLength - n > SLACK ? copyOf(chunk, 0) : chunk);
    }
    this.avail += n;
  }

  /** The next whole packet, or null when more bytes are needed. Throws DecodeError only. */
  next(): Packet | null {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.step();
    } catch (e) {
      this.failure =
        e instanceof DecodeError ? e : new MalformedPacketError(`decoder failure: ${e instanceof Error ? e.message : String(e)}`);
      throw this.failure;
    }
  }

  private step(): Packet | null {
    if ((this.typeCode < 0 && !this.readFixedHeader()) || this.avail < this.remaining) {
      this.keepOnlyUnread();
      return null;
    }
    const length = this.remaining;
    const r = reader;
    let buf = this.cur;
    let start = this.pos;
    if (buf.length - start >= length) {
      this.consume(length);
    } else {
      buf = this.gather(length);
      start = 0;
    }
    const typeCode = this.typeCode;
    this.typeCode = -1;
    r.reset(buf, start, start + length, this.protocolVersion === 5);
    try {
      if (typeCode === 1) {
        const connect = decodeConnect(r, this.flags);
        if (this.protocolVersion === undefined) this.protocolVersion = connect.protocolVersion;
        return connect;
      }
      const version = this.protocolVersion;
      if (version === undefined) throw new ProtocolError('first packet is not CONNECT [MQTT-3.1.0-1]');
      return decodeBody(r, typeCode, this.flags, version);
    } finally {
      // The packet's views (payload, password, ...) are its own; the reader keeps no chunk.
      r.reset(EMPTY, 0, 0, false);
    }
  }

  /**
   * Waiting for more bytes: when the current chunk's memory is much larger than its unread
   * bytes (a partial packet at the end of a big read), those bytes are copied out so that
   * the chunk can go. The copy is at most one packet's worth (its size was checked).
   */
  private keepOnlyUnread(): void {
    const cur = this.cur;
    const unread = cur.length - this.pos;
    if (cur.buffer.byteLength - unread <= SLACK) return;
    this.cur = unread === 0 ? EMPTY : copyOf(cur, this.pos);
    this.pos = 0;
  }

  /** Reads type, flags and remaining length if all their bytes are there. */
  private readFixedHeader(): boolean {
    if (this.avail < 2) return false;
    const first = this.peek(0);
    let remaining = 0;
    let multiplier = 1;
    let i = 1;
    for (;;) {
      if (i >= this.avail) return false;
      const b = this.peek(i);
      remaining += (b & 0x7f) * multiplier;
      i++;
      if (b < 0x80) {
        if (b === 0 && i > 2 && this.protocolVersion === 5) {
          throw new MalformedPacketError('remaining length not minimal [MQTT-1.5.5-1]');
        }
        break;
      }
      if (i === 5) throw new MalformedPacketError('remaining length longer than 4 bytes [MQTT-1.5.5-1]');
      multiplier *= 128;
    }
    const size = i + remaining;
    if (size > this.maximumPacketSize) throw new PacketTooLargeError(size, this.maximumPacketSize);
    const typeCode = first >> 4;
    if (typeCode === 0) throw new MalformedPacketError('reserved packet type 0');
    this.typeCode = typeCode;
    this.flags = first & 0x0f;
    this.remaining = remaining;
    this.consume(i);
    return true;
  }

  /** Byte `i` positions ahead of the read position (i < avail). */
  private peek(i: number): number {
    const inCur = this.cur.length - this.pos;
    if (i < inCur) return this.cur[this.pos + i]!;
    i -= inCur;
    const q = this.queue;
    if (q === undefined) return 0;
    for (let k = this.head; k < q.length; k++) {
      const chunk = q[k]!;
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    return 0;
  }

  /** Skips `n` bytes (n <= avail). */
  private consume(n: number): void {
    this.avail -= n;
    let left = this.cur.length - this.pos;
    while (n >= left) {
      n -= left;
      const q = this.queue;
      if (q === undefined || this.head === q.length) {
        this.queue = undefined;
        this.head = 0;
        this.cur = EMPTY;
        this.pos = 0;
        return;
      }
      const next = q[this.head]!;
      q[this.head++] = EMPTY;
      this.cur = next;
      this.pos = 0;
      left = next.length;
      if (n === 0) break;
    }
    if (this.queue !== undefined && this.head === this.queue.length) {
      this.queue = undefined;
      this.head = 0;
    }
    this.pos += n;
  }

  /** Copies the next `n` bytes (spanning chunks) into one new array and consumes them. */
  private gather(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const take = Math.min(n - filled, this.cur.length - this.pos);
      out.set(this.cur.subarray(this.pos, this.pos + take), filled);
      filled += take;
      this.consume(take);
    }
    return out;
  }
}

/** An exact-size copy of `view` from `start` (not Buffer#slice, which makes a view). */
function copyOf(view: Uint8Array, start: number): Uint8Array {
  const out = new Uint8Array(view.length - start);
  out.set(start === 0 ? view : view.subarray(start));
  return out;
}
