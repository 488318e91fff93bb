import { randomBytes } from 'node:crypto';
import { type ConnackPacket, type ConnectPacket, isValidTopicName, type Properties, ReasonCode, TopicAliasReceiver } from '@hato/protocol';
import type { Connection } from '../connection.js';
import { ConnectRefusedError } from '../errors.js';
import { MQTT_MAX_PACKET_SIZE } from '../options.js';
import { NEVER_EXPIRES } from '../session/session.js';

/**
 * CONNECT as a pipeline of named steps:
 * validate → authenticate → keepalive → takeover/register + restore session → will →
 * CONNACK → drain queue. Only `authenticate` (a hook) and `restore` (a store) may wait.
 */
export function handleConnect(connection: Connection, packet: ConnectPacket): void | Promise<void> {
  connection.state = 'connecting';
  connection.protocolVersion = packet.protocolVersion;
  const assigned = validate(connection, packet);
  const auth = authenticate(connection, packet);
  if (auth === undefined) return register(connection, packet, assigned);
  return auth.then(() => register(connection, packet, assigned));
}

/** Returns the client id the broker assigned, if it had to [MQTT-3.1.3-6]. */
function validate(connection: Connection, packet: ConnectPacket): string | undefined {
  const options = connection.broker.options;
  const version = packet.protocolVersion;
  let id = packet.clientId;
  let assigned: string | undefined;
  if (version === 3) {
    // MQTT 3.1: the client identifier is 1 to 23 characters.
    if (id.length === 0 || id.length > options.maxClientIdLengthV31) {
      throw new ConnectRefusedError(ReasonCode.ClientIdentifierNotValid, 'MQTT 3.1 client ids are 1..23 characters');
    }
  } else if (id.length === 0) {
    // [MQTT-3.1.3-7] [MQTT-3.1.3-8] 3.1.1: an empty id needs a clean session.
    if (version === 4 && !packet.cleanStart) {
      throw new ConnectRefusedError(ReasonCode.ClientIdentifierNotValid, 'empty client id with clean session 0');
    }
    id = assigned = `hato-${randomBytes(9).toString('base64url')}`;
  } else if (id.length > options.maxClientIdLength) {
    throw new ConnectRefusedError(ReasonCode.ClientIdentifierNotValid, 'client id too long');
  }
  if (version === 5 && packet.properties?.authenticationMethod !== undefined) {
    // Enhanced authentication is not supported [MQTT-4.12.0-1].
    throw new ConnectRefusedError(ReasonCode.BadAuthenticationMethod, 'enhanced authentication is not supported');
  }
  if (packet.will !== undefined && !isValidTopic(connection, packet.will.topic)) {
    throw new ConnectRefusedError(ReasonCode.TopicNameInvalid, 'invalid will topic');
  }
  if (packet.will?.retain === true && !options.retainAvailable) {
    // [MQTT-3.2.2-12] a will with retain when retain is not available.
    throw new ConnectRefusedError(ReasonCode.RetainNotSupported, 'retained messages are not available');
  }
  connection.id = id;
  connection.username = packet.username;
  return assigned;
}

export function isValidTopic(connection: Connection, topic: string): boolean {
  const options = connection.broker.options;
  if (topic.length > options.maxTopicLength || !isValidTopicName(topic)) return false;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f && ++levels > options.maxTopicLevels) return false;
  return true;
}

function authenticate(connection: Connection, packet: ConnectPacket): Promise<void> | undefined {
  const hook = connection.broker.options.hooks.authenticate;
  if (hook === undefined) return undefined;
  const result = hook(connection, packet.username, packet.password);
  if (typeof result === 'boolean' || typeof result === 'number') {
    checkAuthentication(result);
    return undefined;
  }
  return result.then(checkAuthentication);
}

function checkAuthentication(result: boolean | number): void {
  if (result === true || (typeof result === 'number' && result < 0x80)) return;
  throw new ConnectRefusedError(result === false ? ReasonCode.BadUserNameOrPassword : result, 'authentication failed');
}

function register(connection: Connection, packet: ConnectPacket, assigned: string | undefined): void {
  if (connection.state !== 'connecting') return; // closed while a hook ran
  const broker = connection.broker;
  connection.stopConnectTimer(); // it also bounds a slow authenticate hook
  const serverKeepAlive = keepAlive(connection, packet);
  applyProperties(connection, packet);
  const expiry = packet.protocolVersion === 5 ? connection.connectSessionExpiry : packet.cleanStart ? 0 : NEVER_EXPIRES;
  const { session, present } = broker.sessions.open(connection, packet.cleanStart, expiry);
  // [MQTT-3.1.2-8] the will is kept with the connection until it ends.
  connection.will = packet.will;
  connack(connection, present, serverKeepAlive, assigned);
  connection.state = 'connected';
  connection.session = session;
  session.connection = connection;
  broker.options.logger.debug({ clientId: connection.id, version: packet.protocolVersion, present }, 'client connected');
  broker.emit('clientConnected', connection);
  broker.delivery.resume(session);
}

/** Applies the keep alive, capped by maxKeepAlive; returns the 5.0 Server Keep Alive if it differs. */
function keepAlive(connection: Connection, packet: ConnectPacket): number | undefined {
  const max = connection.broker.options.maxKeepAlive;
  let seconds = packet.keepAlive;
  let serverKeepAlive: number | undefined;
  if (max < 65535 && (seconds === 0 || seconds > max)) {
    if (packet.protocolVersion !== 5) {
      // 3.x cannot be told another keep alive: refuse like Mosquitto does.
      throw new ConnectRefusedError(ReasonCode.ClientIdentifierNotValid, `keep alive above the maximum of ${max} s`);
    }
    // [MQTT-3.2.2-21] the client must use the Server Keep Alive.
    seconds = serverKeepAlive = max;
  }
  connection.startKeepAlive(seconds);
  return serverKeepAlive;
}

function applyProperties(connection: Connection, packet: ConnectPacket): void {
  const options = connection.broker.options;
  const properties = packet.properties;
  if (packet.protocolVersion !== 5) {
    connection.sendWindow = options.maxInflightMessages;
    return;
  }
  // [MQTT-3.3.4-9] never more unacknowledged QoS 1/2 than the client's Receive Maximum.
  connection.sendWindow = properties?.receiveMaximum ?? options.maxInflightMessages;
  connection.maxOutgoingPacketSize = properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
  connection.connectSessionExpiry = properties?.sessionExpiryInterval ?? 0;
  if (options.topicAliasMaximum > 0) connection.aliasReceiver = new TopicAliasReceiver(options.topicAliasMaximum);
}

function connack(connection: Connection, present: boolean, serverKeepAlive: number | undefined, assigned: string | undefined): void {
  const version = connection.protocolVersion;
  // [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] session present; 3.1 has no such flag.
  const packet: ConnackPacket = { type: 'connack', sessionPresent: version !== 3 && present, reasonCode: 0 };
  if (version === 5) {
    const options = connection.broker.options;
    const properties: Properties = {
      retainAvailable: options.retainAvailable,
      wildcardSubscriptionAvailable: options.wildcardSubscriptions,
      subscriptionIdentifiersAvailable: options.subscriptionIdentifiers,
      sharedSubscriptionAvailable: options.sharedSubscriptions,
      topicAliasMaximum: options.topicAliasMaximum,
    };
    if (options.receiveMaximum < 65535) properties.receiveMaximum = options.receiveMaximum;
    if (options.maximumPacketSize < MQTT_MAX_PACKET_SIZE) properties.maximumPacketSize = options.maximumPacketSize;
    if (serverKeepAlive !== undefined) properties.serverKeepAlive = serverKeepAlive;
    if (assigned !== undefined) properties.assignedClientIdentifier = assigned;
    packet.properties = properties;
  }
  connection.send(packet);
}
