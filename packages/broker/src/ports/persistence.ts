import type { Properties, QoS, Will } from '@hato/protocol';
import type { MaybePromise } from '../options.js';
import type { OutgoingState, SessionSubscription } from '../session/session.js';

/** An application message as stored (the broker's Message satisfies this shape). */
export interface StoredMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** Epoch ms, 0 = never expires. */
  readonly expiresAt: number;
  readonly origin: string | undefined;
}

/** A message queued for, or in flight to, a persistent session. */
export interface StoredOutgoing {
  /** Its key in the session: increasing in queue order (1, 2, ...; never 0). */
  readonly seq: number;
  readonly message: StoredMessage;
  /** The QoS it goes out with (the subscription may have downgraded it). */
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** 0 while queued. */
  readonly packetId: number;
  readonly state: OutgoingState;
}

/** A will waiting for its 5.0 Will Delay Interval (or its session's end): due at `dueAt` (epoch ms). */
export interface StoredWill {
  readonly will: Will;
  readonly dueAt: number;
}

/** A persistent session as loaded at start. */
export interface SessionRecord {
  readonly clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  readonly expiryInterval: number;
  /** Epoch ms its connection ended (expiry counts from here); 0 while it was connected. */
  readonly disconnectedAt: number;
  readonly subscriptions: readonly SessionSubscription[];
  /** Queued and in-flight messages, by increasing `seq`. */
  readonly messages: readonly StoredOutgoing[];
  /** Incoming QoS 2 packet ids received and not yet released by PUBREL. */
  readonly incomingQos2: readonly number[];
  readonly will?: StoredWill | undefined;
}

/** Everything a store holds, as `load()` gives it. */
export interface StoredState {
  /**
   * Iterated once, at start: an array, or a lazy iterable that reads the store as the broker
   * takes each message (a million retained messages need not all exist as rows at once).
   */
  readonly retained: Iterable<StoredMessage>;
  readonly sessions: readonly SessionRecord[];
}

/**
 * One change to the durable state. The broker records them as its working set changes and
 * hands them over in order, batched, to `Persistence.commit`. Applying a batch's changes in
 * order to what `load()` would give yields the broker's state after the batch. Records are
 * immutable values: an adapter may keep them (the memory adapter does).
 *
 * Sessions with a Session Expiry Interval of 0 (3.1.1 clean session 1) end with their
 * connection and are never recorded.
 */
export type PersistenceChange =
  /** A retained message set (replaces the topic's previous one). */
  | { readonly op: 'retain'; readonly message: StoredMessage }
  /** The topic's retained message is deleted (no-op when there is none). */
  | { readonly op: 'unretain'; readonly topic: string }
  /**
   * A persistent session is created, or its expiry changed: connected (`disconnectedAt` 0) or
   * disconnected at `disconnectedAt`, it expires `expiryInterval` s after that.
   */
  | { readonly op: 'session'; readonly clientId: string; readonly expiryInterval: number; readonly disconnectedAt: number }
  /** The session ends (expired, clean start, expiry set to 0): it and all it holds are deleted. */
  | { readonly op: 'end-session'; readonly clientId: string }
  /** A subscription is added or replaced (keyed by its `topicFilter`). */
  | { readonly op: 'subscribe'; readonly clientId: string; readonly subscription: SessionSubscription }
  | { readonly op: 'unsubscribe'; readonly clientId: string; readonly topicFilter: string }
  /** A message is queued for the session, or sent to it (in flight): added under `entry.seq`. */
  | { readonly op: 'message'; readonly clientId: string; readonly entry: StoredOutgoing }
  /** A message already recorded moves on: sent under `packetId`, PUBREC'd (awaiting-pubcomp). */
  | { readonly op: 'message-state'; readonly clientId: string; readonly seq: number; readonly packetId: number; readonly state: OutgoingState }
  /** A message is done with (acknowledged, dropped, expired, handed to another share member). */
  | { readonly op: 'message-done'; readonly clientId: string; readonly seq: number }
  /** An incoming QoS 2 packet id is held (PUBREC sent) [MQTT-4.3.3-9] ... */
  | { readonly op: 'qos2-received'; readonly clientId: string; readonly packetId: number }
  /** ... until PUBREL releases it. */
  | { readonly op: 'qos2-released'; readonly clientId: string; readonly packetId: number }
  /** A will waits for its delay (replaces one the session had). */
  | { readonly op: 'will'; readonly clientId: string; readonly will: StoredWill }
  /** The session's waiting will is gone (published, or cancelled by a reconnect). */
  | { readonly op: 'will-done'; readonly clientId: string };

/**
 * The storage port: write-through with group commit.
 *
 * - `load()` once at start: the broker rebuilds its working set (retained messages, sessions,
 *   their subscriptions, queues, in-flight state, timers for session expiry and will delay)
 *   from it, then emits `ready`.
 * - `commit(batch)`: the broker records every change of durable state as it happens, and hands
 *   the changes of one event-loop turn over in ONE call (never two at once: the next batch
 *   waits for the previous commit). The batch must be stored atomically (all or nothing) and
 *   durably (as the adapter's fsync setting promises) before the call returns or its promise
 *   resolves. The broker holds back the PUBACK / PUBREC / PUBREL / PUBCOMP that follow those
 *   changes until then: a QoS 1/2 message is stored before it is acknowledged. A sync adapter
 *   returns; an async one returns a promise (the message path never waits per message).
 *   A commit that throws or rejects is logged and counted, then retried client by client: the
 *   connections whose acks depended on a change that is still not stored (their own session's,
 *   or a message they published) are closed without them (their clients send the messages
 *   again); the other acks of the batch go out.
 * - `close()` after the last commit.
 *
 * Every adapter passes the contract suite in `@hato/testkit` (`persistenceContract`).
 */
/** What `load()` reads. */
export interface LoadOptions {
  /**
   * False on a node of a cluster: a store shared by several nodes (Redis) leaves sessions out,
   * since each node loads only its own clients' (one by one, as they connect). A store of one
   * node may ignore it.
   */
  readonly sessions?: boolean;
}

export interface Persistence {
  load(options?: LoadOptions): MaybePromise<StoredState>;
  commit(batch: readonly PersistenceChange[]): MaybePromise<void>;
  close?(): MaybePromise<void>;
}
