/**
 * Keepalive that survives background-tab timer throttling.
 *
 * Browsers slow timers in hidden tabs (Chrome runs them at most once a minute after a
 * while), so a single `setInterval` that sends PINGREQ on every tick is not enough.
 * Instead every check compares WALL-CLOCK time: a PINGREQ is due when nothing was sent
 * for 3/4 of the keepalive (the server allows 1.5×, so a late timer still has slack),
 * and the link is dead when nothing came back for `pingTimeout` after a PINGREQ.
 * `check()` runs from a timer, but also from every incoming chunk and every write,
 * so whichever fires first after a throttled pause catches up at once.
 * [MQTT-3.1.2-23] the client sends a control packet within the keepalive period.
 */
export interface KeepAliveHost {
  sendPing(): void;
  deadLink(): void;
}

export class KeepAlive {
  private intervalMs = 0;
  private timeoutMs = 0;
  private lastSent = 0;
  private pingSentAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (wall-clock ms). */
  private timerAt = 0;
  private readonly onTimer = () => {
    this.timer = undefined;
    this.check();
  };

  constructor(private readonly host: KeepAliveHost) {}

  /** `keepalive` in seconds (0 disables), `pingTimeout` in ms. */
  start(keepalive: number, pingTimeout: number | undefined): void {
    this.stop();
    if (keepalive <= 0) return;
    this.intervalMs = keepalive * 750;
    this.timeoutMs = pingTimeout ?? Math.min(30_000, keepalive * 500);
    this.lastSent = Date.now();
    this.pingSentAt = 0;
    this.arm(this.intervalMs);
  }

  stop(): void {
    this.intervalMs = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Something was written to the transport. */
  sent(): void {
    this.lastSent = Date.now();
  }

  /** Something arrived: the link is alive. */
  received(): void {
    this.pingSentAt = 0;
    if (this.intervalMs > 0) this.check();
  }

  check(): void {
    if (this.intervalMs === 0) return;
    const now = Date.now();
    if (this.pingSentAt !== 0) {
      if (now - this.pingSentAt >= this.timeoutMs) {
        this.stop();
        this.host.deadLink();
        return;
      }
    } else if (now - this.lastSent >= this.intervalMs) {
      this.pingSentAt = now;
      this.lastSent = now;
      this.host.sendPing();
    }
    if (this.intervalMs === 0) return;
    const due =
      this.pingSentAt !== 0 ? this.pingSentAt + this.timeoutMs - now : this.lastSent + this.intervalMs - now;
    this.arm(Math.max(50, due), now);
  }

  /**
   * A timer due no later than needed is kept: when it fires, `check()` arms the next one.
   * So a busy connection (a check per incoming chunk) does not churn timers.
   */
  private arm(ms: number, now = Date.now()): void {
    if (this.timer !== undefined) {
      if (this.timerAt <= now + ms) return;
      clearTimeout(this.timer);
    }
    this.timerAt = now + ms;
    this.timer = setTimeout(this.onTimer, ms);
  }
}
