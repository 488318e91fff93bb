export type { AuthExchange, AuthMethod, AuthStep } from './auth/auth-method.js';
export { type CredentialStore, MemoryCredentialStore, type UserCredentials } from './auth/credential-store.js';
export { ScramSha256 } from './auth/scram.js';
export { DEFAULT_SCRAM_ITERATIONS, deriveScramKeys, type ScramKeys, verifyPassword } from './auth/scram-keys.js';
export { Broker, type BrokerEvents, type TcpListenOptions, type TlsListenOptions } from './broker.js';
export type { Client } from './client.js';
export type { ConnectionState } from './connection.js';
export {
  ConnectRefusedError,
  ConnectionLostError,
  ConnectTimeoutError,
  DisconnectError,
  InternalError,
  KeepAliveTimeoutError,
  ReceiveMaximumExceededError,
  ServerShuttingDownError,
  ServerRedirectError,
  SessionTakenOverError,
  TopicNameInvalidError,
} from './errors.js';
export type { ListenerRules, TransportInfo } from './listeners/gate.js';
export type { Listener } from './listeners/tcp.js';
export type { MemoryBudget, MemorySnapshot } from './memory-budget.js';
export type { BrokerMetrics } from './metrics.js';
export type { WebSocketAttachOptions, WebSocketListenOptions } from './listeners/websocket.js';
export type { BrokerHooks, BrokerOptions, Logger, MaybePromise, ServerRedirect, SharedMember, SharedMessage } from './options.js';
export type { ClusterStatus } from './cluster.js';
export { type ClusterBus, type ClusterEnvelope, type ClusterNode, type ClusterRetainedChange, LocalClusterBus, type OrphanWill } from './ports/cluster-bus.js';
export { MemoryPersistence } from './ports/memory-persistence.js';
export type { LoadOptions, Persistence, PersistenceChange, SessionRecord, StoredMessage, StoredOutgoing, StoredState, StoredWill } from './ports/persistence.js';
export type { OutgoingState, SessionSubscription } from './session/session.js';
