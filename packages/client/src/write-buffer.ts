import { encodedLength, encodeInto, type Packet, type ProtocolVersion } from '@hato/protocol';

const CHUNK = 64 * 1024;
/** The first buffer of a connection; each refill doubles it up to CHUNK. */
const FIRST = 2 * 1024;
/**
 * Runs a callback in the next macrotask turn (Node, Deno, Bun: setImmediate). Browsers
 * have none; there every flush is a microtask one (a WebSocket send() is only a copy).
 */
const nextTurn = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;

/**
 * Encodes packets straight into one buffer and hands the filled region to the
 * transport once per tick (a microtask), or at once when 64 KiB are pending. A flushed
 * region is never written again (new packets go after it, or into a fresh buffer), so
 * the transport may keep the bytes without a copy. The buffer starts small and doubles
 * at each refill up to 64 KiB: a connection that sends a few packets (most of them)
 * never allocates, zeroes and collects 64 KiB, a busy publisher gets there at once.
 *
 * The first flush of a macrotask turn is a microtask (no added latency); later writes in
 * the same turn wait for the next turn (or 64 KiB). So a loop of awaited publishes, which
 * crosses a microtask boundary per message, still hands the socket 64 KiB at a time
 * instead of one write (a syscall) per message.
 */
export class WriteBuffer {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private scheduled = false;
  /** A microtask flush happened in this macrotask turn (reset at the next turn). */
  private flushedThisTurn = false;
  private readonly flushTask = () => {
    this.scheduled = false;
    this.flush();
    if (!this.flushedThisTurn && nextTurn !== undefined) {
      this.flushedThisTurn = true;
      nextTurn(this.newTurn);
    }
  };
  private readonly newTurn = () => {
    this.flushedThisTurn = false;
  };

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    private readonly version: ProtocolVersion,
  ) {}

  /** Bytes encoded but not yet handed to the transport. */
  get pending(): number {
    return this.end - this.start;
  }

  /** Encodes `packet`; throws EncodeError before writing anything if it is invalid. */
  write(packet: Packet): void {
    const n = encodedLength(packet, this.version);
    if (this.buf.length - this.end < n) {
      this.flush();
      this.buf = new Uint8Array(Math.max(Math.min(CHUNK, this.buf.length * 2 || FIRST), n));
      this.start = this.end = 0;
    }
    this.end += encodeInto(packet, this.version, this.buf, this.end);
    if (this.end - this.start >= CHUNK) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      if (this.flushedThisTurn) nextTurn!(this.flushTask);
      else queueMicrotask(this.flushTask);
    }
  }

  flush(): void {
    if (this.end === this.start) return;
    const chunk = this.buf.subarray(this.start, this.end);
    this.start = this.end;
    this.sink(chunk);
  }

  /** Drops unflushed bytes (the connection is gone). */
  discard(): void {
    this.start = this.end;
  }
}
