import type { ReconnectOptions } from './options.js';

/** Resolved reconnect policy; `null` disables reconnection. */
export type ReconnectPolicy = Required<ReconnectOptions> | null;

export function reconnectPolicy(option: boolean | ReconnectOptions | undefined): ReconnectPolicy {
  if (option === false) return null;
  const o = option === true || option === undefined ? {} : option;
  return {
    initialDelay: o.initialDelay ?? 1000,
    maxDelay: o.maxDelay ?? 30_000,
    factor: o.factor ?? 2,
    jitter: Math.min(1, Math.max(0, o.jitter ?? 0.5)),
    maxAttempts: o.maxAttempts ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential growth capped at
 * `maxDelay`, of which the `jitter` fraction is random so that many clients cut off
 * together do not come back in lockstep. `random` is injectable for tests.
 */
export function backoffDelay(
  policy: Required<ReconnectOptions>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/**
 * A connection that dies sooner than this after its CONNACK does not reset the backoff:
 * a broker that accepts and then drops (or breaks the protocol) at once is retried ever
 * more slowly, not in a tight loop.
 */
export const STABLE_MS = 10_000;

/** The delay before each reconnect attempt, counting connections that flap. */
export class Backoff {
  /** Connections in a row that did not stay up for STABLE_MS after CONNACK. */
  private flaps = 0;
  private connectedAt = 0;

  /** A CONNACK accepted the connection. */
  connected(now = Date.now()): void {
    this.connectedAt = now;
  }

  /**
   * Delay before attempt `attempt` (failures since the last CONNACK, from 1). A redirection
   * goes at once, unless the broker keeps sending the client away right after CONNACK.
   */
  next(policy: Required<ReconnectOptions>, attempt: number, hadConnack: boolean, redirecting: boolean, now = Date.now()): number {
    const stable = hadConnack && now - this.connectedAt >= STABLE_MS;
    if (stable) this.flaps = 0;
    const delay = redirecting && this.flaps === 0 ? 0 : backoffDelay(policy, attempt + this.flaps);
    if (hadConnack && !stable) this.flaps = Math.min(this.flaps + 1, 32);
    return delay;
  }
}
