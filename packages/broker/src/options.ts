import type { PublishPacket, QoS, Subscription } from '@hato/protocol';
import type { AuthMethod } from './auth/auth-method.js';
import type { CredentialStore } from './auth/credential-store.js';
import { ScramSha256 } from './auth/scram.js';
import type { Client } from './client.js';
import type { Persistence } from './ports/persistence.js';
import type { ClusterBus } from './ports/cluster-bus.js';

/** A pino-compatible logger subset. The default logs nothing. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** A hook result may be a value or a promise of it; a plain value keeps the broker on its sync fast path. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Hooks. Each may be async; leave one unset and the broker never waits for it.
 * - `authenticate`: true accepts, false refuses with 0x86 (3.x: return code 4), a number ≥ 0x80 refuses
 *   with that reason code (mapped to a 3.x return code for 3.x clients).
 * - `authorizePublish`: true/number < 0x80 allows; false (0x87) or a number ≥ 0x80 denies. A denied
 *   QoS 1/2 message is acknowledged with that code in 5.0, positively in 3.x [MQTT-3.3.5-2]; it is never routed.
 * - `authorizeSubscribe`: true grants the requested QoS, a QoS 0/1/2 grants that (downgrade), false (0x87) or
 *   a number ≥ 0x80 refuses (3.x: 0x80).
 */
export interface BrokerHooks {
  authenticate?(client: Client, username: string | undefined, password: Uint8Array | undefined): MaybePromise<boolean | number>;
  authorizePublish?(client: Client, packet: PublishPacket): MaybePromise<boolean | number>;
  authorizeSubscribe?(client: Client, subscription: Subscription): MaybePromise<boolean | number>;
  /**
   * Checked each time a message is about to go to a connected client's session (synchronous,
   * it runs per message and delivery; it must not allocate): false drops it for that client.
   * Lets access rules that change (an ACL reload) apply to subscriptions that already exist.
   * For a session offline when the message is routed, it is asked when the queued message is
   * about to go out, once the client is back. Unset: never called.
   */
  authorizeDelivery?(client: Client, topic: string): boolean;
  /**
   * Picks the member of a share group that gets a message (synchronous: it runs per message).
   * `candidates` are the members able to take it now (connected, window not full), or every
   * member when none is; return an index into it. Default: round robin.
   */
  chooseSharedMember?(candidates: readonly SharedMember[], message: SharedMessage, group: string): number;
}

/** A share group member as `chooseSharedMember` sees it. */
export interface SharedMember {
  readonly clientId: string;
  readonly connected: boolean;
  /** Unacknowledged QoS 1/2 messages out to it, and its window (the client's Receive Maximum). */
  readonly inflight: number;
  readonly window: number;
  readonly queued: number;
}

export interface SharedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
}

/** Where to send clients instead (5.0 Server Reference with CONNACK/DISCONNECT 0x9C or 0x9D). */
export interface ServerRedirect {
  readonly serverReference: string;
  /** true: 0x9D Server moved (permanent); false (default): 0x9C Use another server. */
  readonly permanent?: boolean;
}

export interface BrokerOptions {
  /** Sockets that send no CONNECT within this time are dropped. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Largest packet accepted from clients (and announced in the 5.0 CONNACK). Default 16 MiB. */
  maximumPacketSize?: number;
  /** Longest client identifier accepted from 3.1.1 and 5.0 clients. Default 65535. */
  maxClientIdLength?: number;
  /** Longest client identifier accepted from 3.1 (MQIsdp) clients, which the 3.1 spec limits to 23. Default 23. */
  maxClientIdLengthV31?: number;
  /** Longest topic name / filter (in UTF-16 units). Default 65535. */
  maxTopicLength?: number;
  /** Most levels in a topic name / filter. Default 128. */
  maxTopicLevels?: number;
  /** Messages queued per session (offline, or beyond the in-flight window). Default 1000. */
  maxQueuedMessages?: number;
  /** Payload+topic bytes queued per session. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Queue QoS 0 messages for offline persistent sessions. Default false (like Mosquitto). */
  queueQoS0Messages?: boolean;
  /** Outgoing QoS 1/2 window per client when the client announces no Receive Maximum. Default 20. */
  maxInflightMessages?: number;
  /**
   * The broker's Receive Maximum: unacknowledged incoming QoS 1/2 per 5.0 client (held PUBACKs,
   * QoS 2 ids until PUBREL); more → DISCONNECT 0x93 [MQTT-3.3.4-7]. Default 32 (EMQX's; Mosquitto 20, HiveMQ 10).
   */
  receiveMaximum?: number;
  /** Cap on client keep alive in seconds (5.0: Server Keep Alive; 3.x: larger is refused). Default 65535. */
  maxKeepAlive?: number;
  /** Topic aliases accepted from each 5.0 client; beyond → DISCONNECT 0x94. Default 10 (Mosquitto's; 0 disables). */
  topicAliasMaximum?: number;
  /**
   * Broker-wide memory budget in bytes for messages the broker holds: session queues, QoS 1/2
   * in flight out, socket backlogs and retained messages. Over parts of it: publishers stop
   * being read, then QoS 0 is dropped, then QoS 1/2 refused (see the README). Default 256 MiB.
   */
  maxMemoryBytes?: number;
  /**
   * Per-client budget in bytes for the state a client makes the broker keep: topic alias
   * topics, subscriptions (filter + 128 each), the will, unfinished incoming QoS 2 ids (16
   * each). Going over → 0x97 Quota exceeded (SUBACK, CONNACK, DISCONNECT). Default 1 MiB.
   */
  maxClientStateBytes?: number;
  /** Slow-consumer bound: PUBLISH packets waiting in a client's socket. Default 10000. */
  maxWriteQueuePackets?: number;
  /** Slow-consumer bound: bytes waiting in a client's socket. Default 8 MiB. */
  maxWriteQueueBytes?: number;
  /** Accept retained messages (5.0 CONNACK Retain Available). Default true; when false a retained PUBLISH is refused (5.0: DISCONNECT 0x9A). */
  retainAvailable?: boolean;
  /** Accept wildcard filters. Default true; when false they are refused per filter (5.0: 0xA2, 3.x: 0x80). */
  wildcardSubscriptions?: boolean;
  /** Accept `$share/{group}/{filter}`. Default true; when false refused per filter (5.0: 0x9E, 3.x: 0x80). */
  sharedSubscriptions?: boolean;
  /** Accept 5.0 Subscription Identifiers. Default true; when false a SUBSCRIBE carrying one is a protocol error (DISCONNECT 0xA1). */
  subscriptionIdentifiers?: boolean;
  /** Highest QoS accepted (5.0 CONNACK Maximum QoS). Default 2; above it: PUBLISH → DISCONNECT 0x9B, will → CONNACK 0x9B, subscriptions granted at most this. */
  maximumQoS?: QoS;
  /** Assign topic aliases to messages sent to 5.0 clients that allow them (their Topic Alias Maximum > 0). Default true. */
  topicAliasesToClients?: boolean;
  /** Most subscriptions per session; beyond: SUBACK 0x97 Quota exceeded (3.x: 0x80). Default unlimited. */
  maxSubscriptionsPerClient?: number;
  /** Most retained topics; a retained PUBLISH for a new topic beyond it is refused with 0x97 (3.x: not stored, acknowledged). Default unlimited. */
  maxRetainedMessages?: number;
  /** Most connected clients; beyond: CONNACK 0x97 Quota exceeded (3.x: 3 Server unavailable). Default unlimited. */
  maxConnections?: number;
  /** 5.0 Response Information returned to clients that ask for it (Request Response Information 1). Default `response/{clientId}`. */
  responseInformation?: string | ((client: Client) => string | undefined);
  /** Refuse CONNECTs with 0x9C/0x9D and a Server Reference (5.0; 3.x: return code 3), for all clients or as a function per client. */
  serverRedirect?: ServerRedirect | ((client: Client) => ServerRedirect | undefined);
  /** User names and salted keys for user name/password CONNECTs and SCRAM-SHA-256. With it, a CONNECT without valid credentials is refused (0x86; no user name: 0x87). */
  credentials?: CredentialStore;
  /** Enhanced authentication methods (5.0 AUTH). Default: SCRAM-SHA-256 over `credentials` when those are set, else none. */
  authMethods?: AuthMethod[];
  hooks?: BrokerHooks;
  logger?: Logger;
  /** Where sessions and retained messages live. Default: a MemoryPersistence. */
  persistence?: Persistence;
  /** Other broker nodes. Default: a LocalClusterBus (no other nodes). */
  clusterBus?: ClusterBus;
}

export interface ResolvedOptions {
  connectTimeoutMs: number;
  maximumPacketSize: number;
  maxClientIdLength: number;
  maxClientIdLengthV31: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueQoS0Messages: boolean;
  maxInflightMessages: number;
  receiveMaximum: number;
  maxKeepAlive: number;
  topicAliasMaximum: number;
  maxMemoryBytes: number;
  maxClientStateBytes: number;
  maxWriteQueuePackets: number;
  maxWriteQueueBytes: number;
  retainAvailable: boolean;
  wildcardSubscriptions: boolean;
  sharedSubscriptions: boolean;
  subscriptionIdentifiers: boolean;
  maximumQoS: QoS;
  topicAliasesToClients: boolean;
  maxSubscriptionsPerClient: number;
  maxRetainedMessages: number;
  maxConnections: number;
  responseInformation: string | ((client: Client) => string | undefined);
  serverRedirect: ServerRedirect | ((client: Client) => ServerRedirect | undefined) | undefined;
  credentials: CredentialStore | undefined;
  authMethods: ReadonlyMap<string, AuthMethod>;
  hooks: BrokerHooks;
  logger: Logger;
}

function noop(): void {}
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Largest Maximum Packet Size MQTT can express (remaining length 268,435,455 + 5 header bytes). */
export const MQTT_MAX_PACKET_SIZE = 268_435_460;

export function resolveOptions(options: BrokerOptions): ResolvedOptions {
  return {
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    maximumPacketSize: Math.min(options.maximumPacketSize ?? 16 * 1024 * 1024, MQTT_MAX_PACKET_SIZE),
    maxClientIdLength: options.maxClientIdLength ?? 65535,
    maxClientIdLengthV31: options.maxClientIdLengthV31 ?? 23,
    maxTopicLength: options.maxTopicLength ?? 65535,
    maxTopicLevels: options.maxTopicLevels ?? 128,
    maxQueuedMessages: options.maxQueuedMessages ?? 1000,
    maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
    queueQoS0Messages: options.queueQoS0Messages ?? false,
    maxInflightMessages: clamp(options.maxInflightMessages ?? 20, 1, 65535),
    receiveMaximum: clamp(options.receiveMaximum ?? 32, 1, 65535),
    maxKeepAlive: clamp(options.maxKeepAlive ?? 65535, 1, 65535),
    topicAliasMaximum: clamp(options.topicAliasMaximum ?? 10, 0, 65535),
    maxMemoryBytes: Math.max(1, options.maxMemoryBytes ?? 256 * 1024 * 1024),
    maxClientStateBytes: Math.max(1, options.maxClientStateBytes ?? 1024 * 1024),
    maxWriteQueuePackets: options.maxWriteQueuePackets ?? 10_000,
    maxWriteQueueBytes: options.maxWriteQueueBytes ?? 8 * 1024 * 1024,
    retainAvailable: options.retainAvailable ?? true,
    wildcardSubscriptions: options.wildcardSubscriptions ?? true,
    sharedSubscriptions: options.sharedSubscriptions ?? true,
    subscriptionIdentifiers: options.subscriptionIdentifiers ?? true,
    maximumQoS: clamp(options.maximumQoS ?? 2, 0, 2) as QoS,
    topicAliasesToClients: options.topicAliasesToClients ?? true,
    maxSubscriptionsPerClient: options.maxSubscriptionsPerClient ?? Number.POSITIVE_INFINITY,
    maxRetainedMessages: options.maxRetainedMessages ?? Number.POSITIVE_INFINITY,
    maxConnections: options.maxConnections ?? Number.POSITIVE_INFINITY,
    responseInformation: options.responseInformation ?? defaultResponseInformation,
    serverRedirect: options.serverRedirect,
    credentials: options.credentials,
    authMethods: new Map((options.authMethods ?? defaultAuthMethods(options.credentials)).map((method) => [method.name, method])),
    hooks: options.hooks ?? {},
    logger: options.logger ?? silentLogger,
  };
}

function defaultResponseInformation(client: Client): string {
  return `response/${client.id}`;
}

function defaultAuthMethods(credentials: CredentialStore | undefined): AuthMethod[] {
  return credentials === undefined ? [] : [new ScramSha256(credentials)];
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(value)));
}

