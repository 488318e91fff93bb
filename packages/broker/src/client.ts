import type { ProtocolVersion } from '@hato/protocol';
import type { TransportInfo } from './listeners/gate.js';

/** What hooks and events see of a connected client (a read-only view of its connection). */
export interface Client {
  /** Client identifier (the assigned one when the client sent an empty id); '' before CONNECT. */
  readonly id: string;
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0; undefined before CONNECT is decoded. */
  readonly protocolVersion: ProtocolVersion | undefined;
  readonly username: string | undefined;
  /** Negotiated keep alive in seconds (0 = none). */
  readonly keepAlive: number;
  /** Remote address as the transport reports it, when it does. */
  readonly remoteAddress: string | undefined;
  /** What the listener established: its name, and a user name from a TLS client certificate (always set by the broker). */
  readonly transport?: TransportInfo;
  /** QoS 0 messages dropped for this client by the slow-consumer policy. */
  readonly droppedMessages: number;
}
