import { ReasonCode, type Will } from '@hato/protocol';
import type { Broker } from './broker.js';
import type { Connection } from './connection.js';
import { ConnectRefusedError, SessionTakenOverError } from './errors.js';
import { failConnection } from './handlers/index.js';
import { Message } from './message.js';
import type { ClusterBus, ClusterEnvelope, ClusterNode, ClusterRetainedChange, OrphanWill } from './ports/cluster-bus.js';
import type { Persistence, SessionRecord } from './ports/persistence.js';
import { RemoteInterest } from './routing/remote-interest.js';
import type { Router } from './routing/router.js';
import type { ShareGroup } from './routing/subscription-trie.js';
import type { AckHolder } from './session/delivery.js';

/** As long as a node's publishers' acks wait for another node's queues (as for a client's, Connection). */
const HOLD_LIMIT_MS = 1000;

/**
 * On the receiving node, another node whose messages are being routed here: when they fill a
 * local session's queue over its high-water mark, Delivery holds "its acks" as it would a
 * client's: the node is told (`flow`), and holds its own publishers' acks for what it sends
 * here, until the queues drain or HOLD_LIMIT_MS passes (then those sessions count as stalled).
 */
class RemoteSender implements AckHolder {
  readonly nodeId: string;
  private readonly cluster: Cluster;
  private readonly held = new Set<object>();
  private timer: NodeJS.Timeout | undefined;

  constructor(cluster: Cluster, nodeId: string) {
    this.cluster = cluster;
    this.nodeId = nodeId;
  }

  holdAcks(key: object): void {
    if (this.held.size === 0) {
      this.cluster.bus.flow(this.nodeId, true);
      this.timer = setTimeout(expireRemoteHold, HOLD_LIMIT_MS, this);
      this.timer.unref();
    }
    this.held.add(key);
  }

  releaseAcks(key: object): void {
    if (!this.held.delete(key) || this.held.size !== 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.cluster.bus.flow(this.nodeId, false);
  }

  /** @internal the hold ran out: the sessions count as stalled (Delivery), the node may send again. */
  expire(): void {
    this.timer = undefined;
    const keys = [...this.held];
    this.held.clear();
    this.cluster.holdExpired(this, keys);
    this.cluster.bus.flow(this.nodeId, false);
  }
}

function expireRemoteHold(sender: RemoteSender): void {
  sender.expire();
}

/** What `broker.cluster` tells: this node, whether its link to the others is up, the others. */
export interface ClusterStatus {
  readonly nodeId: string;
  readonly up: boolean;
  readonly nodes: readonly string[];
}

/** CONNACK 0x88 (3.1.1: 3): the session to resume is in a store that cannot be reached now. */
const unavailable = (): ConnectRefusedError => new ConnectRefusedError(ReasonCode.ServerUnavailable, 'the session store of the cluster is unreachable');

/** A store that can read one session (the Redis adapter): what a takeover or an adoption loads. */
interface SessionReader {
  loadSession(clientId: string): Promise<SessionRecord | undefined>;
}

const canLoadSession = (persistence: Persistence): persistence is Persistence & SessionReader =>
  typeof (persistence as Partial<SessionReader>).loadSession === 'function';

/**
 * The cluster semantics [DESIGN: Cluster], in the core: which other nodes get a message (their
 * interest), which node's member of a share group gets it, takeover of a session held by
 * another node, and the sessions and wills of a node that died. The ClusterBus only moves
 * bytes and keeps membership. Created only when the bus is enabled: a single node pays nothing.
 */
export class Cluster implements ClusterNode {
  readonly bus: ClusterBus;
  readonly remote = new RemoteInterest();
  private readonly broker: Broker;
  /** Share group key → round-robin position over [this node, ...nodes with members]. */
  private readonly turns = new Map<string, number>();
  /** Other nodes whose messages are routed here (see RemoteSender). */
  private readonly senders = new Map<string, RemoteSender>();
  /** Nodes whose queues our messages fill: the publishers whose acks wait for each (see `flow`). */
  private readonly pressured = new Map<string, Set<AckHolder>>();
  /** One key per node in a publisher's held acks (Connection.holdAcks). */
  private readonly holdKeys = new Map<string, object>();
  /**
   * The publishers whose acks wait for the messages they sent to other nodes to be handed off
   * (`ClusterBus.handedOff`): one wait per flush of the bus, one hold per publisher in it.
   */
  private handoff: { readonly promise: Promise<void>; readonly publishers: Set<AckHolder> } | undefined;
  /** The last interest change announced: SUBACK waits for it (the other nodes know before the client does). */
  private interestAnnounced: Promise<void> | undefined;

  constructor(broker: Broker, bus: ClusterBus) {
    this.broker = broker;
    this.bus = bus;
    broker.router.trie.onInterest = (key, present) => this.interestChanged(key, present);
  }

  get status(): ClusterStatus {
    return { nodeId: this.bus.nodeId, up: this.bus.up, nodes: this.bus.nodes };
  }

  private interestChanged(key: string, present: boolean): void {
    let result: void | Promise<void>;
    try {
      result = this.bus.setInterest(key, present);
    } catch (err) {
      this.broker.options.logger.error({ err, filter: key }, 'cluster: announcing a subscription failed');
      return;
    }
    if (present && result instanceof Promise) this.interestAnnounced = result.catch(() => {});
  }

  /** A promise when SUBACK should wait for new filters to be announced to the other nodes. */
  takeInterestWait(): Promise<void> | undefined {
    const waiting = this.interestAnnounced;
    this.interestAnnounced = undefined;
    return waiting;
  }

  /**
   * The publishing node's part of routing (after its own non-shared subscribers got the
   * message): the other nodes whose subscribers match get it once each, and every share group
   * (here or elsewhere) gets it once, on the node picked round robin among those with members.
   */
  routeRemote(message: Message, localGroups: readonly ShareGroup[], router: Router): void {
    const found = this.remote.empty ? undefined : this.remote.match(message.topic);
    if (found === undefined) {
      for (const group of localGroups) router.deliverToGroup(group, message);
      return;
    }
    // Every decision first (`found` is scratch space a re-entrant publish would reuse), then
    // the sends, then the local share groups picked.
    const targets = new Map<string, { direct: boolean; shares: string[] | undefined }>();
    for (const node of found.direct) targets.set(node, { direct: true, shares: undefined });
    const addShare = (node: string, key: string): void => {
      const target = targets.get(node);
      if (target === undefined) targets.set(node, { direct: false, shares: [key] });
      else (target.shares ??= []).push(key);
    };
    let picked: ShareGroup[] | undefined;
    for (const group of localGroups) {
      const others = found.shares.get(group.key);
      if (others !== undefined) found.shares.delete(group.key);
      const pick = others === undefined ? 0 : this.turn(group.key, others.length + 1);
      if (pick === 0) (picked ??= []).push(group);
      else addShare(others![pick - 1]!, group.key);
    }
    for (const [key, nodes] of found.shares) addShare(nodes[this.turn(key, nodes.length)]!, key);
    for (const [node, target] of targets) this.bus.send(node, { message, direct: target.direct, shares: target.shares });
    this.broker.metrics.clusterMessagesOut += targets.size;
    // A client's QoS 1/2 message (not another node's, not a will): its acks may have to wait.
    // (Nothing to wait for when every share group picked a member here.)
    const publisher = message.qos === 0 || targets.size === 0 ? undefined : this.broker.delivery.publisher;
    if (publisher !== undefined && !(publisher instanceof RemoteSender)) {
      this.holdUntilHandedOff(publisher);
      if (this.pressured.size !== 0) this.holdPublisher(publisher, targets.keys());
    }
    if (picked !== undefined) for (const group of picked) router.deliverToGroup(group, message);
  }

  /**
   * The client publishing now sent a QoS 1/2 message to other nodes: its PUBACK / PUBREC waits
   * until the bus holds the message [DESIGN: Durable state] (at most HOLD_LIMIT_MS, as any
   * hold; not at all while the link is down: the outbox keeps it then, see docs/cluster.md).
   */
  private holdUntilHandedOff(publisher: AckHolder): void {
    const promise = this.bus.handedOff();
    if (promise === undefined) return;
    // The flush's promise is the key of the holds it releases.
    let handoff = this.handoff;
    if (handoff?.promise !== promise) {
      const publishers = new Set<AckHolder>();
      handoff = this.handoff = { promise, publishers };
      promise.then(() => {
        if (this.handoff?.promise === promise) this.handoff = undefined;
        for (const holder of publishers) holder.releaseAcks(promise);
      });
    }
    if (handoff.publishers.has(publisher)) return;
    handoff.publishers.add(publisher);
    publisher.holdAcks(promise);
  }

  /** The client publishing now sent to nodes whose queues are full: its acks wait (as for a local full queue). */
  private holdPublisher(publisher: AckHolder, nodes: Iterable<string>): void {
    for (const node of nodes) {
      const holding = this.pressured.get(node);
      if (holding === undefined || holding.has(publisher)) continue;
      holding.add(publisher);
      let key = this.holdKeys.get(node);
      if (key === undefined) {
        key = { node };
        this.holdKeys.set(node, key);
      }
      publisher.holdAcks(key);
    }
  }

  /** @internal a RemoteSender's hold ran out. */
  holdExpired(sender: RemoteSender, keys: readonly object[]): void {
    this.broker.delivery.holdExpired(sender, keys);
  }

  flow(from: string, held: boolean): void {
    if (held) {
      if (!this.pressured.has(from)) this.pressured.set(from, new Set());
      return;
    }
    this.releasePressure(from);
  }

  private releasePressure(node: string): void {
    const holding = this.pressured.get(node);
    if (holding === undefined) return;
    this.pressured.delete(node);
    const key = this.holdKeys.get(node)!;
    for (const publisher of holding) publisher.releaseAcks(key);
  }

  private turn(key: string, candidates: number): number {
    const next = this.turns.get(key) ?? 0;
    this.turns.set(key, next + 1);
    if (this.turns.size > 10_000) this.turns.clear();
    return next % candidates;
  }

  /** A retained message set or cleared here: the other nodes update their index (the store has it). */
  retainedHere(change: ClusterRetainedChange): void {
    this.bus.broadcastRetained(change);
  }

  /**
   * Before a client's session opens here: when this node does not hold it, the node that does
   * (if any) releases it, and a session to resume is loaded from the shared store.
   */
  claim(connection: Connection, cleanStart: boolean): Promise<void> | undefined {
    const clientId = connection.id;
    if (this.broker.sessions.get(clientId) !== undefined) return undefined;
    if (!this.bus.up) {
      // Redis is down: a clean start is served here alone; a session to resume lives in
      // Redis and cannot be read, so the client is told to come back (not given an empty one).
      if (cleanStart) return undefined;
      throw unavailable();
    }
    return this.bus.claim(clientId, cleanStart).then(() => this.loadClaimed(connection, cleanStart));
  }

  private async loadClaimed(connection: Connection, cleanStart: boolean): Promise<void> {
    const broker = this.broker;
    const clientId = connection.id;
    if (connection.state !== 'connecting' || broker.sessions.get(clientId) !== undefined) return;
    if (cleanStart) {
      // The previous owner ended it; one left by a node that is gone is ended here.
      broker.journal.record({ op: 'end-session', clientId });
      return;
    }
    const persistence = broker.persistence;
    if (!canLoadSession(persistence)) return;
    let record: SessionRecord | undefined;
    try {
      record = await persistence.loadSession(clientId);
    } catch (err) {
      this.broker.options.logger.warn({ err, clientId }, 'cluster: the session to resume cannot be read');
      throw unavailable();
    }
    if (record !== undefined && connection.state === 'connecting' && broker.sessions.get(clientId) === undefined) {
      broker.sessions.restore(record, Date.now());
    }
  }

  // ClusterNode: what the bus hands over.

  deliver(envelope: ClusterEnvelope, from: string): void {
    this.broker.metrics.clusterMessagesIn++;
    const message = envelope.message instanceof Message ? envelope.message : Message.restore(envelope.message);
    const delivery = this.broker.delivery;
    let sender = this.senders.get(from);
    if (sender === undefined) {
      sender = new RemoteSender(this, from);
      this.senders.set(from, sender);
    }
    delivery.publisher = sender;
    try {
      this.broker.router.routeFromCluster(message, envelope.direct, envelope.shares);
    } catch (err) {
      // A hook that throws while routing (authorizeDelivery, chooseSharedMember) costs this message only.
      this.broker.metrics.internalErrors++;
      this.broker.options.logger.error({ err, topic: message.topic }, 'cluster: routing a message from another node failed');
    } finally {
      delivery.publisher = undefined;
    }
  }

  retainedChanged(change: ClusterRetainedChange): void {
    if (change.op === 'unretain') this.broker.retained.delete(change.topic);
    else this.broker.retained.set(change.message instanceof Message ? change.message : Message.restore(change.message));
  }

  interest(nodeId: string, filter: string, present: boolean): void {
    if (present) this.remote.add(nodeId, filter);
    else this.remote.remove(nodeId, filter);
  }

  resetInterest(nodeId: string): void {
    this.remote.removeNode(nodeId);
  }

  // Membership and link changes are events; the application (the hato CLI) logs them.
  nodeJoined(nodeId: string): void {
    this.broker.emit('nodeJoined', nodeId);
  }

  nodeLeft(nodeId: string, reason: 'left' | 'dead'): void {
    this.remote.removeNode(nodeId);
    this.releasePressure(nodeId);
    this.holdKeys.delete(nodeId);
    this.senders.delete(nodeId);
    this.broker.emit('nodeLeft', nodeId, reason);
  }

  async release(clientId: string, cleanStart: boolean): Promise<void> {
    const sessions = this.broker.sessions;
    const session = sessions.get(clientId);
    if (session !== undefined) {
      const connection = session.connection;
      // [MQTT-3.1.4-3] the existing connection is closed (5.0: DISCONNECT 0x8E), as on one node.
      if (connection !== undefined) failConnection(connection, new SessionTakenOverError());
      const still = sessions.get(clientId);
      if (still !== undefined) {
        if (cleanStart) sessions.end(still);
        else sessions.handOff(still);
      }
    }
    await this.broker.journal.flush();
  }

  async adopt(clientIds: readonly string[], wills: readonly OrphanWill[]): Promise<void> {
    const broker = this.broker;
    const persistence = broker.persistence;
    const now = Date.now();
    if (canLoadSession(persistence)) {
      for (const clientId of clientIds) {
        if (broker.sessions.get(clientId) !== undefined) continue;
        try {
          const record = await persistence.loadSession(clientId);
          if (record !== undefined && broker.sessions.get(clientId) === undefined) broker.sessions.restore(record, now);
        } catch (err) {
          broker.options.logger.error({ err, clientId }, 'cluster: adopting a session of a dead node failed');
        }
      }
    }
    for (const { clientId, will } of wills) this.fireOrphanWill(clientId, will);
    broker.options.logger.info({ sessions: clientIds.length, wills: wills.length }, 'cluster: adopted the clients of a dead node');
  }

  /** The will of a client whose node died: now, or after its delay when its session lives on here. */
  private fireOrphanWill(clientId: string, will: Will): void {
    const broker = this.broker;
    const session = broker.sessions.get(clientId);
    const delay = will.properties?.willDelayInterval ?? 0;
    if (session !== undefined && session.connection === undefined && session.expiryInterval !== 0 && delay > 0) {
      broker.sessions.scheduleWill(session, will, delay * 1000);
      return;
    }
    broker.publishWill(will, clientId);
  }

  linkChanged(up: boolean, err?: unknown): void {
    if (up) this.broker.emit('clusterUp');
    else this.broker.emit('clusterDown', err);
  }
}
