/**
 * `for await (const msg of client.subscription('a/#'))`: an async iterator over the
 * messages matching one filter. It subscribes when created, buffers up to `limit`
 * messages not yet consumed (the oldest are dropped beyond that and counted in
 * `dropped`), and unsubscribes when the loop ends (`break`, `return()`).
 */
import { parseSharedSubscription, type PublishPacket, topicMatches } from '@hato/protocol';
import { Queue } from './queue.js';
import type { SubscriptionGrant } from './subscriptions.js';

export interface StreamOwner {
  closeStream(stream: SubscriptionStream): void;
}

export class SubscriptionStream implements AsyncIterableIterator<PublishPacket> {
  /** Resolves with the SUBACK grant; a refusal also ends the iteration with the error. */
  readonly ready: Promise<SubscriptionGrant[]>;
  /** Messages dropped because the consumer was slower than `limit`. */
  dropped = 0;
  private readonly pattern: string;
  private readonly buffer = new Queue<PublishPacket>();
  private waiter: { resolve: (r: IteratorResult<PublishPacket>) => void; reject: (e: Error) => void } | undefined;
  private error: Error | undefined;
  private done = false;

  constructor(
    readonly filter: string,
    ready: Promise<SubscriptionGrant[]>,
    private readonly owner: StreamOwner,
    private readonly limit = 10_000,
  ) {
    this.pattern = parseSharedSubscription(filter)?.filter ?? filter;
    this.ready = ready;
    ready.catch((err: Error) => this.fail(err));
  }

  matches(topic: string): boolean {
    return !this.done && topicMatches(this.pattern, topic);
  }

  push(packet: PublishPacket): void {
    if (this.done) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: packet, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(packet);
  }

  /** Ends the iteration with an error (subscription refused, client closed with an error). */
  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.done = true;
    this.owner.closeStream(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(error);
  }

  /** Ends the iteration normally (client ended). */
  finish(): void {
    if (this.done) return;
    this.done = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<PublishPacket>> {
    const packet = this.buffer.shift();
    if (packet !== undefined) return Promise.resolve({ value: packet, done: false });
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<PublishPacket>> {
    if (!this.done) {
      this.finish();
      this.owner.closeStream(this);
    }
    this.buffer.drain();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
