import { MqttError, ProtocolError, type PublishPacket, ReasonCode } from '@hato/protocol';
import type { Connection } from '../connection.js';
import { clientStateBytes, overClientBudget, QOS2_ID_COST } from '../client-state.js';
import { ReceiveMaximumExceededError, TopicNameInvalidError } from '../errors.js';
import { Message } from '../message.js';
import { withinTopicLimits } from '../topic-limits.js';
import { MEMORY_DROPPED, memoryRefusal, publishRefusal } from './publish-checks.js';

/**
 * Incoming PUBLISH: resolve the topic alias, check the Receive Maximum and the client-state
 * budget, drop QoS 2 duplicates, apply the memory budget, ask authorizePublish, route, acknowledge.
 */
export function handlePublish(connection: Connection, packet: PublishPacket): void | Promise<void> {
  const session = connection.session!;
  connection.broker.metrics.messagesReceived++;
  let topic = packet.topic;
  if (connection.protocolVersion === 5) {
    // [MQTT-3.3.4-6] a Subscription Identifier is for the server to send, never a client.
    if (packet.properties?.subscriptionIdentifiers !== undefined) {
      throw new ProtocolError('a PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6]');
    }
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined || topic === '') {
      // [MQTT-3.3.2-7..12] throws 0x94 Topic Alias invalid (or a protocol error).
      if (connection.aliasReceiver === undefined) throw new MqttError(ReasonCode.TopicAliasInvalid, 'topic aliases are disabled [MQTT-3.3.2-9]');
      const held = connection.aliasReceiver.bytes;
      topic = connection.aliasReceiver.resolve(topic, alias);
      // A mapping that grew holds more topic: charged to the client-state budget → DISCONNECT 0x97.
      if (connection.aliasReceiver.bytes > held && clientStateBytes(connection) > connection.broker.options.maxClientStateBytes) {
        throw new MqttError(ReasonCode.QuotaExceeded, 'topic alias topics over the client state budget (maxClientStateBytes)');
      }
    }
  }
  // The decoder already enforced the spec's topic rules [MQTT-3.3.2-2]; only the broker's limits remain.
  if (!withinTopicLimits(connection.broker.options, topic)) throw new TopicNameInvalidError(topic);
  if (packet.retain && !connection.broker.options.retainAvailable) {
    throw new MqttError(ReasonCode.RetainNotSupported, 'retained messages are not available (5.0 §3.3.1.3)');
  }
  if (packet.qos === 2) {
    if (session.incomingQos2.has(packet.packetId!)) {
      // [MQTT-4.3.3-9] a re-sent QoS 2 PUBLISH before PUBREL is acknowledged, not delivered again.
      connection.sendAck(2, packet.packetId!, 0);
      return undefined;
    }
    checkReceiveMaximum(connection);
    // The id is kept until PUBREL: charged to the client-state budget (3.x has no Receive Maximum).
    if (overClientBudget(connection, QOS2_ID_COST)) throw new MqttError(ReasonCode.QuotaExceeded, 'unfinished QoS 2 flows over the client state budget (maxClientStateBytes)');
  } else if (packet.qos === 1 && (connection.heldQos1Acks !== 0 || connection.broker.options.hooks.authorizePublish !== undefined)) {
    checkReceiveMaximum(connection);
  }
  let refused = publishRefusal(connection, packet, topic); // Maximum QoS, payload format, retained quota
  if (refused === 0) refused = memoryRefusal(connection, packet, topic); // the broker's memory budget
  if (refused === MEMORY_DROPPED) return undefined;
  if (refused !== 0) {
    accept(connection, packet, topic, refused);
    return undefined;
  }
  const hook = connection.broker.options.hooks.authorizePublish;
  if (hook === undefined) {
    accept(connection, packet, topic, ReasonCode.Success);
    return undefined;
  }
  // The hook sees the topic the alias stands for (an aliased PUBLISH carries an empty topic).
  const verdict = hook(connection, topic === packet.topic ? packet : { ...packet, topic });
  if (typeof verdict === 'boolean' || typeof verdict === 'number') {
    accept(connection, packet, topic, authorizationCode(verdict));
    return undefined;
  }
  if (packet.qos === 1) connection.incomingPending++;
  if (packet.qos === 2) session.addIncomingQos2(packet.packetId!);
  return verdict.then((result) => {
    if (packet.qos === 1) connection.incomingPending--;
    if (packet.qos === 2) session.deleteIncomingQos2(packet.packetId!);
    if (connection.state === 'connected') accept(connection, packet, topic, authorizationCode(result));
  });
}

/**
 * [MQTT-3.3.4-7] a client sending more unacknowledged QoS 1/2 than our Receive Maximum →
 * DISCONNECT 0x93. Unacknowledged: QoS 2 ids until PUBREL (PUBCOMP goes at once), QoS 1
 * whose PUBACK waits for an async hook or is held back by flow control.
 */
function checkReceiveMaximum(connection: Connection): void {
  if (connection.protocolVersion !== 5) return;
  const maximum = connection.broker.options.receiveMaximum;
  const unacknowledged = connection.session!.incomingQos2.size + connection.incomingPending + connection.heldQos1Acks;
  if (unacknowledged >= maximum) throw new ReceiveMaximumExceededError(maximum);
}

function authorizationCode(verdict: boolean | number): number {
  if (verdict === true) return ReasonCode.Success;
  if (verdict === false) return ReasonCode.NotAuthorized;
  return verdict;
}

function accept(connection: Connection, packet: PublishPacket, topic: string, code: number): void {
  const broker = connection.broker;
  let matched = 0;
  if (code < 0x80) {
    const message = Message.fromPacket(packet, topic, connection.id, Date.now());
    const published = topic === packet.topic ? packet : { ...packet, topic };
    // Routing may hold this client's acks back (publisher flow control, see Delivery).
    const delivery = broker.delivery;
    delivery.publisher = connection;
    try {
      matched = broker.publishMessage(message, published, connection);
    } finally {
      delivery.publisher = undefined;
    }
  } else {
    broker.options.logger.debug({ clientId: connection.id, topic, reasonCode: code }, 'publish not authorized');
  }
  if (packet.qos === 0) return;
  // 3.x cannot carry a reason code: a refused message is acknowledged anyway [MQTT-3.3.5-2].
  const reasonCode = connection.protocolVersion !== 5 ? undefined : code >= 0x80 ? code : matched === 0 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
  if (packet.qos === 1) {
    // [MQTT-4.3.2-2] PUBACK with the packet id.
    connection.sendAck(1, packet.packetId!, reasonCode ?? 0);
    return;
  }
  // [MQTT-4.3.3-8] PUBREC, and the id is remembered until PUBREL (unless refused).
  if (reasonCode === undefined || reasonCode < 0x80) connection.session!.addIncomingQos2(packet.packetId!);
  connection.sendAck(2, packet.packetId!, reasonCode ?? 0);
}
