import {
  type ConnackPacket,
  type ConnectPacket,
  connackReasonFor,
  type DisconnectPacket,
  disconnectReasonFor,
  encodedLength,
  MqttError,
  type Packet,
  ProtocolError,
  ReasonCode,
  UnsupportedProtocolVersionError,
} from '@hato/protocol';
import type { Connection } from '../connection.js';
import {
  ConnectRefusedError,
  ConnectionLostError,
  ConnectTimeoutError,
  connectReturnCodeFor,
  InternalError,
  ServerRedirectError,
  ServerShuttingDownError,
} from '../errors.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePuback } from './puback.js';
import { handlePubcomp } from './pubcomp.js';
import { handlePublish } from './publish.js';
import { handlePubrec } from './pubrec.js';
import { handlePubrel } from './pubrel.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

/**
 * The dispatcher: one switch over the packet type, enforcing CONNECT first and once
 * [MQTT-3.1.0-1] [MQTT-3.1.0-2]. Handlers return nothing (sync fast path) or a promise
 * (a hook or store had to wait; the connection pauses until it settles). Handlers throw
 * MqttError subclasses; `failConnection` below is the only place that turns an error into
 * a CONNACK or DISCONNECT and closes.
 */
export function dispatch(connection: Connection, packet: Packet): void | Promise<void> {
  try {
    if (connection.state === 'awaiting-connect') {
      if (packet.type !== 'connect') throw new ProtocolError('the first packet must be CONNECT [MQTT-3.1.0-1]');
      applyTransport(connection, packet);
      return handleConnect(connection, packet);
    }
    if (connection.state === 'authenticating' && packet.type !== 'auth') {
      // [MQTT-3.1.2-30] until the CONNACK, only AUTH or DISCONNECT may follow a CONNECT with an Authentication Method.
      if (packet.type === 'disconnect') return connection.terminate(undefined, false);
      throw new ProtocolError(`${packet.type.toUpperCase()} during enhanced authentication [MQTT-3.1.2-30]`);
    }
    switch (packet.type) {
      case 'publish':
        return handlePublish(connection, packet);
      case 'puback':
        return handlePuback(connection, packet);
      case 'pubrec':
        return handlePubrec(connection, packet);
      case 'pubrel':
        return handlePubrel(connection, packet);
      case 'pubcomp':
        return handlePubcomp(connection, packet);
      case 'subscribe':
        return handleSubscribe(connection, packet);
      case 'unsubscribe':
        return handleUnsubscribe(connection, packet);
      case 'pingreq':
        return handlePingreq(connection);
      case 'disconnect':
        return handleDisconnect(connection, packet);
      case 'auth':
        return handleAuth(connection, packet);
      case 'connect':
        throw new ProtocolError('a second CONNECT is a protocol violation [MQTT-3.1.0-2]');
      default:
        throw new ProtocolError(`a client must not send ${packet.type.toUpperCase()}`);
    }
  } catch (err) {
    failConnection(connection, err);
    return undefined;
  }
}

/**
 * What the listener decided before the CONNECT: the protocol versions it accepts (another →
 * 3.x return code 1, 5.0 CONNACK 0x84 [MQTT-3.1.2-2]) and a user name from the transport
 * (a TLS client certificate's CN), which replaces the CONNECT's.
 */
function applyTransport(connection: Connection, packet: ConnectPacket): void {
  const transport = connection.transport;
  if (transport.protocolVersions !== undefined && !transport.protocolVersions.includes(packet.protocolVersion)) {
    throw new ConnectRefusedError(ReasonCode.UnsupportedProtocolVersion, `protocol version ${packet.protocolVersion} is not accepted on this listener`);
  }
  if (transport.username !== undefined) packet.username = transport.username;
}

/**
 * Ends a connection because of `err`: CONNACK with the reason (CONNECT failed), or a 5.0
 * DISCONNECT with the reason (connected), then close. The will is published unless the
 * broker itself is shutting down. This is the connection's error boundary: it never throws.
 * Whatever goes wrong while closing (an encoder, a listener of `clientError`, a store)
 * destroys that one connection instead.
 */
export function failConnection(connection: Connection, err: unknown): void {
  if (connection.state === 'closed') return;
  try {
    closeWithReason(connection, asMqttError(err));
  } catch (closeErr) {
    connection.abort(closeErr);
  }
}

function closeWithReason(connection: Connection, error: MqttError): void {
  const broker = connection.broker;
  if (!(error instanceof ServerShuttingDownError) && (!(error instanceof ConnectionLostError) || error.cause !== undefined)) {
    report(connection, error);
    broker.emit('clientError', connection, error);
  }
  if (connection.state === 'awaiting-connect' || connection.state === 'connecting' || connection.state === 'authenticating') {
    refuseConnect(connection, error);
    connection.terminate(error, false);
    return;
  }
  if (connection.protocolVersion === 5 && !(error instanceof ConnectionLostError)) {
    // [MQTT-4.13.1-1] tell a 5.0 client why before closing, with a code a DISCONNECT may carry.
    const disconnect: DisconnectPacket = { type: 'disconnect', reasonCode: disconnectReasonFor(error.reasonCode) };
    connection.send(withProblem(connection, disconnect, error));
  }
  connection.terminate(error, !(error instanceof ServerShuttingDownError));
}

/** Logs the cause once (a broker fault as an error with its stack, a client's as debug) and counts it. */
function report(connection: Connection, error: MqttError): void {
  const broker = connection.broker;
  const metrics = broker.metrics;
  if (error instanceof InternalError) {
    metrics.internalErrors++;
    broker.options.logger.error({ clientId: connection.id, err: error.cause }, 'internal error while serving a client: closing its connection');
  } else {
    broker.options.logger.debug({ clientId: connection.id, err: error.message, reasonCode: error.reasonCode }, 'closing connection');
  }
  metrics.closedByReason[error.reasonCode & 0xff]!++;
}

/** CONNACK for a CONNECT that failed, when the version allows one [MQTT-3.2.2-4] [MQTT-3.2.2-6]. */
function refuseConnect(connection: Connection, error: MqttError): void {
  if (error instanceof ConnectionLostError || error instanceof ConnectTimeoutError) return;
  if (error instanceof UnsupportedProtocolVersionError) {
    // [MQTT-3.1.2-2] unsupported level: 3.x clients understand return code 1, newer ones 0x84.
    if (error.level > 5) connection.sendAs({ type: 'connack', sessionPresent: false, reasonCode: ReasonCode.UnsupportedProtocolVersion }, 5);
    else connection.sendAs({ type: 'connack', sessionPresent: false, reasonCode: 1 }, 4);
    return;
  }
  const version = connection.protocolVersion ?? connection.decoder.protocolVersion;
  if (version === 5) {
    connection.protocolVersion = 5;
    const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode: connackReasonFor(error.reasonCode) };
    connection.sendAs(withProblem(connection, connack, error), 5);
    return;
  }
  // [MQTT-3.1.4-1] a malformed 3.x CONNECT is closed without CONNACK; refusals map to a return code.
  if (version === undefined || error.reasonCode < 0x80 || error.reasonCode === ReasonCode.MalformedPacket || error.reasonCode === ReasonCode.ProtocolError) return;
  const code = connectReturnCodeFor(error.reasonCode);
  if (code !== undefined) connection.sendAs({ type: 'connack', sessionPresent: false, reasonCode: code }, version);
}

/**
 * Adds the error's message as Reason String (and a Server Reference for redirections) to a
 * 5.0 CONNACK or DISCONNECT: both may carry one whatever Request Problem Information says
 * [MQTT-3.1.2-29], but never beyond the client's Maximum Packet Size [MQTT-3.2.2-19] [MQTT-3.14.2-3].
 */
function withProblem<T extends ConnackPacket | DisconnectPacket>(connection: Connection, packet: T, error: MqttError): T {
  const serverReference = error instanceof ServerRedirectError ? error.serverReference : undefined;
  if (serverReference !== undefined) packet.properties = { serverReference };
  const limit = connection.maxOutgoingPacketSize;
  // An internal fault's message is the broker's business, not the client's.
  const reasonString = error instanceof InternalError ? 'internal error' : error.message.slice(0, 256);
  const described: T = { ...packet, properties: { ...packet.properties, reasonString } };
  return encodedLength(described, 5) <= limit ? described : packet;
}

function asMqttError(err: unknown): MqttError {
  if (err instanceof MqttError) return err;
  return new InternalError(err);
}
