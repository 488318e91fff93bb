/**
 * The timer wheel behind the CONNECT timeout and keep alive of every connection: a deadline
 * fires at its time or within one tick (100 ms) after it, never before; entries can be
 * rescheduled and cancelled, also from inside callbacks; the wheel's timer stops when nothing
 * is scheduled. Runs on vitest's fake clock: deterministic, no wall-clock thresholds.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimerWheel, type WheelEntry } from '../src/timer-wheel.js';

class Entry implements WheelEntry {
  wheelSlot = -1;
  wheelIndex = 0;
  wheelDue = 0;
  fired: number[] = [];
  constructor(private readonly then?: (now: number, self: Entry) => void) {}
  onWheelDue(now: number): void {
    this.fired.push(now);
    this.then?.(now, this);
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TimerWheel', () => {
  it('fires a deadline at its time or within one tick after, never before', () => {
    for (const ms of [1, 50, 100, 1_234, 90_000]) {
      const wheel = new TimerWheel();
      const start = Date.now();
      const entry = new Entry();
      wheel.schedule(entry, start + ms);
      vi.advanceTimersByTime(ms - 1);
      expect(entry.fired).toEqual([]);
      vi.advanceTimersByTime(101);
      expect(entry.fired).toHaveLength(1);
      expect(entry.fired[0]! - start).toBeGreaterThanOrEqual(ms);
      expect(entry.fired[0]! - start).toBeLessThanOrEqual(ms + 100);
      expect(wheel.size).toBe(0);
    }
  });

  it('deadlines more than one turn away (102.4 s) wait for their turn', () => {
    const wheel = new TimerWheel();
    const start = Date.now();
    const far = new Entry();
    wheel.schedule(far, start + 250_000); // keep alive 65535 s is ~27 h: many turns
    vi.advanceTimersByTime(249_999);
    expect(far.fired).toEqual([]);
    vi.advanceTimersByTime(101);
    expect(far.fired).toHaveLength(1);
  });

  it('reschedule replaces the deadline; cancel removes it', () => {
    const wheel = new TimerWheel();
    const start = Date.now();
    const moved = new Entry();
    const cancelled = new Entry();
    const other = new Entry();
    wheel.schedule(moved, start + 500);
    wheel.schedule(cancelled, start + 500);
    wheel.schedule(other, start + 500);
    wheel.schedule(moved, start + 2_000);
    wheel.cancel(cancelled);
    expect(wheel.size).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(moved.fired).toEqual([]);
    expect(cancelled.fired).toEqual([]);
    expect(other.fired).toHaveLength(1);
    vi.advanceTimersByTime(1_100);
    expect(moved.fired).toHaveLength(1);
    expect(cancelled.fired).toEqual([]);
  });

  it('a callback may reschedule itself and cancel or reschedule entries due in the same tick', () => {
    const wheel = new TimerWheel();
    const start = Date.now();
    const cancelled = new Entry();
    const moved = new Entry();
    const repeating = new Entry((now, self) => {
      if (self.fired.length < 3) wheel.schedule(self, now + 1_000);
    });
    const killer = new Entry(() => {
      wheel.cancel(cancelled);
      wheel.schedule(moved, Date.now() + 5_000);
    });
    // All due in the same tick; the last one scheduled in a slot runs first (the killer).
    for (const entry of [cancelled, moved, repeating, killer]) wheel.schedule(entry, start + 300);
    vi.advanceTimersByTime(400);
    expect(killer.fired).toHaveLength(1);
    expect(cancelled.fired).toEqual([]);
    expect(moved.fired).toEqual([]);
    vi.advanceTimersByTime(10_000);
    expect(repeating.fired).toHaveLength(3);
    expect(moved.fired).toHaveLength(1);
    expect(moved.fired[0]! - start).toBeGreaterThanOrEqual(5_300);
    expect(cancelled.fired).toEqual([]);
    expect(wheel.size).toBe(0);
  });

  it('runs a timer only while something is scheduled', () => {
    const wheel = new TimerWheel();
    expect(vi.getTimerCount()).toBe(0);
    const entry = new Entry();
    wheel.schedule(entry, Date.now() + 1_000);
    expect(vi.getTimerCount()).toBe(1);
    wheel.cancel(entry);
    vi.advanceTimersByTime(200);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after the event loop was blocked past a whole turn, every overdue entry fires once', () => {
    const wheel = new TimerWheel();
    const start = Date.now();
    const entries = Array.from({ length: 50 }, (_, i) => {
      const entry = new Entry();
      wheel.schedule(entry, start + 1_000 + i * 3_000);
      return entry;
    });
    vi.setSystemTime(start + 400_000); // the clock jumps: timers had no chance to run
    vi.advanceTimersByTime(100);
    for (const entry of entries) expect(entry.fired).toHaveLength(1);
  });
});
