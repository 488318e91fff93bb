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

export interface StoredOutgoing {
  readonly message: StoredMessage;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  readonly packetId: number;
  readonly state: OutgoingState;
}

/** A persistent session as stored between connections. */
export interface SessionRecord {
  readonly clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  readonly expiryInterval: number;
  /** Epoch ms of the disconnect (expiry counts from here); 0 while connected. */
  readonly disconnectedAt: number;
  readonly subscriptions: readonly SessionSubscription[];
  readonly inflight: readonly StoredOutgoing[];
  readonly queued: readonly StoredOutgoing[];
  readonly incomingQos2: readonly number[];
  /** A will waiting for its delay, with the epoch ms it is due. */
  readonly will?: { readonly will: Will; readonly dueAt: number };
}

/**
 * The storage port. The broker keeps its working state in memory and uses this port
 * narrowly: it loads everything once at start (`ready` fires after), and writes through:
 * retained messages on change, a session snapshot when its connection ends (and at
 * `close()`), a delete when it ends. Every method may return a value (the sync fast path
 * the in-memory implementation takes) or a promise (durable adapters); the broker never
 * waits for writes on the message path, it logs failed ones.
 */
export interface Persistence {
  loadRetained(): MaybePromise<StoredMessage[]>;
  setRetained(message: StoredMessage): MaybePromise<void>;
  deleteRetained(topic: string): MaybePromise<void>;
  loadSessions(): MaybePromise<SessionRecord[]>;
  saveSession(record: SessionRecord): MaybePromise<void>;
  deleteSession(clientId: string): MaybePromise<void>;
  close?(): MaybePromise<void>;
}
