/**
 * Back-pressure for QoS 0 publishing, the Node stream convention: a publish resolves
 * once its bytes are handed to the transport, at once while the bytes not yet sent
 * (the client's write buffer plus the transport's: socket `writableLength`, WebSocket
 * `bufferedAmount`) stay under the high-water mark; past it, every publish gets the one
 * shared promise of the next drain. Under the mark nothing is allocated per message
 * (the same resolved promise every time).
 */
import { RESOLVED } from './outgoing-flow.js';

/** What the gate needs from the connection side. */
export interface DrainSource {
  /** Bytes written but not sent yet. */
  buffered(): number;
  /** Ask for one `drained()` call once everything is sent (or the connection is gone). */
  watchDrain(): void;
}

export const DEFAULT_HIGH_WATER_MARK = 512 * 1024;

export class BackPressure {
  private waiting: Promise<undefined> | undefined;
  private release: (() => void) | undefined;

  constructor(
    private readonly highWaterMark: number,
    private readonly source: DrainSource,
    /** Called when writers waiting on a drain are released (the client emits 'drain'). */
    private readonly onDrain: () => void,
  ) {}

  /** False from the write that reached the mark until the drain after it. */
  get writable(): boolean {
    return this.waiting === undefined && this.source.buffered() < this.highWaterMark;
  }

  /** After a write: the resolved promise under the mark, else the shared promise of the next drain. */
  afterWrite(): Promise<undefined> {
    if (this.waiting !== undefined) return this.waiting;
    if (this.source.buffered() < this.highWaterMark) return RESOLVED;
    this.waiting = new Promise<undefined>((resolve) => {
      this.release = () => resolve(undefined);
    });
    this.source.watchDrain();
    return this.waiting;
  }

  /**
   * The transport sent everything, or the connection is gone (its bytes with it: QoS 0
   * promises nothing more). Releases the waiting writers and reports 'drain'.
   */
  drained(): void {
    const release = this.release;
    if (release === undefined) return;
    this.waiting = undefined;
    this.release = undefined;
    release();
    this.onDrain();
  }
}
