/**
 * @hato/client — MQTT 3.1 / 3.1.1 / 5.0 client. This entry is browser-safe: it uses
 * `globalThis.WebSocket` and no Node built-ins, so it supports `ws://` and `wss://`.
 * In Node, import `@hato/client/node` for `mqtt://`, `mqtts://` and WebSocket via `ws`.
 *
 * ```ts
 * const client = connect('wss://broker.example/mqtt', { clientId: 'me' });
 * await client.connected();              // first CONNACK (rejects with ConnectError on refusal)
 * await client.subscribe('a/#', { qos: 1 });
 * client.on('message', (topic, payload) => console.log(topic, payload));
 * await client.publish('a/b', 'こんにちは', { qos: 1 });
 * for await (const msg of client.subscription('b/#')) { ... }
 * await client.end();
 * ```
 */
import { MqttClient } from './client.js';
import type { ClientOptions, TargetObject } from './options.js';
import type { TransportFactories } from './transport.js';
import { type WebSocketConstructor, webSocketTransport } from './transports/websocket.js';
import { connectedOrClosed } from './connect-async.js';

export { type ClientEvents, type EndOptions, MqttClient, type PublishOptions, type SubscribeOptions } from './client.js';
export type { ConnectionEvent, ConnectionState } from './connection-state.js';
export { transition } from './connection-state.js';
export * from './errors.js';
export type { ClientOptions, ReconnectOptions, Scheme, Target, TargetObject, TlsOptions, WillOptions } from './options.js';
export type { PublishAck } from './outgoing-flow.js';
export type { Payload } from './payload.js';
export type { RequestOptions } from './request.js';
export { type InFlightStore, MemoryStore, type StoredOutgoing, type StoredState } from './store.js';
export { SubscriptionStream } from './subscription-stream.js';
export type { SubscriptionGrant } from './subscriptions.js';
export type { Transport, TransportFactories, TransportFactory, TransportHandlers } from './transport.js';
export { type WebSocketConstructor, type WebSocketLike, webSocketTransport } from './transports/websocket.js';

function browserTransports(): TransportFactories {
  const WebSocketClass = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocketClass === undefined) return {};
  const ws = webSocketTransport(WebSocketClass);
  return { ws, wss: ws };
}

/**
 * Creates a client and starts connecting; returns at once. Await `client.connected()`
 * for the first CONNACK, or use `connectAsync`.
 */
export function connect(address: string | TargetObject, options: ClientOptions = {}): MqttClient {
  return new MqttClient(address, options, browserTransports());
}

/** `connect()` then wait for the first CONNACK; rejects (and closes the client) if it never comes. */
export function connectAsync(address: string | TargetObject, options: ClientOptions = {}): Promise<MqttClient> {
  return connectedOrClosed(connect(address, options));
}
