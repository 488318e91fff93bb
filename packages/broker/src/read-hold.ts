import type { Connection } from './connection.js';
import type { MemoryBudget } from './memory-budget.js';

/** Longest a publisher's reading waits for a subscriber socket that does not drain. */
export const READ_HOLD_LIMIT_MS = 1000;

/**
 * Publisher back-pressure through TCP, one per connection (see Delivery and the README's
 * slow-consumer policy). When routing a client's PUBLISH finds an online subscriber's socket
 * backlog over half the slow-consumer bound, the publisher stops reading: its stream is
 * paused (TCP pushes back on it) and packets already decoded wait. It reads again once every
 * socket it waits for has drained (`'drain'`, or a write accepted under the stream's
 * high-water mark) or closed, or after READ_HOLD_LIMIT_MS: the sockets that did not drain
 * by then are *stalled* and hold nobody until they drain (QoS 0 beyond the bound is dropped).
 *
 * A connection never waits for its own socket; a held connection's own output keeps being
 * written, and holds are time-bounded, so clients publishing to each other cannot deadlock.
 * Per connection: two small arrays and at most one timer (while it is held).
 *
 * The broker's memory budget holds publishers the same way (`holdForMemory`): reading stops
 * until the budget's usage falls under its resume mark, or for at most READ_HOLD_LIMIT_MS,
 * after which the budget is stalled and holds nobody until usage falls (see MemoryBudget).
 */
export class ReadHold {
  private readonly connection: Connection;
  /** Subscriber sockets this connection waits for: reading is paused while there is any. */
  private waitingOn: ReadHold[] = NONE;
  /** Publishers waiting for this connection's socket to drain. */
  private waiters: ReadHold[] = NONE;
  /** This socket did not drain within READ_HOLD_LIMIT_MS: it holds nobody until it drains. */
  stalled = false;
  private timer: NodeJS.Timeout | undefined;
  private resumeScheduled = false;
  /** Waiting for the broker's memory usage to fall (MemoryBudget). */
  private memory: MemoryBudget | undefined;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /** True while this connection must not read. */
  get paused(): boolean {
    return this.waitingOn.length !== 0 || this.memory !== undefined;
  }

  /** True when `drained()` has something to do (checked on every flush). */
  get engaged(): boolean {
    return this.waiters.length !== 0 || this.stalled;
  }

  /** Delivery: a message from `publisher` found this socket over its high-water mark. */
  hold(publisher: ReadHold): void {
    if (this.stalled || publisher === this || this.connection.state === 'closed' || this.waiters.includes(publisher)) return;
    if (this.waiters === NONE) this.waiters = [];
    this.waiters.push(publisher);
    publisher.waitFor(this);
  }

  /** This socket drained: publishers waiting for it may read again; it is no longer stalled. */
  drained(): void {
    this.stalled = false;
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = NONE;
    for (const publisher of waiters) publisher.stopWaitingFor(this);
  }

  /** The publish handler: the broker's memory usage is over its hold mark; stop reading until it falls. */
  holdForMemory(budget: MemoryBudget): void {
    if (this.memory !== undefined || this.connection.state === 'closed') return;
    const wasPaused = this.paused;
    this.memory = budget;
    budget.addWaiter(this);
    if (!wasPaused) this.pauseReading();
  }

  /** MemoryBudget: usage fell under the resume mark, or the budget stalled. */
  memoryFell(): void {
    if (this.memory === undefined) return;
    this.memory = undefined;
    if (!this.paused) this.release();
  }

  /** The connection closed: it waits for nobody and nobody waits for it. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const subscriber of this.waitingOn) subscriber.removeWaiter(this);
    this.waitingOn = NONE;
    this.memory?.removeWaiter(this);
    this.memory = undefined;
    this.drained();
  }

  private waitFor(subscriber: ReadHold): void {
    const wasPaused = this.paused;
    if (this.waitingOn === NONE) this.waitingOn = [];
    this.waitingOn.push(subscriber);
    if (!wasPaused) this.pauseReading();
  }

  private pauseReading(): void {
    this.connection.stream.pause();
    this.timer = setTimeout(readHoldExpired, READ_HOLD_LIMIT_MS, this);
  }

  private stopWaitingFor(subscriber: ReadHold): void {
    const index = this.waitingOn.indexOf(subscriber);
    if (index === -1) return;
    this.waitingOn.splice(index, 1);
    if (!this.paused) this.release();
  }

  private removeWaiter(publisher: ReadHold): void {
    const index = this.waiters.indexOf(publisher);
    if (index !== -1) this.waiters.splice(index, 1);
  }

  /**
   * The limit ran out: the sockets still waited for are stalled and release all their
   * waiters; a memory hold stalls the budget (which releases its other waiters).
   */
  expire(): void {
    this.timer = undefined;
    const subscribers = this.waitingOn;
    this.waitingOn = NONE;
    for (const subscriber of subscribers) subscriber.stall();
    const memory = this.memory;
    this.memory = undefined;
    if (memory !== undefined) {
      memory.removeWaiter(this);
      memory.holdExpired();
    }
    this.release();
  }

  /** The expiring publisher already stopped waiting: `stopWaitingFor` ignores it. */
  private stall(): void {
    this.stalled = true;
    const waiters = this.waiters;
    this.waiters = NONE;
    for (const publisher of waiters) publisher.stopWaitingFor(this);
  }

  /** Reading resumes on a later turn: never inside the routing or closing that released it. */
  private release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    setImmediate(resumeReading, this);
  }

  resumeNow(): void {
    this.resumeScheduled = false;
    if (!this.paused) this.connection.resumeAfterHold();
  }
}

function readHoldExpired(hold: ReadHold): void {
  hold.expire();
}

function resumeReading(hold: ReadHold): void {
  hold.resumeNow();
}

/** The empty list every idle hold shares (frozen: a push must replace it first). */
const NONE: ReadHold[] = Object.freeze([]) as unknown as ReadHold[];
