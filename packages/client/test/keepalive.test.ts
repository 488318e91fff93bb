/**
 * Keepalive by wall-clock time: a throttled timer (background tab) must not stop the
 * PINGREQ, because every incoming chunk also checks how long ago something was sent.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeepAlive } from '../src/keepalive.js';

describe('KeepAlive', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends PINGREQ from incoming data when the timers did not fire (throttled)', () => {
    const host = { sendPing: vi.fn(), deadLink: vi.fn() };
    const k = new KeepAlive(host);
    k.start(60, 30_000);
    vi.setSystemTime(1_000_000 + 50_000); // 50 s later, no timer ran
    k.received();
    expect(host.sendPing).toHaveBeenCalledTimes(1);
    k.stop();
  });

  it('does not ping while packets are being sent; pings 3/4 into an idle keepalive', () => {
    const host = { sendPing: vi.fn(), deadLink: vi.fn() };
    const k = new KeepAlive(host);
    k.start(10, 5000);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(5000);
      k.sent();
    }
    expect(host.sendPing).not.toHaveBeenCalled();
    vi.advanceTimersByTime(7500);
    expect(host.sendPing).toHaveBeenCalledTimes(1);
    k.stop();
  });

  it('declares the link dead when nothing arrives within pingTimeout of a PINGREQ', () => {
    const host = { sendPing: vi.fn(), deadLink: vi.fn() };
    const k = new KeepAlive(host);
    k.start(4, 1000);
    vi.advanceTimersByTime(3000);
    expect(host.sendPing).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(999);
    expect(host.deadLink).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(host.deadLink).toHaveBeenCalledTimes(1);
  });

  it('an answer clears the pending PINGREQ', () => {
    const host = { sendPing: vi.fn(), deadLink: vi.fn() };
    const k = new KeepAlive(host);
    k.start(4, 1000);
    vi.advanceTimersByTime(3000);
    k.received();
    vi.advanceTimersByTime(2000);
    expect(host.deadLink).not.toHaveBeenCalled();
    k.stop();
  });

  it('a busy connection does not re-arm a timer per chunk, and still pings once idle', () => {
    const host = { sendPing: vi.fn(), deadLink: vi.fn() };
    const k = new KeepAlive(host);
    k.start(10, 5000);
    const arm = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 1000; i++) {
      vi.advanceTimersByTime(1);
      k.sent();
      k.received();
    }
    expect(arm).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(7500 + 50); // the early timer re-checks, then the idle ping is due
    expect(host.sendPing).toHaveBeenCalledTimes(1);
    arm.mockRestore();
    k.stop();
  });
});
