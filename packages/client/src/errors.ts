/**
 * Errors the client raises. Every error that comes from a reason code sent by the
 * server is a class carrying that code, so callers can branch on `instanceof` or on
 * `reasonCode` without parsing messages.
 */
import { connectReturnCodeName, MqttError, reasonCodeName } from '@hato/protocol';

function hex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

/** The server refused the connection (CONNACK with a failure code). */
export class ConnectError extends MqttError {
  override name = 'ConnectError';
  /** Protocol level of the refused CONNECT; for 3.x `reasonCode` is the 3.x return code (1..5). */
  readonly protocolVersion: number;
  readonly reasonString: string | undefined;
  readonly serverReference: string | undefined;
  constructor(reasonCode: number, protocolVersion: number, reasonString?: string, serverReference?: string) {
    const name =
      protocolVersion === 5
        ? `${reasonCodeName(reasonCode)} (${hex(reasonCode)})`
        : `${connectReturnCodeName(reasonCode).replace(/^Connection Refused, /, '')} (${reasonCode})`;
    super(reasonCode, `Connection refused: ${name}${reasonString ? `: ${reasonString}` : ''}`);
    this.protocolVersion = protocolVersion;
    this.reasonString = reasonString;
    this.serverReference = serverReference;
  }
}

/** A QoS 1/2 PUBLISH was acknowledged with a failure reason code (≥ 0x80). */
export class PublishError extends MqttError {
  override name = 'PublishError';
  readonly topic: string;
  readonly reasonString: string | undefined;
  constructor(reasonCode: number, topic: string, reasonString?: string) {
    super(reasonCode, `Publish to '${topic}' refused: ${reasonCodeName(reasonCode)} (${hex(reasonCode)})`);
    this.topic = topic;
    this.reasonString = reasonString;
  }
}

/** At least one filter of a SUBSCRIBE was refused; `reasonCodes` has one code per filter. */
export class SubscribeError extends MqttError {
  override name = 'SubscribeError';
  readonly filters: string[];
  readonly reasonCodes: number[];
  constructor(filters: string[], reasonCodes: number[], reasonString?: string) {
    const i = reasonCodes.findIndex((c) => c >= 0x80);
    const code = reasonCodes[i] ?? 0x80;
    super(
      code,
      `Subscribe to '${filters[i] ?? filters[0]}' refused: ${reasonCodeName(code)} (${hex(code)})` +
        (reasonString ? `: ${reasonString}` : ''),
    );
    this.filters = filters;
    this.reasonCodes = reasonCodes;
  }
}

/** At least one filter of an UNSUBSCRIBE was refused (5.0 only). */
export class UnsubscribeError extends MqttError {
  override name = 'UnsubscribeError';
  readonly filters: string[];
  readonly reasonCodes: number[];
  constructor(filters: string[], reasonCodes: number[]) {
    const code = reasonCodes.find((c) => c >= 0x80) ?? 0x80;
    super(code, `Unsubscribe refused: ${reasonCodeName(code)} (${hex(code)})`);
    this.filters = filters;
    this.reasonCodes = reasonCodes;
  }
}

/** The server closed the connection with a DISCONNECT packet (5.0). */
export class DisconnectError extends MqttError {
  override name = 'DisconnectError';
  readonly reasonString: string | undefined;
  readonly serverReference: string | undefined;
  constructor(reasonCode: number, reasonString?: string, serverReference?: string) {
    super(
      reasonCode,
      `Disconnected by the server: ${reasonCodeName(reasonCode)} (${hex(reasonCode)})` +
        (reasonString ? `: ${reasonString}` : ''),
    );
    this.reasonString = reasonString;
    this.serverReference = serverReference;
  }
}

/**
 * The server broke the protocol: a malformed packet, a packet it must not send (a
 * second CONNACK, AUTH without authentication, DISCONNECT in 3.1.1), an abused topic
 * alias, a packet over the client's Maximum Packet Size. The client closed that
 * connection (after a 5.0 DISCONNECT carrying `reasonCode`) and reconnects with backoff.
 * `cause` is the codec error when there is one.
 */
export class ServerProtocolError extends MqttError {
  override name = 'ServerProtocolError';
  constructor(reasonCode: number, message: string, options?: { cause?: unknown }) {
    super(reasonCode, `protocol error from the server: ${message}`, options);
  }
}

/**
 * The server sent an acknowledgement the client cannot match: an unknown packet id or
 * an ack out of order (PUBCOMP before PUBREC, PUBACK for a QoS 2 message). Reported and
 * otherwise ignored, as the connection can go on; `reasonCode` is 0x92 Packet
 * Identifier not found or 0x82 Protocol Error.
 */
export class UnexpectedPacketError extends MqttError {
  override name = 'UnexpectedPacketError';
  readonly packetType: string;
  readonly packetId: number;
  constructor(packetType: string, packetId: number, reasonCode: number, detail: string) {
    super(reasonCode, `unexpected ${packetType.toUpperCase()} (id ${packetId}) from the server: ${detail}`);
    this.packetType = packetType;
    this.packetId = packetId;
  }
}

/** The operation could not complete because `end()` was called or the client gave up. */
export class ClientClosedError extends Error {
  override name = 'ClientClosedError';
  constructor(message = 'client is closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The bounded offline queue is full; the message was not queued. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  readonly limit: number;
  constructor(limit: number) {
    super(`offline queue is full (${limit} messages)`);
    this.limit = limit;
  }
}

/** A time limit passed (connect timeout, request timeout, end timeout). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The transport failed (socket error, TLS error, WebSocket error). */
export class TransportError extends Error {
  override name = 'TransportError';
}
