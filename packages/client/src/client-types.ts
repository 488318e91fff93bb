/** Public types of the client façade: its events and the options of its methods. */
import type {
  ConnackPacket,
  DisconnectPacket,
  DisconnectReasonCode,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  RetainHandling,
} from '@hato/protocol';
import type { WaitOptions } from './deadline.js';

export type { WaitOptions } from './deadline.js';

export type ClientEvents = {
  /** CONNACK accepted (first connection and every reconnection). */
  connect: [connack: ConnackPacket];
  /** A reconnect attempt starts. */
  reconnect: [];
  /** The connection that was up is gone (the client will retry unless it gives up). */
  offline: [];
  /** A transport closed; `error` says why when it was not a clean close. */
  close: [error: Error | undefined];
  /** The client is closed for good (`end()` or it gave up). */
  end: [];
  error: [error: Error];
  /**
   * The bytes that reached `writeHighWaterMark` were sent (or their connection is gone):
   * `writable` is true again and the QoS 0 publishes waiting on it have resolved.
   */
  drain: [];
  /** The server sent DISCONNECT (5.0). */
  disconnect: [packet: DisconnectPacket];
  message: [topic: string, payload: Uint8Array, packet: PublishPacket];
  packetsend: [packet: Packet];
  packetreceive: [packet: Packet];
};

/** `timeout` / `signal` apply to QoS 1 and 2 (a QoS 0 publish waits only for the transport: see `writeHighWaterMark`). */
export interface PublishOptions extends WaitOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

export interface SubscribeOptions extends WaitOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: RetainHandling;
  /** 5.0: subscriptionIdentifiers (one), userProperties. */
  properties?: Properties;
}

export interface UnsubscribeOptions extends WaitOptions {
  /** 5.0 UNSUBSCRIBE properties (userProperties). */
  properties?: Properties;
}

export interface EndOptions {
  /** Close at once, without waiting for in-flight messages or sending DISCONNECT. */
  force?: boolean;
  /** Ms to wait for in-flight messages before closing anyway (default 10000). */
  timeout?: number;
  /** 5.0 DISCONNECT reason code (default 0x00; 0x04 asks the server to publish the will). */
  reasonCode?: DisconnectReasonCode;
  properties?: Properties;
}
