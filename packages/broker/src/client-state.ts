import type { Properties, Will } from '@hato/protocol';
import type { Connection } from './connection.js';

/**
 * The per-client state budget (option `maxClientStateBytes`): what one client makes the
 * broker keep besides messages, charged in approximate bytes (strings by their length):
 * - topic alias mappings: the topics registered (TopicAliasReceiver.bytes);
 * - subscriptions: each filter plus SUBSCRIPTION_COST (Session.subscriptionBytes);
 * - the will: topic, payload and properties (willCost);
 * - unfinished incoming QoS 2 flows: QOS2_ID_COST per packet id held until PUBREL.
 * Each addition is checked where it happens (alias in PUBLISH, SUBSCRIBE, CONNECT, QoS 2
 * PUBLISH); going over is answered with 0x97 Quota exceeded in the packet the spec allows.
 */

/** Charged per subscription on top of its filter: the subscription object, map and trie entries. */
export const SUBSCRIPTION_COST = 128;
/** Charged per incoming QoS 2 packet id held until PUBREL. */
export const QOS2_ID_COST = 16;

export function subscriptionCost(filter: string): number {
  return filter.length + SUBSCRIPTION_COST;
}

/** What a will costs: topic, payload and the properties it carries. */
export function willCost(will: Will): number {
  return will.topic.length + will.payload.byteLength + propertiesCost(will.properties);
}

function propertiesCost(properties: Properties | undefined): number {
  if (properties === undefined) return 0;
  let bytes = 64;
  if (properties.contentType !== undefined) bytes += properties.contentType.length;
  if (properties.responseTopic !== undefined) bytes += properties.responseTopic.length;
  if (properties.correlationData !== undefined) bytes += properties.correlationData.byteLength;
  if (properties.userProperties !== undefined) {
    for (const [name, value] of properties.userProperties) bytes += name.length + value.length + 16;
  }
  return bytes;
}

/** The client's state bytes now (aliases, subscriptions, will, QoS 2 ids). */
export function clientStateBytes(connection: Connection): number {
  const session = connection.session;
  let bytes = connection.aliasReceiver?.bytes ?? 0;
  if (connection.will !== undefined) bytes += willCost(connection.will);
  if (session !== undefined) bytes += session.subscriptionBytes + session.incomingQos2.size * QOS2_ID_COST;
  return bytes;
}

/** True when adding `bytes` of state would take the client over its budget. */
export function overClientBudget(connection: Connection, bytes: number): boolean {
  return clientStateBytes(connection) + bytes > connection.broker.options.maxClientStateBytes;
}
