import { PacketIdAllocator, type QoS, type RetainHandling, type Will } from '@hato/protocol';
import type { Connection } from '../connection.js';
import type { Journal } from '../journal.js';
import type { MemoryBudget } from '../memory-budget.js';
import type { Message } from '../message.js';
import type { ShareGroup } from '../routing/subscription-trie.js';
import { keepHeldLater } from './keep-later.js';

/** Session Expiry Interval meaning "never expires" (3.1.1 clean session 0, 5.0 0xFFFFFFFF). */
export const NEVER_EXPIRES = 0xffffffff;

/** One subscription of a session, as the trie stores it. */
export interface SessionSubscription {
  /** The filter as the client sent it (with `$share/{group}/` for shared subscriptions). */
  readonly topicFilter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: RetainHandling;
  /** 5.0 Subscription Identifier, if the SUBSCRIBE carried one. */
  readonly subscriptionId: number | undefined;
  /** Share group name for `$share/{group}/{filter}`, else undefined. */
  readonly group: string | undefined;
}

/**
 * Where an outgoing QoS > 0 message stands. `queued` waits for a window slot (or for the
 * client to come back); the others are in flight under `packetId` [MQTT-4.3.2] [MQTT-4.3.3].
 */
export type OutgoingState = 'queued' | 'awaiting-puback' | 'awaiting-pubrec' | 'awaiting-pubcomp';

export interface Outgoing {
  /** Its key in the persistence once recorded (1, 2, ... in queue order); 0 = not recorded. */
  seq: number;
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  packetId: number;
  state: OutgoingState;
  /** The share group it was sent through (`$share/`), for redelivery to another member. */
  readonly group?: ShareGroup | undefined;
}

/** A will waiting for its 5.0 Will Delay Interval (or its session's end) to run out. */
export interface PendingWill {
  readonly will: Will;
  readonly clientId: string;
  readonly dueAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Everything MQTT keeps for a client id between connections: subscriptions, QoS 1/2 state
 * in both directions and the queue of messages not yet sent [MQTT-4.1.0-1]. The bytes of
 * queued and in-flight messages are charged to the broker's MemoryBudget as they come and go.
 */
export class Session {
  readonly clientId: string;
  private readonly memory: MemoryBudget;
  connection: Connection | undefined;
  /** Seconds after disconnect before the session is discarded; NEVER_EXPIRES for never. */
  expiryInterval = 0;
  expiryTimer: NodeJS.Timeout | undefined;
  /** Epoch ms its last connection ended (expiry counts from here). */
  disconnectedAt = 0;
  pendingWill: PendingWill | undefined;
  /**
   * Where its changes are recorded while it is persistent (Session Expiry Interval > 0), else
   * undefined: a clean session records nothing, and pays one comparison per change.
   */
  journal: Journal | undefined;
  /** The last `seq` given to one of its messages. */
  lastSeq = 0;
  /*
   * Its collections exist only once they hold something (an idle session keeps no empty Map,
   * Set or array [DESIGN: idle costs almost nothing]); read them through the getters, change
   * them through the methods.
   */
  private subscriptionMap: Map<string, SessionSubscription> | undefined;
  private inflightMap: Map<number, Outgoing> | undefined;
  private qos2Ids: Set<number> | undefined;
  /** Message bytes of the in-flight entries. */
  inflightBytes = 0;
  /** What the subscriptions cost in the client-state budget (see client-state.ts). */
  subscriptionBytes = 0;
  private ids: PacketIdAllocator | undefined;
  private queue: Outgoing[] = NO_OUTGOING;
  private queueHead = 0;
  queuedBytes = 0;
  /** Messages dropped because a queue bound was hit. */
  droppedMessages = 0;

  // Scratch fields used by the router while matching one publish (no allocation per match).
  matchGeneration = 0;
  matchQos: QoS = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined;

  /** On the keep-later list (see keep-later.ts). */
  keepScheduled = false;

  constructor(clientId: string, memory: MemoryBudget) {
    this.clientId = clientId;
    this.memory = memory;
  }

  /** Packet ids of outgoing QoS 1/2 (made when first needed). */
  get packetIds(): PacketIdAllocator {
    this.ids ??= new PacketIdAllocator();
    return this.ids;
  }

  /** Subscriptions by filter (change them through setSubscription / deleteSubscription). */
  get subscriptions(): ReadonlyMap<string, SessionSubscription> {
    return this.subscriptionMap ?? NO_SUBSCRIPTIONS;
  }

  setSubscription(subscription: SessionSubscription): void {
    (this.subscriptionMap ??= new Map()).set(subscription.topicFilter, subscription);
  }

  deleteSubscription(filter: string): boolean {
    return this.subscriptionMap?.delete(filter) ?? false;
  }

  clearSubscriptions(): void {
    this.subscriptionMap = undefined;
  }

  /** Outgoing QoS 1/2 in flight, by packet id, in send order (change it through addInflight / removeInflight). */
  get inflight(): ReadonlyMap<number, Outgoing> {
    return this.inflightMap ?? NO_INFLIGHT;
  }

  /** Incoming QoS 2 packet ids received and not yet released by PUBREL [MQTT-4.3.3-9]. */
  get incomingQos2(): ReadonlySet<number> {
    return this.qos2Ids ?? NO_IDS;
  }

  addIncomingQos2(packetId: number): void {
    (this.qos2Ids ??= new Set()).add(packetId);
    this.journal?.record({ op: 'qos2-received', clientId: this.clientId, packetId });
  }

  /** False when the id was not held. */
  deleteIncomingQos2(packetId: number): boolean {
    const held = this.qos2Ids?.delete(packetId) ?? false;
    if (held) this.journal?.record({ op: 'qos2-released', clientId: this.clientId, packetId });
    return held;
  }

  get queueLength(): number {
    return this.queue.length - this.queueHead;
  }

  /** Appends to the queue unless a bound is hit (then the message is dropped and counted). */
  enqueue(entry: Outgoing, maxMessages: number, maxBytes: number): boolean {
    const size = entry.message.size;
    if (this.queueLength >= maxMessages || this.queuedBytes + size > maxBytes) {
      this.droppedMessages++;
      return false;
    }
    // No view into a read chunk or an encoder slab waits long in a queue: a sweep a tick later
    // keeps what is still queued (see keep-later.ts); a draining subscriber takes it first.
    if (!entry.message.isKept) keepHeldLater(this);
    if (this.queue === NO_OUTGOING) this.queue = [];
    this.queue.push(entry);
    this.queuedBytes += size;
    this.memory.chargeQueued(size);
    if (this.journal !== undefined) this.recordMessage(this.journal, entry);
    return true;
  }

  /** Puts an entry in flight under its packet id. */
  addInflight(entry: Outgoing): void {
    const size = entry.message.size;
    // In flight until acknowledged: usually a moment, maybe long. No view into a read chunk
    // stays long: a sweep a tick later keeps what is still in flight (see keep-later.ts).
    if (!entry.message.isKept) keepHeldLater(this);
    (this.inflightMap ??= new Map()).set(entry.packetId, entry);
    this.inflightBytes += size;
    this.memory.chargeInflight(size);
    if (this.journal === undefined) return;
    if (entry.seq === 0) this.recordMessage(this.journal, entry);
    else this.recordState(entry);
  }

  /** Keeps every message in flight or queued (they stay past their packet): see keep-later.ts. */
  keepHeld(): void {
    const inflight = this.inflightMap;
    if (inflight !== undefined) for (const entry of inflight.values()) entry.message.keep();
    const queue = this.queue;
    for (let i = this.queueHead; i < queue.length; i++) queue[i]!.message.keep();
  }

  /** Records a recorded entry's new state (sent under its packet id, PUBREC'd). */
  recordState(entry: Outgoing): void {
    if (this.journal === undefined || entry.seq === 0) return;
    this.journal.record({ op: 'message-state', clientId: this.clientId, seq: entry.seq, packetId: entry.packetId, state: entry.state });
  }

  /** Records an entry the session holds (queued or in flight) as a new message. */
  recordEntry(entry: Outgoing): void {
    if (this.journal !== undefined) this.recordMessage(this.journal, entry);
  }

  private recordMessage(journal: Journal, entry: Outgoing): void {
    entry.seq = ++this.lastSeq;
    const stored = { seq: entry.seq, message: entry.message, qos: entry.qos, retain: entry.retain, subscriptionIds: entry.subscriptionIds, packetId: entry.packetId, state: entry.state };
    journal.record({ op: 'message', clientId: this.clientId, entry: stored });
  }

  private recordDone(entry: Outgoing): void {
    if (this.journal === undefined || entry.seq === 0) return;
    this.journal.record({ op: 'message-done', clientId: this.clientId, seq: entry.seq });
  }

  /** Takes an entry out of flight (its id is released by the caller); undefined when unknown. */
  removeInflight(packetId: number): Outgoing | undefined {
    const entry = this.inflightMap?.get(packetId);
    if (entry === undefined) return undefined;
    const size = entry.message.size;
    this.inflightMap!.delete(packetId);
    this.inflightBytes -= size;
    this.memory.releaseInflight(size);
    this.recordDone(entry);
    return entry;
  }

  peekQueued(): Outgoing | undefined {
    return this.queue[this.queueHead];
  }

  shiftQueued(): Outgoing | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const entry = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Outgoing;
    this.queueHead++;
    const size = entry.message.size;
    this.queuedBytes -= size;
    this.memory.releaseQueued(size);
    // Still 'queued': not sent but discarded (QoS 0 written, expired, too large): done with.
    if (entry.state === 'queued') this.recordDone(entry);
    if (this.queueHead === this.queue.length) {
      this.queue = NO_OUTGOING;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return entry;
  }

  /** Queued entries in order. */
  queuedEntries(): Outgoing[] {
    return this.queue.slice(this.queueHead);
  }

  /** Removes and returns the queued entries `take` selects, keeping the others in order. */
  takeQueued(take: (entry: Outgoing) => boolean): Outgoing[] {
    const kept: Outgoing[] = [];
    const taken: Outgoing[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const entry = this.queue[i]!;
      if (take(entry)) {
        taken.push(entry);
        const size = entry.message.size;
        this.queuedBytes -= size;
        this.memory.releaseQueued(size);
        this.recordDone(entry);
      } else kept.push(entry);
    }
    this.queue = kept;
    this.queueHead = 0;
    return taken;
  }

  /** Forgets all message state (clean start / expiry). Subscriptions are removed by the caller. */
  clearMessages(): void {
    for (const id of this.inflight.keys()) this.packetIds.release(id);
    this.inflightMap = undefined;
    this.memory.releaseInflight(this.inflightBytes);
    this.inflightBytes = 0;
    this.qos2Ids = undefined;
    this.queue = NO_OUTGOING;
    this.queueHead = 0;
    this.memory.releaseQueued(this.queuedBytes);
    this.queuedBytes = 0;
  }
}

/** What sessions with nothing of a kind share (never changed: each session makes its own first). */
const NO_SUBSCRIPTIONS: ReadonlyMap<string, SessionSubscription> = new Map();
const NO_INFLIGHT: ReadonlyMap<number, Outgoing> = new Map();
const NO_IDS: ReadonlySet<number> = new Set();
const NO_OUTGOING: Outgoing[] = Object.freeze([]) as unknown as Outgoing[];
