import type { QoS } from '@hato/protocol';
import type { Cluster } from '../cluster.js';
import type { Message } from '../message.js';
import type { BrokerHooks } from '../options.js';
import type { Delivery } from '../session/delivery.js';
import type { Session, SessionSubscription } from '../session/session.js';
import { chooseSharedMember } from './share-selector.js';
import { type MatchVisitor, type ShareGroup, SubscriptionTrie } from './subscription-trie.js';

/**
 * Routes a message to the matching sessions. A session with several matching
 * subscriptions gets one copy at the highest granted QoS, listing every Subscription
 * Identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4]; each share group gets one copy,
 * for one member (see share-selector.ts: round robin over members able to take it, or the
 * chooseSharedMember hook).
 *
 * Matching allocates nothing per session: scratch fields on Session, reset by a
 * generation counter.
 */
export class Router implements MatchVisitor {
  readonly trie = new SubscriptionTrie();
  private readonly delivery: Delivery;
  private generation = 0;
  private readonly matched: Session[] = [];
  private readonly groups: ShareGroup[] = [];
  private publisher: string | undefined;
  private readonly chooseMember: BrokerHooks['chooseSharedMember'];
  /** Set when the broker is one node of a cluster: other nodes and share groups across nodes. */
  cluster: Cluster | undefined;
  /** While routing a message from another node: its share groups were chosen there. */
  private skipGroups = false;

  constructor(delivery: Delivery, chooseMember?: BrokerHooks['chooseSharedMember']) {
    this.delivery = delivery;
    this.chooseMember = chooseMember;
  }

  /** Delivers to every match; returns how many sessions/groups matched. */
  route(message: Message): number {
    this.generation = (this.generation + 1) | 0;
    this.publisher = message.origin;
    this.trie.match(message.topic, this);
    const matched = this.matched;
    const count = matched.length;
    const groups = this.groups;
    const groupCount = groups.length;
    try {
      for (let i = 0; i < count; i++) {
        const session = matched[i]!;
        const qos = (Math.min(session.matchQos , message.qos)) as QoS;
        // [MQTT-3.3.1-12] retain is 0 on normal delivery unless Retain As Published [MQTT-3.3.1-13].
        const retain = session.matchRetainAsPublished && message.retain;
        const ids = session.matchSubscriptionIds;
        session.matchSubscriptionIds = undefined;
        this.delivery.deliver(session, message, qos, retain, ids);
      }
      matched.length = 0;
      if (this.cluster !== undefined) this.cluster.routeRemote(message, groups, this);
      else for (let i = 0; i < groupCount; i++) this.deliverToGroup(groups[i]!, message);
    } finally {
      // Even when a hook throws mid-way (authorizeDelivery, chooseSharedMember): left filled,
      // these would send every later message to this one's subscribers too.
      matched.length = 0;
      groups.length = 0;
    }
    return count + groupCount;
  }

  visitSubscription(session: Session, subscription: SessionSubscription): void {
    // [MQTT-3.8.3-3] No Local: not to the publisher's own subscription.
    if (subscription.noLocal && session.clientId === this.publisher) return;
    const id = subscription.subscriptionId;
    if (session.matchGeneration !== this.generation) {
      session.matchGeneration = this.generation;
      session.matchQos = subscription.qos;
      session.matchRetainAsPublished = subscription.retainAsPublished;
      session.matchSubscriptionIds = id === undefined ? undefined : [id];
      this.matched.push(session);
      return;
    }
    if (subscription.qos > session.matchQos) session.matchQos = subscription.qos;
    if (subscription.retainAsPublished) session.matchRetainAsPublished = true;
    if (id !== undefined) {
      if (session.matchSubscriptionIds === undefined) session.matchSubscriptionIds = [id];
      else if (!session.matchSubscriptionIds.includes(id)) session.matchSubscriptionIds.push(id);
    }
  }

  visitGroup(group: ShareGroup): void {
    if (!this.skipGroups) this.groups.push(group);
  }

  /**
   * A message another node routed here: to the local subscriptions that match when `direct`,
   * and to one local member of each share group in `shares` (picked for this node there).
   */
  routeFromCluster(message: Message, direct: boolean, shares: readonly string[] | undefined): void {
    if (direct) {
      this.generation = (this.generation + 1) | 0;
      this.publisher = message.origin;
      this.skipGroups = true;
      try {
        this.trie.match(message.topic, this);
        const matched = this.matched;
        for (let i = 0; i < matched.length; i++) {
          const session = matched[i]!;
          const ids = session.matchSubscriptionIds;
          session.matchSubscriptionIds = undefined;
          this.delivery.deliver(session, message, Math.min(session.matchQos, message.qos) as QoS, session.matchRetainAsPublished && message.retain, ids);
        }
      } finally {
        this.skipGroups = false;
        this.matched.length = 0;
      }
    }
    if (shares === undefined) return;
    for (const key of shares) {
      const slash = key.indexOf('/', 7);
      const group = this.trie.group(key.slice(slash + 1), key.slice(7, slash));
      if (group !== undefined) this.deliverToGroup(group, message);
    }
  }

  /** @internal one member of `group` gets the message (share-selector.ts). */
  deliverToGroup(group: ShareGroup, message: Message): void {
    const chosen = chooseSharedMember(group, message, this.chooseMember);
    if (chosen !== -1) this.deliverToMember(group, group.members[chosen]!, message);
  }

  /** Delivers to one member of a share group with that member's subscription options. */
  deliverToMember(group: ShareGroup, session: Session, message: Message): void {
    const subscription = group.subscriptions.get(session)!;
    const qos = Math.min(subscription.qos, message.qos) as QoS;
    const ids = subscription.subscriptionId === undefined ? undefined : [subscription.subscriptionId];
    this.delivery.deliver(session, message, qos, subscription.retainAsPublished && message.retain, ids, group);
  }
}
