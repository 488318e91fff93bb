/**
 * The deadlines of every connection (CONNECT timeout, keep alive) on one timer for the whole
 * process [DESIGN: idle costs almost nothing]: a hashed wheel of TICK_MS slots. A connection
 * costs three numbers and a slot entry instead of a Timeout object and its closure; rescheduling
 * allocates nothing; at rest the wheel wakes up every TICK_MS and looks only at the entries
 * of the slot that came due, so 50,000 idle connections with keep alive 60 s cost one check
 * each per 90 s. The timer runs only while some deadline is pending and never keeps the
 * process alive (the sockets do).
 *
 * A deadline fires at its time or up to one tick later, never earlier.
 */

/** What the wheel schedules (a Connection): the wheel's bookkeeping fields and the callback. */
export interface WheelEntry {
  /** Slot the entry is in; -1 not scheduled; FIRING: taken out, its callback about to run. */
  wheelSlot: number;
  /** Index in its slot's array. */
  wheelIndex: number;
  /**
   * When the entry is due: ms since the wheel's origin as an int32 (a small integer field, no
   * heap number per entry; compared modulo 2^32, deadlines are far less than 24 days out).
   */
  wheelDue: number;
  /** Called once the entry is due (it is no longer scheduled; it may schedule itself again). */
  onWheelDue(now: number): void;
}

const TICK_MS = 100;
/** Slots; one turn of the wheel is SLOTS × TICK_MS (102.4 s). Later deadlines wait whole turns. */
const SLOTS = 1024;
const FIRING = -2;

export class TimerWheel {
  /** Epoch ms that `wheelDue` counts from. */
  private readonly origin = Date.now();
  private readonly slots: WheelEntry[][] = Array.from({ length: SLOTS }, () => []);
  private scheduled = 0;
  /** The next tick (absolute: epoch ms / TICK_MS) whose slot has not been looked at. */
  private nextTick = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Due entries of the slot being run (reused). */
  private readonly due: WheelEntry[] = [];

  get size(): number {
    return this.scheduled;
  }

  /** Schedules `entry` at epoch ms `due` (or reschedules it). */
  schedule(entry: WheelEntry, due: number): void {
    if (entry.wheelSlot >= 0) this.remove(entry);
    else if (entry.wheelSlot === FIRING) entry.wheelSlot = -1;
    if (this.scheduled === 0 && this.timer === undefined) this.start();
    // Never into a slot already passed this turn: at the earliest, the next one looked at.
    const tick = Math.max(Math.ceil(due / TICK_MS), this.nextTick);
    const index = (tick % SLOTS) | 0;
    const slot = this.slots[index]!;
    entry.wheelSlot = index;
    entry.wheelIndex = slot.length;
    entry.wheelDue = (due - this.origin) | 0;
    slot.push(entry);
    this.scheduled++;
  }

  /** Unschedules `entry` (no-op when it is not scheduled). */
  cancel(entry: WheelEntry): void {
    if (entry.wheelSlot >= 0) this.remove(entry);
    else if (entry.wheelSlot === FIRING) entry.wheelSlot = -1;
  }

  private remove(entry: WheelEntry): void {
    const slot = this.slots[entry.wheelSlot]!;
    const last = slot.pop()!;
    if (last !== entry) {
      slot[entry.wheelIndex] = last;
      last.wheelIndex = entry.wheelIndex;
    }
    entry.wheelSlot = -1;
    this.scheduled--;
  }

  private start(): void {
    this.nextTick = Math.floor(Date.now() / TICK_MS);
    this.timer = setInterval(runWheel, TICK_MS, this);
    this.timer.unref();
  }

  /** @internal the interval fired: runs every slot up to now. */
  run(): void {
    const now = Date.now();
    const last = Math.floor(now / TICK_MS);
    // After a long pause (a blocked event loop) one pass over the wheel is enough.
    if (last - this.nextTick >= SLOTS) this.nextTick = last - SLOTS + 1;
    const due = this.due;
    const since = (now - this.origin) | 0;
    while (this.nextTick <= last) {
      const slot = this.slots[this.nextTick % SLOTS]!;
      this.nextTick++;
      for (let i = slot.length - 1; i >= 0; i--) {
        const entry = slot[i]!;
        if (((entry.wheelDue - since) | 0) > 0) continue;
        this.remove(entry);
        entry.wheelSlot = FIRING;
        due.push(entry);
      }
      // Callbacks run after the slot is settled: they may schedule or cancel any entry.
      for (let i = 0; i < due.length; i++) {
        const entry = due[i]!;
        if (entry.wheelSlot !== FIRING) continue; // cancelled or rescheduled by an earlier callback
        entry.wheelSlot = -1;
        try {
          entry.onWheelDue(now);
        } catch {
          // An entry handles its own failures (a Connection inside its error boundary); the
          // wheel goes on for the others whatever happens.
        }
      }
      due.length = 0;
    }
    if (this.scheduled === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

function runWheel(wheel: TimerWheel): void {
  wheel.run();
}

/** The process's wheel, shared by every broker. */
export const timerWheel = new TimerWheel();
