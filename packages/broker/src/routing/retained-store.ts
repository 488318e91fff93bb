import type { MemoryBudget } from '../memory-budget.js';
import type { Message } from '../message.js';
import { RetainedIndex } from './retained-index.js';

/**
 * Retained messages, one per topic [MQTT-3.3.1-5]. Lookups are synchronous (this is the
 * broker's working copy); the Persistence port keeps the durable copy. Their bytes count
 * in the broker's memory budget. A wildcard filter is matched through an index by topic
 * level (RetainedIndex), never by a scan of every retained topic.
 */
export class RetainedStore {
  private readonly messages = new Map<string, Message>();
  private readonly index = new RetainedIndex<Message>();
  private readonly memory: MemoryBudget;

  constructor(memory: MemoryBudget) {
    this.memory = memory;
  }

  get size(): number {
    return this.messages.size;
  }

  set(message: Message): void {
    const previous = this.messages.get(message.topic);
    if (previous !== undefined) this.memory.releaseRetained(previous.size);
    this.messages.set(message.topic, message);
    this.index.set(message.topic, message);
    this.memory.chargeRetained(message.size);
  }

  /** [MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload removes the topic's message. */
  delete(topic: string): boolean {
    const previous = this.messages.get(topic);
    if (previous === undefined) return false;
    this.messages.delete(topic);
    this.index.delete(topic);
    this.memory.releaseRetained(previous.size);
    return true;
  }

  get(topic: string): Message | undefined {
    return this.messages.get(topic);
  }

  /** Retained messages matching a filter, without expired ones [MQTT-3.3.2-5]. */
  match(filter: string): Message[] {
    const now = Date.now();
    if (!filter.includes('+') && !filter.includes('#')) {
      const message = this.messages.get(filter);
      if (message === undefined) return [];
      if (message.isExpired(now)) {
        this.delete(filter); // [MQTT-3.3.2-5] an expired retained message is gone
        return [];
      }
      return [message];
    }
    const out: Message[] = [];
    let expired: Message[] | undefined;
    this.index.match(filter, (message) => {
      if (message.isExpired(now)) (expired ??= []).push(message);
      else out.push(message);
    });
    if (expired !== undefined) for (const message of expired) this.delete(message.topic);
    return out;
  }

  values(): IterableIterator<Message> {
    return this.messages.values();
  }
}
