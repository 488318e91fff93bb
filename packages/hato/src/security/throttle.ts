/**
 * Failed logins per IP address. The n-th failure in a row costs d = min(baseDelayMs ·
 * 2^(n-1), maxDelayMs): the failing CONNECT's refusal waits d, and the address stays blocked
 * for d after that refusal. A CONNECT from a blocked address waits for the block's end and is
 * refused without its password being checked (so a retry at once, or parallel connections,
 * gain nothing and cost no hashing): at most one guess per 2·d.
 * A success clears the address; a record not touched for `forgetAfterMs` starts over.
 * At most `maxAddresses` are tracked (the least recently failed is forgotten first).
 * `maxDelayMs` must stay below the broker's connectTimeoutMs (10 s by default).
 */
export interface ThrottleOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  forgetAfterMs?: number;
  maxAddresses?: number;
  now?: () => number;
}

interface Failures {
  count: number;
  blockedUntil: number;
  last: number;
}

export class LoginThrottle {
  private readonly records = new Map<string, Failures>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds this address is still blocked for (0: it may try now). */
  blockedFor(address: string): number {
    const record = this.current(address);
    return record === undefined ? 0 : Math.max(0, record.blockedUntil - this.now());
  }

  /** Records a failure; returns how long its refusal waits (the block lasts twice that). */
  failed(address: string): number {
    const now = this.now();
    const record = this.current(address) ?? { count: 0, blockedUntil: 0, last: 0 };
    record.count++;
    record.last = now;
    const delay = Math.min(this.baseDelayMs * 2 ** Math.min(record.count - 1, 30), this.maxDelayMs);
    record.blockedUntil = now + 2 * delay;
    // Re-inserted so the Map's order is least recently failed first.
    this.records.delete(address);
    this.records.set(address, record);
    if (this.records.size > this.maxAddresses) this.records.delete(this.records.keys().next().value!);
    return delay;
  }

  succeeded(address: string): void {
    this.records.delete(address);
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.records.size;
  }

  private current(address: string): Failures | undefined {
    const record = this.records.get(address);
    if (record !== undefined && this.now() - record.last > this.forgetAfterMs) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }
}
