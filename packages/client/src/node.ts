/**
 * @hato/client/node — the client for Node: everything from `@hato/client`, plus the
 * `mqtt://` (TCP) and `mqtts://` (TLS) transports, WebSocket through the `ws` package
 * (with TLS options for `wss://`), and the durable `FileStore`.
 */
import WebSocket from 'ws';
import { MqttClient } from './client.js';
import type { ClientOptions, TargetObject } from './options.js';
import type { TransportFactories } from './transport.js';
import { tcpTransport, tlsOptions, tlsTransport } from './transports/socket.js';
import { type WebSocketConstructor, webSocketTransport } from './transports/websocket.js';
import { connectedOrClosed } from './connect-async.js';

export * from './index.js';
export { FileStore } from './file-store.js';
export { tcpTransport, tlsTransport } from './transports/socket.js';

const ws = webSocketTransport(WebSocket as unknown as WebSocketConstructor, (target, options) =>
  target.protocol === 'wss' ? tlsOptions(target, options) : undefined,
);

export const nodeTransports: TransportFactories = { mqtt: tcpTransport, mqtts: tlsTransport, ws, wss: ws };

/** Creates a client and starts connecting; returns at once (see `client.connected()`). */
export function connect(address: string | TargetObject, options: ClientOptions = {}): MqttClient {
  return new MqttClient(address, options, nodeTransports);
}

/** `connect()` then wait for the first CONNACK; rejects (and closes the client) if it never comes. */
export function connectAsync(address: string | TargetObject, options: ClientOptions = {}): Promise<MqttClient> {
  return connectedOrClosed(connect(address, options));
}
