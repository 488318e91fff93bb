/**
 * `hato`: the one package users install. It re-exports the public API of the broker and of
 * the protocol codec, the client's main entry points by name, and the whole client API
 * (Node entry: TCP, TLS and WebSocket transports) as the `client` namespace, since a few
 * names (DisconnectError, ConnectionState, ...) exist on both sides.
 * Browsers import `@hato/client` directly (no Node built-ins there).
 */
export * from '@hato/broker';
export * as client from '@hato/client/node';
export { connect, connectAsync, FileStore, MqttClient } from '@hato/client/node';
export * from '@hato/protocol';
export { type AccessControl, type AccessControlOptions, type AccessHooks, createAccessControl } from './security/access-control.js';
export { type AdminOptions, type AdminServer, startAdmin, startSys, type SysOptions } from './observability/index.js';
