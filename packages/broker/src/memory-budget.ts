import type { ReadHold } from './read-hold.js';

/**
 * The broker-wide memory budget (option `maxMemoryBytes`) and its overload counters. It
 * accounts the bytes of the messages the broker holds, in four parts:
 * - `queuedBytes`: entries of session queues (each entry charged its message's size, so a
 *   message queued for many sessions is charged many times: an upper bound);
 * - `inflightBytes`: outgoing QoS 1/2 messages waiting for their ack;
 * - `outputBytes`: PUBLISH packets written to connections that the socket has not taken
 *   yet (this turn's unflushed ones and the stream's backlog); control packets (acks) answer
 *   what was read and are bounded per read, not charged;
 * - `retainedBytes`: the retained store.
 * Each change is an integer add where the bytes are taken or freed; nothing is scanned.
 *
 * The overload policy reads `usedBytes` as each PUBLISH is admitted (handlers/publish.ts):
 * - ≥ `holdMark` (¾ of the budget): the publisher stops being read (ReadHold) until usage
 *   falls under `resumeMark` (½), for at most READ_HOLD_LIMIT_MS; a hold that runs out
 *   leaves the budget `stalled` (no more holds until usage falls under `resumeMark`), so
 *   subscribers that never read cannot stop every publisher for good;
 * - ≥ `qos0Mark` (⅞): QoS 0 messages are dropped, incoming and outgoing, and counted;
 * - over the budget: QoS 1/2 PUBLISH is refused (5.0: PUBACK/PUBREC 0x97 Quota exceeded;
 *   3.x, which has no such code: the connection is closed, so nothing refused is acknowledged).
 * Messages already admitted are delivered: one message's fan-out may go over the budget by
 * its size per matching session (QoS 1/2 are not dropped once acknowledged).
 */
export class MemoryBudget {
  readonly limit: number;
  readonly holdMark: number;
  readonly resumeMark: number;
  readonly qos0Mark: number;
  queuedBytes = 0;
  inflightBytes = 0;
  outputBytes = 0;
  retainedBytes = 0;
  /** Highest `usedBytes` seen. */
  peakBytes = 0;
  /** QoS 0 messages dropped because usage was over `qos0Mark` (incoming ones and deliveries). */
  droppedQoS0 = 0;
  /** QoS 1/2 PUBLISH refused because the budget was full (5.0 0x97; 3.x: connection closed). */
  refusedPublishes = 0;
  /** Times a publisher stopped being read because usage was over `holdMark`. */
  readHolds = 0;
  /** A hold ran out and usage did not fall: no new holds until it is under `resumeMark`. */
  stalled = false;
  /** Publishers not read until usage falls. */
  private waiters: ReadHold[] = [];
  /** True while a release must check whether usage fell under `resumeMark` (holds or stalled). */
  private watching = false;

  constructor(limit: number) {
    this.limit = limit;
    this.holdMark = Math.floor(limit * 0.75);
    this.resumeMark = Math.floor(limit * 0.5);
    this.qos0Mark = Math.floor(limit * 0.875);
  }

  get usedBytes(): number {
    return this.queuedBytes + this.inflightBytes + this.outputBytes + this.retainedBytes;
  }

  chargeQueued(bytes: number): void {
    this.queuedBytes += bytes;
    this.notePeak();
  }

  releaseQueued(bytes: number): void {
    this.queuedBytes -= bytes;
    if (this.watching) this.checkFallen();
  }

  chargeInflight(bytes: number): void {
    this.inflightBytes += bytes;
    this.notePeak();
  }

  releaseInflight(bytes: number): void {
    this.inflightBytes -= bytes;
    if (this.watching) this.checkFallen();
  }

  chargeOutput(bytes: number): void {
    this.outputBytes += bytes;
    this.notePeak();
  }

  releaseOutput(bytes: number): void {
    this.outputBytes -= bytes;
    if (this.watching) this.checkFallen();
  }

  chargeRetained(bytes: number): void {
    this.retainedBytes += bytes;
    this.notePeak();
  }

  releaseRetained(bytes: number): void {
    this.retainedBytes -= bytes;
    if (this.watching) this.checkFallen();
  }

  private notePeak(): void {
    const used = this.queuedBytes + this.inflightBytes + this.outputBytes + this.retainedBytes;
    if (used > this.peakBytes) this.peakBytes = used;
  }

  /** ReadHold: `hold` stopped reading until usage falls. */
  addWaiter(hold: ReadHold): void {
    this.waiters.push(hold);
    this.readHolds++;
    this.watching = true;
  }

  /** ReadHold: `hold`'s connection closed. */
  removeWaiter(hold: ReadHold): void {
    const index = this.waiters.indexOf(hold);
    if (index !== -1) this.waiters.splice(index, 1);
  }

  /** A hold ran out before usage fell: stalled until it does; every waiter reads again. */
  holdExpired(): void {
    this.stalled = true;
    this.watching = true;
    this.wakeAll();
  }

  private checkFallen(): void {
    if (this.queuedBytes + this.inflightBytes + this.outputBytes + this.retainedBytes >= this.resumeMark) return;
    this.stalled = false;
    this.watching = false;
    this.wakeAll();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const hold of waiters) hold.memoryFell();
  }

  /** A plain snapshot for metrics ($SYS, Prometheus) and tests. */
  snapshot(): MemorySnapshot {
    return {
      limit: this.limit,
      usedBytes: this.usedBytes,
      peakBytes: this.peakBytes,
      queuedBytes: this.queuedBytes,
      inflightBytes: this.inflightBytes,
      outputBytes: this.outputBytes,
      retainedBytes: this.retainedBytes,
      droppedQoS0: this.droppedQoS0,
      refusedPublishes: this.refusedPublishes,
      readHolds: this.readHolds,
      stalled: this.stalled,
    };
  }
}

export interface MemorySnapshot {
  readonly limit: number;
  readonly usedBytes: number;
  readonly peakBytes: number;
  readonly queuedBytes: number;
  readonly inflightBytes: number;
  readonly outputBytes: number;
  readonly retainedBytes: number;
  readonly droppedQoS0: number;
  readonly refusedPublishes: number;
  readonly readHolds: number;
  readonly stalled: boolean;
}
