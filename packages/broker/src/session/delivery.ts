import type { QoS } from '@hato/protocol';
import type { Connection } from '../connection.js';
import type { MemoryBudget } from '../memory-budget.js';
import type { Message } from '../message.js';
import type { ResolvedOptions } from '../options.js';
import type { ReadHold } from '../read-hold.js';
import type { ShareGroup } from '../routing/subscription-trie.js';
import type { Outgoing, OutgoingState, Session, SessionSubscription } from './session.js';
import { aliasedPublish } from './topic-alias-out.js';

/**
 * Puts messages on the wire for sessions: QoS downgrade is done by the caller; here are the
 * in-flight window, the session queue and the slow-consumer policy:
 * - QoS 0 to a congested client (socket backlog over maxWriteQueuePackets/Bytes) is dropped
 *   and counted; QoS 0 to an offline session is dropped unless queueQoS0Messages.
 * - Publisher back-pressure (QoS 0): when a client's message finds an online subscriber's
 *   socket backlog over half that bound, the client stops reading until the socket drains,
 *   for at most a second, after which the socket is stalled until it drains (see ReadHold).
 * - QoS 1/2 beyond the window, to a congested or to an offline client wait in the session
 *   queue (bounded by maxQueuedMessages/Bytes; beyond it they are dropped and counted).
 * - Publisher flow control: when a QoS 1/2 message from a client lands in the queue of an
 *   ONLINE session that is over half its bound, that client's PUBACKs/PUBRECs are held back
 *   (its own in-flight window then slows it down, MQTT's flow control) until the queue is
 *   back under a quarter of the bound, or for at most HOLD_LIMIT_MS; a session that did not
 *   drain in that time is `stalled` and holds nobody until it drains (the drop policy above
 *   applies). This hold does not pause reading; both holds are time-bounded, so cycles of
 *   clients publishing to each other cannot deadlock.
 * - Broker memory budget: while its usage is over the QoS 0 mark, QoS 0 deliveries are
 *   dropped and counted (MemoryBudget; admission of incoming PUBLISH is the publish handler's).
 */
/**
 * Whose acks a filling queue holds back: a client (Connection), or, on a node of a cluster,
 * another node whose messages are being routed here (it holds its own publishers' acks).
 */
export interface AckHolder {
  holdAcks(key: object): void;
  releaseAcks(key: object): void;
  /** A client's reading, paused by QoS 0 back-pressure; undefined for another node. */
  readonly readHold?: ReadHold | undefined;
}

export class Delivery {
  private readonly options: ResolvedOptions;
  private readonly memory: MemoryBudget;
  /** Messages dropped by the slow-consumer and queue policies, all sessions. */
  dropped = 0;
  /** The client whose PUBLISH is being routed (set by the publish handler), or the node a cluster message came from. */
  publisher: AckHolder | undefined;
  private readonly highWaterMessages: number;
  private readonly highWaterBytes: number;
  private readonly lowWaterMessages: number;
  /** Publishers whose acks are held, by the online session whose queue they filled. */
  private readonly holders = new Map<Session, AckHolder[]>();
  private readonly stalled = new WeakSet<Session>();
  /** Sessions added to `stalled` and not yet removed (may overcount ones collected since). */
  private stalledCount = 0;

  constructor(options: ResolvedOptions, memory: MemoryBudget) {
    this.options = options;
    this.memory = memory;
    this.highWaterMessages = Math.ceil(options.maxQueuedMessages / 2);
    this.highWaterBytes = options.maxQueuedBytes / 2;
    this.lowWaterMessages = Math.floor(options.maxQueuedMessages / 4);
  }

  /** `group`: the share group it goes through, if any (kept for redelivery, see SessionStore.detach). */
  deliver(session: Session, message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, group?: ShareGroup): void {
    const connection = session.connection;
    const hooks = this.options.hooks; // authorizeDelivery: skipped when unset (no cost on the hot path)
    if (hooks.authorizeDelivery !== undefined && connection !== undefined && !hooks.authorizeDelivery(connection, message.topic)) return;
    if (qos === 0 && this.overQoS0Mark()) return;
    if (connection === undefined) {
      if (qos === 0 && !this.options.queueQoS0Messages) return;
      this.enqueue(session, { seq: 0, message, qos, retain, subscriptionIds, packetId: 0, state: 'queued', group });
      return;
    }
    if (qos === 0) {
      const backlog = connection.backlogLevel();
      if (backlog !== 0) {
        // Over the high-water mark: the publisher stops reading until this socket drains (ReadHold).
        const publisher = this.publisher;
        if (publisher?.readHold !== undefined) connection.readHold.hold(publisher.readHold);
        if (backlog === 2) {
          connection.droppedMessages++;
          this.dropped++;
          return;
        }
      }
      this.writeQos0(connection, message, retain, subscriptionIds);
      return;
    }
    const entry: Outgoing = { seq: 0, message, qos, retain, subscriptionIds, packetId: 0, state: 'queued', group };
    if (session.queueLength > 0 || session.inflight.size >= connection.sendWindow || connection.isCongested()) {
      const publisher = this.publisher;
      if (!this.enqueue(session, entry) || publisher === undefined || publisher === connection) return;
      if (session.queueLength >= this.highWaterMessages || session.queuedBytes >= this.highWaterBytes) this.hold(publisher, session);
      return;
    }
    this.send(session, connection, entry);
  }

  /** Retained messages for a new subscription, retain flag set [MQTT-3.3.1-8]. */
  sendRetained(session: Session, subscription: SessionSubscription, messages: Iterable<Message>): void {
    const ids = subscription.subscriptionId === undefined ? undefined : [subscription.subscriptionId];
    for (const message of messages) {
      const qos = Math.min(message.qos, subscription.qos) as QoS;
      this.deliver(session, message, qos, true, ids);
    }
  }

  /** The memory budget drops QoS 0 over its QoS 0 mark (counted). */
  private overQoS0Mark(): boolean {
    const memory = this.memory;
    if (memory.queuedBytes + memory.inflightBytes + memory.outputBytes + memory.retainedBytes < memory.qos0Mark) return false;
    memory.droppedQoS0++;
    return true;
  }

  /** False when a queue bound dropped the entry. */
  private enqueue(session: Session, entry: Outgoing): boolean {
    if (session.enqueue(entry, this.options.maxQueuedMessages, this.options.maxQueuedBytes)) return true;
    this.dropped++;
    return false;
  }

  private writeQos0(connection: Connection, message: Message, retain: boolean, subscriptionIds: number[] | undefined): void {
    const now = message.expiresAt === 0 ? 0 : Date.now();
    if (now !== 0 && message.isExpired(now)) return;
    const bytes = publishBytes(connection, message, 0, retain, 0, false, subscriptionIds, now);
    // [MQTT-3.1.2-25] never send more than the client's Maximum Packet Size: drop instead.
    if (bytes.byteLength > connection.maxOutgoingPacketSize) return;
    connection.sendPublish(bytes);
  }

  /** Sends a QoS 1/2 entry under a fresh packet id; false when no id is free. */
  private send(session: Session, connection: Connection, entry: Outgoing): boolean {
    const now = entry.message.expiresAt === 0 ? 0 : Date.now();
    if (now !== 0 && entry.message.isExpired(now)) return true; // [MQTT-3.3.2-5]
    const packetId = session.packetIds.next();
    if (packetId === undefined) return false;
    // Shared bytes when this subscriber needs no variant of its own: the connection patches the id in at flush.
    const version = connection.protocolVersion!;
    let bytes = connection.aliasSender === undefined ? entry.message.sharedBytesFor(version, entry.qos, entry.retain, entry.subscriptionIds, now) : undefined;
    const patchId = bytes === undefined ? 0 : packetId;
    bytes ??= publishBytes(connection, entry.message, entry.qos, entry.retain, packetId, false, entry.subscriptionIds, now);
    if (bytes.byteLength > connection.maxOutgoingPacketSize) {
      // [MQTT-3.1.2-25] discarded as if sent and acknowledged.
      session.packetIds.release(packetId);
      return true;
    }
    entry.packetId = packetId;
    entry.state = entry.qos === 1 ? 'awaiting-puback' : 'awaiting-pubrec';
    session.addInflight(entry);
    connection.sendPublish(bytes, patchId);
    return true;
  }

  /** Sends queued messages while the window, the socket and the packet ids allow. */
  drain(session: Session): void {
    const connection = session.connection;
    if (connection === undefined) return;
    let entry = session.peekQueued();
    const hooks = this.options.hooks;
    while (entry !== undefined) {
      if (connection.isCongested()) break;
      // Queued while offline (or congested): the rules in force now decide (see authorizeDelivery).
      if (hooks.authorizeDelivery !== undefined && !hooks.authorizeDelivery(connection, entry.message.topic)) {
        session.shiftQueued();
        entry = session.peekQueued();
        continue;
      }
      if (entry.qos > 0 && session.inflight.size >= connection.sendWindow) break;
      if (entry.qos > 0 && !this.send(session, connection, entry)) break;
      if (entry.qos === 0) this.writeQos0(connection, entry.message, entry.retain, entry.subscriptionIds);
      session.shiftQueued();
      entry = session.peekQueued();
    }
    if ((this.holders.size !== 0 || this.stalledCount !== 0) && session.queueLength <= this.lowWaterMessages) this.releaseHolders(session);
  }

  /** Holds the acks of `publisher` until `session` drains (see the class comment). */
  private hold(publisher: AckHolder, session: Session): void {
    if (this.stalled.has(session)) return;
    let list = this.holders.get(session);
    if (list === undefined) {
      list = [];
      this.holders.set(session, list);
    }
    if (list.includes(publisher)) return;
    list.push(publisher);
    publisher.holdAcks(session);
  }

  private releaseHolders(session: Session): void {
    if (this.stalledCount !== 0 && this.stalled.delete(session)) this.stalledCount--;
    const list = this.holders.get(session);
    if (list === undefined) return;
    this.holders.delete(session);
    for (const publisher of list) publisher.releaseAcks(session);
  }

  /** A publisher waited HOLD_LIMIT_MS for these sessions: they count as stalled until they drain. */
  holdExpired(publisher: AckHolder, sessions: readonly object[]): void {
    for (const key of sessions) {
      const session = key as Session;
      const list = this.holders.get(session);
      if (list === undefined) continue;
      if (!this.stalled.has(session)) {
        this.stalled.add(session);
        this.stalledCount++;
      }
      const index = list.indexOf(publisher);
      if (index !== -1) list.splice(index, 1);
      if (list.length === 0) this.holders.delete(session);
    }
  }

  /**
   * A session (re)connected: re-send unacknowledged PUBLISH with DUP=1 and PUBREL with
   * their original packet ids [MQTT-4.4.0-1], then the queue in order.
   */
  resume(session: Session): void {
    const connection = session.connection!;
    const now = Date.now();
    for (const entry of session.inflight.values()) {
      if (entry.state === 'awaiting-pubcomp') {
        connection.send({ type: 'pubrel', packetId: entry.packetId });
        continue;
      }
      // [MQTT-3.3.1-1] DUP=1 on a re-delivery attempt.
      const bytes = publishBytes(connection, entry.message, entry.qos, entry.retain, entry.packetId, true, entry.subscriptionIds, now);
      if (bytes.byteLength <= connection.maxOutgoingPacketSize) connection.sendPublish(bytes);
    }
    this.drain(session);
  }

  /** An ack for an outgoing message in `state` completes it: free the id, move the window. */
  acknowledge(session: Session, packetId: number, state: OutgoingState): void {
    const entry = session.inflight.get(packetId);
    if (entry === undefined || entry.state !== state) return;
    session.removeInflight(packetId);
    session.packetIds.release(packetId);
    this.drain(session);
  }
}

/** The PUBLISH bytes of one variant for `connection`, with its outgoing topic alias when it allows them. */
function publishBytes(
  connection: Connection,
  message: Message,
  qos: QoS,
  retain: boolean,
  packetId: number,
  dup: boolean,
  subscriptionIds: number[] | undefined,
  now: number,
): Uint8Array {
  const bytes = message.bytesFor(connection.protocolVersion!, qos, retain, packetId, dup, subscriptionIds, now);
  if (connection.aliasSender === undefined) return bytes;
  return aliasedPublish(connection, message, bytes, qos, retain, packetId, dup, subscriptionIds, now);
}
