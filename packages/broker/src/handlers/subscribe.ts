import {
  isValidTopicFilter,
  MqttError,
  parseSharedSubscription,
  ProtocolError,
  type QoS,
  ReasonCode,
  reasonCodeName,
  type SubackPacket,
  type SubscribePacket,
  type Subscription,
} from '@hato/protocol';
import { overClientBudget, subscriptionCost } from '../client-state.js';
import type { Connection } from '../connection.js';
import type { SessionSubscription } from '../session/session.js';

/**
 * SUBSCRIBE: one SUBACK code per filter in order [MQTT-3.8.4-6]; an existing subscription
 * to the same filter is replaced [MQTT-3.8.4-3]; then retained messages for each new
 * subscription, per its Retain Handling [MQTT-3.3.1-9] [MQTT-3.3.1-10].
 */
export function handleSubscribe(connection: Connection, packet: SubscribePacket): void | Promise<void> {
  if (packet.properties?.subscriptionIdentifiers !== undefined && !connection.broker.options.subscriptionIdentifiers) {
    throw new MqttError(ReasonCode.SubscriptionIdentifiersNotSupported, 'subscription identifiers are not supported');
  }
  const hook = connection.broker.options.hooks.authorizeSubscribe;
  const verdicts: (boolean | number | Promise<boolean | number>)[] = [];
  let async = false;
  try {
    for (const subscription of packet.subscriptions) {
      const invalid = checkFilter(connection, subscription);
      if (invalid !== undefined) verdicts.push(invalid);
      else if (hook === undefined) verdicts.push(true);
      else {
        const verdict = hook(connection, subscription);
        if (typeof verdict === 'object') async = true;
        verdicts.push(verdict);
      }
    }
  } catch (err) {
    // A later filter failed (protocol error, or the hook threw): nobody will wait for the
    // verdicts already asked for, and one that rejects must not end the process.
    for (const verdict of verdicts) if (typeof verdict === 'object') verdict.catch(() => {});
    throw err;
  }
  if (!async) return complete(connection, packet, verdicts as (boolean | number)[]);
  return Promise.all(verdicts).then((results) => {
    if (connection.state === 'connected') return complete(connection, packet, results);
    return undefined;
  });
}

/** A failure reason code for an unacceptable filter, else undefined. Throws on protocol errors. */
function checkFilter(connection: Connection, subscription: Subscription): number | undefined {
  const filter = subscription.topicFilter;
  const options = connection.broker.options;
  const v5 = connection.protocolVersion === 5;
  if (!isValidTopicFilter(filter) || filter.length > options.maxTopicLength || levelCount(filter) > options.maxTopicLevels) {
    return v5 ? ReasonCode.TopicFilterInvalid : 0x80;
  }
  const shared = parseSharedSubscription(filter);
  if (shared !== null && !options.sharedSubscriptions) return v5 ? ReasonCode.SharedSubscriptionsNotSupported : 0x80;
  if (!options.wildcardSubscriptions && (filter.includes('+') || filter.includes('#'))) {
    return v5 ? ReasonCode.WildcardSubscriptionsNotSupported : 0x80;
  }
  if (shared !== null && subscription.noLocal === true) {
    throw new ProtocolError('No Local on a shared subscription [MQTT-3.8.3-4]');
  }
  return undefined;
}

function levelCount(filter: string): number {
  let levels = 1;
  for (let i = 0; i < filter.length; i++) if (filter.charCodeAt(i) === 0x2f) levels++;
  return levels;
}

function complete(connection: Connection, packet: SubscribePacket, verdicts: (boolean | number)[]): void | Promise<void> {
  const broker = connection.broker;
  const session = connection.session!;
  const v5 = connection.protocolVersion === 5;
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifiers?.[0] : undefined;
  const reasonCodes: number[] = [];
  const added: { subscription: SessionSubscription; isNew: boolean }[] = [];
  const granted: Subscription[] = [];
  const maxQoS = broker.options.maximumQoS;
  for (let i = 0; i < packet.subscriptions.length; i++) {
    const requested = packet.subscriptions[i]!;
    let verdict = verdicts[i]!;
    if (overQuota(connection, requested.topicFilter)) verdict = ReasonCode.QuotaExceeded;
    if (verdict === false || (typeof verdict === 'number' && verdict >= 0x80)) {
      reasonCodes.push(!v5 ? 0x80 : verdict === false ? ReasonCode.NotAuthorized : (verdict as number));
      continue;
    }
    // [MQTT-3.8.4-7] granted QoS may be lower than requested; never above the Maximum QoS (§3.2.2.3.4).
    const qos = Math.min(typeof verdict === 'number' ? verdict : 2, requested.qos, maxQoS) as QoS;
    const shared = parseSharedSubscription(requested.topicFilter);
    const subscription: SessionSubscription = {
      topicFilter: requested.topicFilter,
      qos,
      noLocal: v5 && requested.noLocal === true,
      retainAsPublished: v5 && requested.retainAsPublished === true,
      retainHandling: v5 ? (requested.retainHandling ?? 0) : 0,
      subscriptionId,
      group: shared?.group,
    };
    const isNew = broker.sessions.subscribe(session, subscription, shared === null ? requested.topicFilter : shared.filter);
    added.push({ subscription, isNew });
    granted.push({ ...requested, qos });
    reasonCodes.push(qos);
  }
  // Cluster: the other nodes know of a new filter before the client is told it is subscribed.
  const announced = broker.clusterCore?.takeInterestWait();
  if (announced !== undefined) {
    return announced.then(() => {
      if (connection.state === 'connected') acknowledge(connection, packet, reasonCodes, added, granted);
    });
  }
  acknowledge(connection, packet, reasonCodes, added, granted);
  return undefined;
}

function acknowledge(connection: Connection, packet: SubscribePacket, reasonCodes: number[], added: { subscription: SessionSubscription; isNew: boolean }[], granted: Subscription[]): void {
  const broker = connection.broker;
  const session = connection.session!;
  // [MQTT-3.8.4-1] SUBACK with the same packet id.
  connection.send(withReasonString(connection, { type: 'suback', packetId: packet.packetId, reasonCodes }));
  for (const { subscription, isNew } of added) {
    if (subscription.group !== undefined) continue; // no retained messages for shared subscriptions (5.0 §4.8.2)
    if (subscription.retainHandling === 2 || (subscription.retainHandling === 1 && !isNew)) continue;
    broker.delivery.sendRetained(session, subscription, broker.retained.match(subscription.topicFilter));
  }
  if (granted.length > 0) broker.emit('subscribed', granted, connection);
}

/**
 * A new filter beyond maxSubscriptionsPerClient, or whose cost takes the client over its
 * state budget (maxClientStateBytes), is refused with 0x97 Quota exceeded (3.x: 0x80).
 * Replacing an existing subscription costs nothing.
 */
function overQuota(connection: Connection, filter: string): boolean {
  const session = connection.session!;
  if (session.subscriptions.has(filter)) return false;
  return session.subscriptions.size >= connection.broker.options.maxSubscriptionsPerClient || overClientBudget(connection, subscriptionCost(filter));
}

/**
 * A 5.0 SUBACK with failures names them in a Reason String, unless the client asked for no
 * problem information (Request Problem Information 0) [MQTT-3.1.2-29], or it would exceed
 * the client's Maximum Packet Size [MQTT-3.9.2-1].
 */
function withReasonString(connection: Connection, packet: SubackPacket): SubackPacket {
  if (connection.protocolVersion !== 5 || !connection.requestProblemInformation) return packet;
  const failures = packet.reasonCodes.filter((code) => code >= 0x80);
  if (failures.length === 0) return packet;
  const reasonString = [...new Set(failures)].map((code) => reasonCodeName(code)).join(', ');
  if (packet.reasonCodes.length + reasonString.length * 3 + 16 > connection.maxOutgoingPacketSize) return packet;
  return { ...packet, properties: { reasonString } };
}
