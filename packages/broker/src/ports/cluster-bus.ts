import type { Will } from '@hato/protocol';
import type { StoredMessage } from './persistence.js';

/**
 * A message another node routes to its own subscribers [DESIGN: Cluster]. The publishing node
 * decided everything: `direct` = to that node's (non-shared) subscriptions that match;
 * `shares` = the share groups (`$share/{group}/{filter}`) whose one member on that node gets it.
 */
export interface ClusterEnvelope {
  readonly message: StoredMessage;
  readonly direct: boolean;
  readonly shares: readonly string[] | undefined;
}

/** A retained message set or cleared on another node (the shared store already holds it). */
export type ClusterRetainedChange = { readonly op: 'retain'; readonly message: StoredMessage } | { readonly op: 'unretain'; readonly topic: string };

/** The will of a client connected to a node that died, as the bus kept it. */
export interface OrphanWill {
  readonly clientId: string;
  readonly will: Will;
}

/**
 * What the broker gives its ClusterBus: the cluster's semantics (routing, shared-subscription
 * choice, takeover, wills) stay in the core; the bus only moves bytes and keeps membership.
 */
export interface ClusterNode {
  /** A message from node `from`, for this node's subscribers. */
  deliver(envelope: ClusterEnvelope, from: string): void;
  /**
   * Flow control across nodes: node `from` has queues that messages from this node filled
   * (`held`), or they drained. While held, this node holds its publishers' acks for what it
   * sends there, as it does for a full queue of its own.
   */
  flow(from: string, held: boolean): void;
  retainedChanged(change: ClusterRetainedChange): void;
  /**
   * Another node's interest: its first subscription to `filter` (a share group as
   * `$share/{group}/{filter}`) came (`present`) or its last went. `reset` first drops all
   * that node knew of (a full resync follows with `present` calls).
   */
  interest(nodeId: string, filter: string, present: boolean): void;
  resetInterest(nodeId: string): void;
  nodeJoined(nodeId: string): void;
  /** A node left: shut down (`left`) or its heartbeat stopped (`dead`); its interest is gone. */
  nodeLeft(nodeId: string, reason: 'left' | 'dead'): void;
  /**
   * Another node takes this client's session over: its connection here is closed (5.0:
   * DISCONNECT 0x8E), the session leaves this node (ended first with `cleanStart`), and the
   * promise resolves once everything it holds is stored.
   */
  release(clientId: string, cleanStart: boolean): Promise<void>;
  /**
   * This node won a dead node's clients: the persistent sessions among `clientIds` move here
   * (loaded from the shared store), and `wills` (its connected clients') fire, once.
   */
  adopt(clientIds: readonly string[], wills: readonly OrphanWill[]): Promise<void>;
  /** The link to the other nodes (Redis) went down or came back. */
  linkChanged(up: boolean, err?: unknown): void;
}

/**
 * The port to the other broker nodes. `LocalClusterBus` (one node) does nothing; `@hato/redis`
 * has `RedisClusterBus`. Every call that moves data is fire-and-forget on the message path:
 * the bus batches per event-loop turn and keeps a bounded outbox while its link is down.
 */
export interface ClusterBus {
  /** False for a single node: the broker then skips every cluster step. */
  readonly enabled: boolean;
  readonly nodeId: string;
  /** Other live nodes. */
  readonly nodes: readonly string[];
  readonly up: boolean;
  /** Joins the cluster; resolves once this node knows the others' interest (or the link is down). */
  start(node: ClusterNode): Promise<void>;
  /** This node's first subscription to `filter` came, or its last went. Resolves once others can know. */
  setInterest(filter: string, present: boolean): void | Promise<void>;
  send(nodeId: string, envelope: ClusterEnvelope): void;
  /**
   * Resolves once every message sent so far is held by the link (Redis has it), so that the
   * acks of their publishers can wait for that [DESIGN: Durable state]: a publishing node
   * killed after its PUBACK no longer loses a message on its way to another node. Undefined
   * when the link is down: sends then wait in the outbox and acks do not wait for them.
   */
  handedOff(): Promise<void> | undefined;
  /** Tells `nodeId` its messages fill queues here (`held`), or no more (see `ClusterNode.flow`). */
  flow(nodeId: string, held: boolean): void;
  /** To every other node. */
  broadcastRetained(change: ClusterRetainedChange): void;
  /**
   * Makes this node the owner of `clientId`'s session; resolves once the previous owner (if
   * another live node) released it (see `ClusterNode.release`), or gave no answer in time.
   */
  claim(clientId: string, cleanStart: boolean): Promise<void>;
  /** This node no longer holds the session (it ended). */
  disown(clientId: string): void;
  /** The will of a client connected here (undefined: none any more); fired by whoever reaps this node. */
  setWill(clientId: string, will: Will | undefined): void;
  /** Leaves the cluster (this node's sessions go to another node). */
  close(): Promise<void>;
}

/** A single node: nothing to tell anyone. */
export class LocalClusterBus implements ClusterBus {
  readonly enabled = false;
  readonly nodeId = 'local';
  readonly nodes: readonly string[] = [];
  readonly up = true;
  start(_node: ClusterNode): Promise<void> {
    return Promise.resolve();
  }
  setInterest(_filter: string, _present: boolean): void {}
  send(_nodeId: string, _envelope: ClusterEnvelope): void {}
  handedOff(): Promise<void> | undefined {
    return undefined;
  }
  flow(_nodeId: string, _held: boolean): void {}
  broadcastRetained(_change: ClusterRetainedChange): void {}
  claim(_clientId: string, _cleanStart: boolean): Promise<void> {
    return Promise.resolve();
  }
  disown(_clientId: string): void {}
  setWill(_clientId: string, _will: Will | undefined): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}
