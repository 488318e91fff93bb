import { type ConnectReturnCodeValue, MqttError, ReasonCode } from '@hato/protocol';

/**
 * Errors the broker's handlers raise. Each carries the 5.0 reason code; the dispatcher
 * (handlers/index.ts) alone turns them into a CONNACK or DISCONNECT and closes.
 */

/** The CONNECT is refused: answered with CONNACK carrying `reasonCode` (mapped for 3.x). */
export class ConnectRefusedError extends MqttError {
  override name = 'ConnectRefusedError';
}

/** A 5.0 DISCONNECT reason the broker sends before closing a connected client. */
export class DisconnectError extends MqttError {
  override name = 'DisconnectError';
}

export class KeepAliveTimeoutError extends DisconnectError {
  override name = 'KeepAliveTimeoutError';
  constructor() {
    super(ReasonCode.KeepAliveTimeout, 'keep alive timeout [MQTT-3.1.2-24]');
  }
}

export class SessionTakenOverError extends DisconnectError {
  override name = 'SessionTakenOverError';
  constructor() {
    super(ReasonCode.SessionTakenOver, 'session taken over by a new connection [MQTT-3.1.4-3]');
  }
}

export class ServerShuttingDownError extends DisconnectError {
  override name = 'ServerShuttingDownError';
  constructor() {
    super(ReasonCode.ServerShuttingDown, 'server shutting down');
  }
}

export class ReceiveMaximumExceededError extends DisconnectError {
  override name = 'ReceiveMaximumExceededError';
  constructor(maximum: number) {
    super(ReasonCode.ReceiveMaximumExceeded, `more than ${maximum} unacknowledged QoS 1/2 messages [MQTT-3.3.4-7]`);
  }
}

export class TopicNameInvalidError extends DisconnectError {
  override name = 'TopicNameInvalidError';
  constructor(topic: string) {
    super(ReasonCode.TopicNameInvalid, `invalid topic name '${topic.slice(0, 100)}'`);
  }
}

/** The connection closed before any CONNECT arrived in time. */
export class ConnectTimeoutError extends MqttError {
  override name = 'ConnectTimeoutError';
  constructor(ms: number) {
    super(ReasonCode.MaximumConnectTime, `no CONNECT within ${ms} ms`);
  }
}

/**
 * The broker failed while serving a connection: a bug, or a hook, adapter or encoder that
 * threw. The connection is closed with 0x83 (Implementation specific error) and the cause
 * logged with its stack; other connections and the process go on.
 */
export class InternalError extends MqttError {
  override name = 'InternalError';
  constructor(cause: unknown) {
    super(ReasonCode.ImplementationSpecificError, cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The peer's socket failed or closed without DISCONNECT. */
export class ConnectionLostError extends MqttError {
  override name = 'ConnectionLostError';
  constructor(cause?: unknown) {
    super(ReasonCode.UnspecifiedError, 'connection lost', { cause });
  }
}

/** Maps a 5.0 CONNACK reason code to the closest 3.x return code; undefined when none fits. */
export function connectReturnCodeFor(reasonCode: number): ConnectReturnCodeValue | undefined {
  switch (reasonCode) {
    case ReasonCode.Success:
      return 0;
    case ReasonCode.UnsupportedProtocolVersion:
      return 1;
    case ReasonCode.ClientIdentifierNotValid:
      return 2;
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.ServerShuttingDown:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.UseAnotherServer:
    case ReasonCode.ServerMoved:
      return 3;
    case ReasonCode.BadUserNameOrPassword:
    case ReasonCode.BadAuthenticationMethod:
      return 4;
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
      return 5;
    default:
      return undefined;
  }
}

/**
 * Sends the client to another server (5.0 Server Reference): a CONNECT is refused with it,
 * a connected client gets DISCONNECT with it. 0x9C Use another server, 0x9D Server moved.
 */
export class ServerRedirectError extends MqttError {
  override name = 'ServerRedirectError';
  readonly serverReference: string;
  constructor(serverReference: string, permanent: boolean) {
    super(permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer, `use another server: ${serverReference}`);
    this.serverReference = serverReference;
  }
}
