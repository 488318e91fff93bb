import type { Will } from '@hato/protocol';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import { SessionTakenOverError } from '../errors.js';
import { failConnection } from '../handlers/index.js';
import { Message } from '../message.js';
import type { SessionRecord, StoredOutgoing } from '../ports/persistence.js';
import { subscriptionCost } from '../client-state.js';
import { chooseSharedMember } from '../routing/share-selector.js';
import type { ShareGroup } from '../routing/subscription-trie.js';
import { NEVER_EXPIRES, type Outgoing, Session, type SessionSubscription } from './session.js';

/** Longest single timer Node accepts (~24.8 days); longer expiries re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * All sessions by client id: takeover, clean start, expiry and delayed wills.
 */
export class SessionStore {
  private readonly broker: Broker;
  private readonly sessions = new Map<string, Session>();

  constructor(broker: Broker) {
    this.broker = broker;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /**
   * Takeover and register: an existing connection with this id is closed (5.0: DISCONNECT
   * 0x8E) [MQTT-3.1.4-3]; clean start discards the old session [MQTT-3.1.2-4], otherwise it
   * is resumed [MQTT-3.1.2-5] and its delayed will cancelled [MQTT-3.1.3-9].
   */
  open(connection: Connection, cleanStart: boolean, expiryInterval: number): { session: Session; present: boolean } {
    const clientId = connection.id;
    const previous = this.sessions.get(clientId)?.connection;
    if (previous !== undefined) failConnection(previous, new SessionTakenOverError());
    let session = this.sessions.get(clientId);
    if (session !== undefined && cleanStart) {
      this.end(session);
      session = undefined;
    }
    const present = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId, this.broker.memory);
      this.sessions.set(clientId, session);
    } else {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
      session.expiryTimer = undefined;
      if (session.pendingWill !== undefined) {
        clearTimeout(session.pendingWill.timer);
        session.pendingWill = undefined;
        session.journal?.record({ op: 'will-done', clientId });
      }
    }
    session.disconnectedAt = 0;
    this.setExpiry(session, expiryInterval);
    return { session, present };
  }

  /**
   * Sets the Session Expiry Interval and records the session (connected when `disconnectedAt`
   * is 0). A session becomes persistent with an interval > 0: from then on its changes are
   * recorded. One going from persistent to 0 is deleted from the store: it ends with its
   * connection.
   */
  private setExpiry(session: Session, expiryInterval: number): void {
    session.expiryInterval = expiryInterval;
    const journal = this.broker.journal;
    if (expiryInterval === 0) {
      if (session.journal !== undefined) journal.record({ op: 'end-session', clientId: session.clientId });
      session.journal = undefined;
      return;
    }
    if (session.journal === undefined) {
      session.journal = journal;
      this.recordWhole(session);
      return;
    }
    journal.record({ op: 'session', clientId: session.clientId, expiryInterval, disconnectedAt: session.disconnectedAt });
  }

  /** A session becomes persistent: everything it holds is recorded (it is new, or had expiry 0). */
  private recordWhole(session: Session): void {
    const journal = session.journal!;
    const clientId = session.clientId;
    journal.record({ op: 'session', clientId, expiryInterval: session.expiryInterval, disconnectedAt: session.disconnectedAt });
    for (const subscription of session.subscriptions.values()) journal.record({ op: 'subscribe', clientId, subscription });
    for (const packetId of session.incomingQos2) journal.record({ op: 'qos2-received', clientId, packetId });
    for (const entry of session.inflight.values()) {
      entry.seq = 0;
      session.recordEntry(entry);
    }
    for (const entry of session.queuedEntries()) {
      entry.seq = 0;
      session.recordEntry(entry);
    }
  }

  /** Adds or replaces a subscription; true when it did not exist before. */
  subscribe(session: Session, subscription: SessionSubscription, trieFilter: string): boolean {
    const isNew = !session.subscriptions.has(subscription.topicFilter);
    if (isNew) session.subscriptionBytes += subscriptionCost(subscription.topicFilter);
    session.setSubscription(subscription);
    session.journal?.record({ op: 'subscribe', clientId: session.clientId, subscription });
    this.broker.router.trie.add(trieFilter, session, subscription);
    return isNew;
  }

  unsubscribe(session: Session, filter: string, trieFilter: string, group: string | undefined): boolean {
    if (!session.deleteSubscription(filter)) return false;
    session.journal?.record({ op: 'unsubscribe', clientId: session.clientId, topicFilter: filter });
    session.subscriptionBytes -= subscriptionCost(filter);
    this.broker.router.trie.remove(trieFilter, session, group);
    return true;
  }

  /**
   * The session's connection ended. A will goes now, or after its 5.0 Will Delay Interval,
   * or when the session ends, whichever is first [MQTT-3.1.3-9]. A session with expiry 0
   * ends now [MQTT-3.1.2-6]; others wait for their expiry.
   */
  detach(connection: Connection, publishWill: boolean): void {
    const session = connection.session;
    const will = publishWill ? connection.will : undefined;
    connection.will = undefined;
    if (session === undefined || session.connection !== connection) {
      if (will !== undefined) this.broker.publishWill(will, connection.id);
      return;
    }
    session.connection = undefined;
    session.disconnectedAt = Date.now();
    const delay = will?.properties?.willDelayInterval ?? 0;
    if (session.expiryInterval === 0) {
      this.end(session);
      if (will !== undefined) this.broker.publishWill(will, session.clientId);
      return;
    }
    // Disconnected now (and maybe a new expiry, from a 5.0 DISCONNECT): expiry counts from here.
    this.setExpiry(session, session.expiryInterval);
    this.handOverShared(session, false);
    if (will !== undefined && delay === 0) this.broker.publishWill(will, session.clientId);
    else if (will !== undefined) this.scheduleWill(session, will, delay * 1000);
    this.scheduleExpiry(session, session.expiryInterval * 1000);
  }

  /**
   * Messages a session got through share groups go to another member (5.0 §4.8.2): QoS 1
   * in flight and anything still queued, at once when another member is connected, or to
   * any member when the session ends. QoS 2 in flight stays: its delivery must complete
   * with this client [MQTT-4.8.2-4], and never elsewhere [MQTT-4.8.2-5].
   */
  private handOverShared(session: Session, ending: boolean): void {
    if (session.inflight.size === 0 && session.queueLength === 0) return;
    const movable = (entry: Outgoing): boolean => entry.group !== undefined && (ending || hasOtherConnected(entry.group, session));
    const moved: Outgoing[] = [];
    for (const [packetId, entry] of session.inflight) {
      if (entry.state !== 'awaiting-puback' || !movable(entry)) continue;
      session.removeInflight(packetId);
      session.packetIds.release(packetId);
      moved.push(entry);
    }
    for (const entry of session.takeQueued(movable)) moved.push(entry);
    const router = this.broker.router;
    const choose = this.broker.options.hooks.chooseSharedMember;
    for (const entry of moved) {
      const group = entry.group!;
      try {
        const index = chooseSharedMember(group, entry.message, choose, session);
        if (index !== -1) router.deliverToMember(group, group.members[index]!, entry.message);
      } catch (err) {
        // A hook that throws (chooseSharedMember, authorizeDelivery) costs this message only.
        this.timerFailed(err, session, 'handing a shared message over failed');
      }
    }
  }

  /** The will goes in `ms` (or when the session ends); a persistent session's is stored with its due time. */
  scheduleWill(session: Session, will: Will, ms: number, dueAt = Date.now() + ms): void {
    if (session.pendingWill !== undefined) clearTimeout(session.pendingWill.timer);
    const timer = setTimeout(fireWill, Math.min(ms, MAX_TIMER_MS), this, session);
    timer.unref();
    session.pendingWill = { will, clientId: session.clientId, timer, dueAt };
    session.journal?.record({ op: 'will', clientId: session.clientId, will: { will, dueAt } });
  }

  firePendingWill(session: Session): void {
    const pending = session.pendingWill;
    if (pending === undefined) return;
    session.pendingWill = undefined;
    clearTimeout(pending.timer);
    session.journal?.record({ op: 'will-done', clientId: session.clientId });
    this.broker.publishWill(pending.will, pending.clientId);
  }

  private scheduleExpiry(session: Session, ms: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return;
    session.expiryTimer = setTimeout(expire, Math.min(ms, MAX_TIMER_MS), this, session, Date.now() + ms);
    session.expiryTimer.unref();
  }

  expireAt(session: Session, dueAt: number): void {
    const left = dueAt - Date.now();
    if (left > 0) {
      session.expiryTimer = setTimeout(expire, Math.min(left, MAX_TIMER_MS), this, session, dueAt);
      session.expiryTimer.unref();
      return;
    }
    session.expiryTimer = undefined;
    this.end(session);
  }

  /** Logs and counts a failure in a timer's work (will delay, session expiry). */
  timerFailed(err: unknown, session: Session, what: string): void {
    this.broker.metrics.internalErrors++;
    this.broker.options.logger.error({ err, clientId: session.clientId }, what);
  }

  /** Ends a session: subscriptions and state go, a pending will is published. */
  end(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return;
    this.handOverShared(session, true);
    this.sessions.delete(session.clientId);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    const trie = this.broker.router.trie;
    for (const [filter, subscription] of session.subscriptions) {
      trie.remove(trieFilterOf(filter, subscription), session, subscription.group);
    }
    if (session.journal !== undefined) session.journal.record({ op: 'end-session', clientId: session.clientId });
    session.journal = undefined;
    session.clearSubscriptions();
    session.subscriptionBytes = 0;
    session.clearMessages();
    this.firePendingWill(session);
    if (this.broker.clusterCore !== undefined) this.broker.clusterBus.disown(session.clientId);
  }

  /**
   * Cluster: another node takes this session over. It leaves this node as the store holds it
   * (nothing recorded: the next owner loads it, queue, in-flight state and waiting will
   * included), its subscriptions leave the routing here, its timers stop.
   */
  handOff(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return;
    session.journal = undefined;
    this.sessions.delete(session.clientId);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    if (session.pendingWill !== undefined) clearTimeout(session.pendingWill.timer);
    session.pendingWill = undefined;
    const trie = this.broker.router.trie;
    for (const [filter, subscription] of session.subscriptions) {
      trie.remove(trieFilterOf(filter, subscription), session, subscription.group);
    }
    session.clearSubscriptions();
    session.subscriptionBytes = 0;
    session.clearMessages();
  }

  /** Stops every timer without publishing anything (broker shutdown). */
  stopTimers(): void {
    for (const session of this.sessions.values()) {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
      if (session.pendingWill !== undefined) clearTimeout(session.pendingWill.timer);
    }
  }

  /**
   * Rebuilds a persistent session from the store (broker start): subscriptions, queue,
   * in-flight state, incoming QoS 2 ids, its waiting will and expiry timers. One that was
   * connected when the broker stopped (a crash) counts as disconnected now.
   */
  restore(record: SessionRecord, now: number): void {
    const session = new Session(record.clientId, this.broker.memory);
    session.expiryInterval = record.expiryInterval;
    session.disconnectedAt = record.disconnectedAt === 0 ? now : record.disconnectedAt;
    this.sessions.set(record.clientId, session);
    for (const subscription of record.subscriptions) this.subscribe(session, subscription, trieFilterOf(subscription.topicFilter, subscription));
    for (const stored of record.messages) {
      const entry = restoreOutgoing(stored);
      if (entry.seq > session.lastSeq) session.lastSeq = entry.seq;
      if (entry.state === 'queued') {
        session.enqueue(entry, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        continue;
      }
      session.addInflight(entry);
      reserveId(session, entry.packetId);
    }
    for (const id of record.incomingQos2) session.addIncomingQos2(id);
    // From here on its changes are recorded (nothing above was: it is what the store holds).
    session.journal = this.broker.journal;
    if (record.disconnectedAt === 0) this.broker.journal.record({ op: 'session', clientId: session.clientId, expiryInterval: session.expiryInterval, disconnectedAt: session.disconnectedAt });
    if (record.will !== undefined) {
      const pending = record.will;
      const timer = setTimeout(fireWill, Math.min(Math.max(0, pending.dueAt - now), MAX_TIMER_MS), this, session);
      timer.unref();
      session.pendingWill = { will: pending.will, clientId: session.clientId, timer, dueAt: pending.dueAt };
    }
    if (session.expiryInterval !== NEVER_EXPIRES) this.expireAt(session, session.disconnectedAt + session.expiryInterval * 1000);
  }
}

function hasOtherConnected(group: ShareGroup, session: Session): boolean {
  for (const member of group.members) if (member !== session && member.connection !== undefined) return true;
  return false;
}

/** Marks `id` in use in the session's allocator (which only hands out ids). */
function reserveId(session: Session, id: number): void {
  const taken: number[] = [];
  let next = session.packetIds.next();
  while (next !== undefined && next !== id) {
    taken.push(next);
    next = session.packetIds.next();
  }
  for (const other of taken) session.packetIds.release(other);
}

function trieFilterOf(filter: string, subscription: SessionSubscription): string {
  if (subscription.group === undefined) return filter;
  return filter.slice('$share/'.length + subscription.group.length + 1);
}

function restoreOutgoing(stored: StoredOutgoing): Outgoing {
  const message = stored.message instanceof Message ? stored.message : Message.restore(stored.message);
  return { seq: stored.seq, message, qos: stored.qos, retain: stored.retain, subscriptionIds: stored.subscriptionIds, packetId: stored.packetId, state: stored.state };
}

// Timer callbacks run outside any connection's error boundary: nothing they throw (a hook
// while routing a will or handing messages over) may end the process.
function fireWill(store: SessionStore, session: Session): void {
  try {
    store.firePendingWill(session);
  } catch (err) {
    store.timerFailed(err, session, 'publishing a delayed will failed');
  }
}

function expire(store: SessionStore, session: Session, dueAt: number): void {
  try {
    store.expireAt(session, dueAt);
  } catch (err) {
    store.timerFailed(err, session, 'ending an expired session failed');
  }
}
