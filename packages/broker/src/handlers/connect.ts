import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { type ConnectPacket, ReasonCode, TopicAliasReceiver, TopicAliasSender } from '@hato/protocol';
import { connackFailureCode, sendAuth } from '../auth/auth-state.js';
import type { AuthStep } from '../auth/auth-method.js';
import { verifyPassword } from '../auth/scram-keys.js';
import { willCost } from '../client-state.js';
import type { Connection } from '../connection.js';
import { ConnectRefusedError, ServerRedirectError } from '../errors.js';
import { MQTT_MAX_PACKET_SIZE } from '../options.js';
import { ownBytes, ownProperties, ownWill } from '../owned.js';
import { NEVER_EXPIRES } from '../session/session.js';
import { type ConnackDetails, sendConnack } from './connack.js';
import { isAcceptableTopic } from '../topic-limits.js';

/**
 * CONNECT as a pipeline of named steps:
 * validate → redirect → authenticate (enhanced AUTH exchange, or credentials + hook) →
 * quota → keepalive → takeover/register + restore session → will → CONNACK → drain queue.
 * Only `authenticate` (a hook, a store, an AUTH exchange) may wait.
 */
export function handleConnect(connection: Connection, packet: ConnectPacket): void | Promise<void> {
  connection.state = 'connecting';
  connection.protocolVersion = packet.protocolVersion;
  const assigned = validate(connection, packet);
  redirect(connection);
  own(packet);
  const method = packet.protocolVersion === 5 ? packet.properties?.authenticationMethod : undefined;
  if (method !== undefined) return startEnhancedAuth(connection, packet, assigned, method);
  const auth = authenticate(connection, packet);
  if (auth === undefined) return register(connection, packet, assigned, undefined);
  return auth.then(() => register(connection, packet, assigned, undefined));
}

/**
 * The CONNECT outlives its read chunk (the will lasts as long as the connection, a hook or an
 * AUTH exchange may take a while): its binary fields become exact-size copies [DESIGN].
 */
function own(packet: ConnectPacket): void {
  if (packet.will !== undefined) packet.will = ownWill(packet.will);
  if (packet.password !== undefined) packet.password = ownBytes(packet.password);
  if (packet.properties !== undefined) packet.properties = ownProperties(packet.properties);
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
  if (version === 5) {
    connection.requestProblemInformation = packet.properties?.requestProblemInformation !== false;
    // Known before any CONNACK, so even a refusal respects it [MQTT-3.2.2-19].
    connection.maxOutgoingPacketSize = packet.properties?.maximumPacketSize ?? MQTT_MAX_PACKET_SIZE;
  }
  validateWill(connection, packet);
  connection.id = id;
  connection.username = packet.username;
  return assigned;
}

function validateWill(connection: Connection, packet: ConnectPacket): void {
  const will = packet.will;
  if (will === undefined) return;
  const options = connection.broker.options;
  if (!isAcceptableTopic(connection.broker.options, will.topic)) throw new ConnectRefusedError(ReasonCode.TopicNameInvalid, 'invalid will topic');
  // [MQTT-3.2.2-12] a will with retain when retain is not available.
  if (will.retain && !options.retainAvailable) throw new ConnectRefusedError(ReasonCode.RetainNotSupported, 'retained messages are not available');
  // [MQTT-3.2.2-12] a will QoS above the Maximum QoS.
  if (will.qos > options.maximumQoS) throw new ConnectRefusedError(ReasonCode.QoSNotSupported, `will QoS above the maximum of ${options.maximumQoS}`);
  // (5.0 §3.1.3.2.3) Payload Format Indicator 1: a will payload that is not UTF-8 → CONNACK 0x99.
  if (will.properties?.payloadFormatIndicator === 1 && !isUtf8(will.payload)) {
    throw new ConnectRefusedError(ReasonCode.PayloadFormatInvalid, 'will payload is not valid UTF-8');
  }
  // The will is kept until the connection ends: charged to the client-state budget (0x97; 3.x: 3).
  if (willCost(will) > options.maxClientStateBytes) {
    throw new ConnectRefusedError(ReasonCode.QuotaExceeded, 'will larger than the client state budget (maxClientStateBytes)');
  }
}

/** The serverRedirect option: refuse with 0x9C/0x9D and a Server Reference (§4.11). */
function redirect(connection: Connection): void {
  const configured = connection.broker.options.serverRedirect;
  if (configured === undefined) return;
  const target = typeof configured === 'function' ? configured(connection) : configured;
  if (target !== undefined) throw new ServerRedirectError(target.serverReference, target.permanent === true);
}

/** User name / password: the credential store first (when configured), then the hook. */
function authenticate(connection: Connection, packet: ConnectPacket): Promise<void> | undefined {
  const credentials = connection.broker.options.credentials;
  if (credentials === undefined) return runAuthenticateHook(connection, packet);
  const username = packet.username;
  if (username === undefined) throw new ConnectRefusedError(ReasonCode.NotAuthorized, 'a user name is required');
  const password = packet.password ?? new Uint8Array(0);
  const found = credentials.get(username);
  return Promise.resolve(found)
    .then((user) => (user === undefined ? false : verifyPassword(user.scramSha256, password)))
    .then((valid) => {
      if (!valid) throw new ConnectRefusedError(ReasonCode.BadUserNameOrPassword, 'bad user name or password');
      return runAuthenticateHook(connection, packet);
    });
}

function runAuthenticateHook(connection: Connection, packet: ConnectPacket): Promise<void> | undefined {
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

/** 5.0 enhanced authentication: an unknown method is refused with 0x8C [MQTT-4.12.0-1]. */
function startEnhancedAuth(connection: Connection, packet: ConnectPacket, assigned: string | undefined, name: string): void | Promise<void> {
  const method = connection.broker.options.authMethods.get(name);
  if (method === undefined) throw new ConnectRefusedError(ReasonCode.BadAuthenticationMethod, `authentication method '${name}' is not supported`);
  connection.auth = { method, exchange: method.begin(connection, false), connect: { packet, assigned } };
  return continueEnhancedAuth(connection, packet.properties?.authenticationData);
}

/** Runs one step of the CONNECT's exchange (its first, or one per AUTH 0x18 from the client). */
export function continueEnhancedAuth(connection: Connection, data: Uint8Array | undefined): void | Promise<void> {
  const step = connection.auth!.exchange!.step(data);
  if (step instanceof Promise) return step.then((result) => applyConnectStep(connection, result));
  return applyConnectStep(connection, step);
}

function applyConnectStep(connection: Connection, step: AuthStep): void | Promise<void> {
  if (connection.state === 'closed') return;
  const auth = connection.auth!;
  if (step.outcome === 'continue') {
    // [MQTT-4.12.0-2] AUTH 0x18 Continue authentication, same method [MQTT-4.12.0-5].
    connection.state = 'authenticating';
    sendAuth(connection, ReasonCode.ContinueAuthentication, auth.method.name, step.data);
    return;
  }
  if (step.outcome === 'failure') throw new ConnectRefusedError(connackFailureCode(step.reasonCode), step.reason ?? 'authentication failed');
  const pending = auth.connect!;
  auth.connect = undefined;
  auth.exchange = undefined;
  if (step.username !== undefined) connection.username = step.username;
  connection.state = 'connecting';
  // [MQTT-4.12.0-5] the CONNACK carries the same Authentication Method.
  return register(connection, pending.packet, pending.assigned, { method: auth.method.name, data: step.data });
}

type ConnackAuth = { method: string; data: Uint8Array | undefined } | undefined;

function register(connection: Connection, packet: ConnectPacket, assigned: string | undefined, auth: ConnackAuth): void | Promise<void> {
  if (connection.state !== 'connecting') return; // closed while a hook ran
  // Cluster: a session held by another node is released there (and loaded here) first.
  const claim = connection.broker.clusterCore?.claim(connection, packet.cleanStart);
  if (claim !== undefined) return claim.then(() => registerClaimed(connection, packet, assigned, auth));
  registerClaimed(connection, packet, assigned, auth);
  return undefined;
}

function registerClaimed(connection: Connection, packet: ConnectPacket, assigned: string | undefined, auth: ConnackAuth): void {
  if (connection.state !== 'connecting') return; // closed while a hook ran
  const broker = connection.broker;
  connection.stopConnectTimer(); // it also bounds a slow authenticate hook or AUTH exchange
  checkQuota(connection);
  const serverKeepAlive = keepAlive(connection, packet);
  applyProperties(connection, packet);
  const expiry = packet.protocolVersion === 5 ? connection.connectSessionExpiry : packet.cleanStart ? 0 : NEVER_EXPIRES;
  const { session, present } = broker.sessions.open(connection, packet.cleanStart, expiry);
  // [MQTT-3.1.2-8] the will is kept with the connection until it ends.
  connection.will = authorizedWill(connection, packet.will);
  if (connection.will !== undefined && broker.clusterCore !== undefined) {
    connection.clusterWill = true;
    broker.clusterBus.setWill(connection.id, connection.will);
  }
  const details: ConnackDetails = {
    present,
    serverKeepAlive,
    assigned,
    requestResponseInformation: packet.properties?.requestResponseInformation === true,
    authenticationMethod: auth?.method,
    authenticationData: auth?.data,
  };
  sendConnack(connection, details);
  connection.state = 'connected';
  connection.session = session;
  session.connection = connection;
  broker.options.logger.debug({ clientId: connection.id, version: packet.protocolVersion, present }, 'client connected');
  broker.metrics.clientConnected();
  broker.emit('clientConnected', connection);
  broker.delivery.resume(session);
}

/**
 * A will is a PUBLISH to come: authorizePublish is asked about its topic at CONNECT, and a
 * denied will is dropped, the CONNECT accepted (Mosquitto drops it too, when it would send it).
 * An async answer holds the will back until it allows (a will whose connection ends before
 * then is not published).
 */
function authorizedWill(connection: Connection, will: ConnectPacket['will']): ConnectPacket['will'] {
  const hook = connection.broker.options.hooks.authorizePublish;
  if (hook === undefined || will === undefined) return will;
  const verdict = hook(connection, { type: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false });
  const allowed = (result: boolean | number): boolean => result === true || (typeof result === 'number' && result < 0x80);
  if (typeof verdict !== 'object') return allowed(verdict) ? will : undefined;
  verdict.then(
    (result) => {
      if (allowed(result) && connection.state === 'connected' && connection.will === undefined) connection.will = will;
    },
    (err: unknown) => connection.broker.options.logger.error({ clientId: connection.id, err }, 'authorizePublish failed for a will: dropped'),
  );
  return undefined;
}

/** maxConnections: a new client beyond it is refused with 0x97 (a takeover is not new). */
function checkQuota(connection: Connection): void {
  const broker = connection.broker;
  const max = broker.options.maxConnections;
  if (max === Number.POSITIVE_INFINITY || broker.sessions.get(connection.id)?.connection !== undefined) return;
  if (broker.connectedCount >= max) throw new ConnectRefusedError(ReasonCode.QuotaExceeded, `more than ${max} connected clients`);
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
  connection.maxOutgoingPacketSize = properties?.maximumPacketSize ?? MQTT_MAX_PACKET_SIZE;
  connection.connectSessionExpiry = properties?.sessionExpiryInterval ?? 0;
  if (options.topicAliasMaximum > 0) connection.aliasReceiver = new TopicAliasReceiver(options.topicAliasMaximum);
  // [MQTT-3.1.2-26] aliases toward the client only within its Topic Alias Maximum (none when 0 or absent).
  const clientAliases = properties?.topicAliasMaximum ?? 0;
  if (clientAliases > 0 && options.topicAliasesToClients) connection.aliasSender = new TopicAliasSender(clientAliases);
}
