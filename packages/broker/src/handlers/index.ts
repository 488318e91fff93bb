import {
  type ConnackPacket,
  type DisconnectPacket,
  encodedLength,
  MqttError,
  type Packet,
  ProtocolError,
  ReasonCode,
  UnsupportedProtocolVersionError,
} from '@hato/protocol';
import type { Connection } from '../connection.js';
import { ConnectionLostError, ConnectTimeoutError, connectReturnCodeFor, ServerRedirectError, ServerShuttingDownError } from '../errors.js';
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
 * Ends a connection because of `err`: CONNACK with the reason (CONNECT failed), or a 5.0
 * DISCONNECT with the reason (connected), then close. The will is published unless the
 * broker itself is shutting down.
 */
export function failConnection(connection: Connection, err: unknown): void {
  if (connection.state === 'closed') return;
  const error = asMqttError(err);
  const broker = connection.broker;
  if (!(error instanceof ServerShuttingDownError) && (!(error instanceof ConnectionLostError) || error.cause !== undefined)) {
    broker.options.logger.debug({ clientId: connection.id, err: error.message, reasonCode: error.reasonCode }, 'closing connection');
    broker.emit('clientError', connection, error);
  }
  if (connection.state === 'awaiting-connect' || connection.state === 'connecting' || connection.state === 'authenticating') {
    refuseConnect(connection, error);
    connection.terminate(error, false);
    return;
  }
  if (connection.protocolVersion === 5 && !(error instanceof ConnectionLostError)) {
    // [MQTT-4.13.1-1] tell a 5.0 client why before closing.
    const disconnect: DisconnectPacket = { type: 'disconnect', reasonCode: error.reasonCode };
    connection.send(withProblem(connection, disconnect, error));
  }
  connection.terminate(error, !(error instanceof ServerShuttingDownError));
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
    const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode: connackCode(error.reasonCode) };
    connection.sendAs(withProblem(connection, connack, error), 5);
    return;
  }
  // [MQTT-3.1.4-1] a malformed 3.x CONNECT is closed without CONNACK; refusals map to a return code.
  if (version === undefined || error.reasonCode < 0x80 || error.reasonCode === ReasonCode.MalformedPacket || error.reasonCode === ReasonCode.ProtocolError) return;
  const code = connectReturnCodeFor(error.reasonCode);
  if (code !== undefined) connection.sendAs({ type: 'connack', sessionPresent: false, reasonCode: code }, version);
}

/** CONNACK reason codes (5.0 §3.2.2.2); others are sent as their nearest (shutdown → 0x88) or 0x80. */
const CONNACK_CODES = new Set([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f]);

function connackCode(code: number): number {
  if (CONNACK_CODES.has(code)) return code;
  return code === ReasonCode.ServerShuttingDown ? ReasonCode.ServerUnavailable : ReasonCode.UnspecifiedError;
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
  const reasonString = error.message.slice(0, 256);
  const described: T = { ...packet, properties: { ...packet.properties, reasonString } };
  return encodedLength(described, 5) <= limit ? described : packet;
}

function asMqttError(err: unknown): MqttError {
  if (err instanceof MqttError) return err;
  return new MqttError(ReasonCode.ImplementationSpecificError, err instanceof Error ? err.message : String(err), { cause: err });
}
