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
