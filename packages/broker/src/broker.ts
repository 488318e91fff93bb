import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import { isValidTopicName, type MqttError, type Properties, type PublishPacket, type QoS, type Subscription, type Will } from '@hato/protocol';
import type { Client } from './client.js';
import { Cluster, type ClusterStatus } from './cluster.js';
import { Connection } from './connection.js';
import { ServerRedirectError, ServerShuttingDownError } from './errors.js';
import { failConnection } from './handlers/index.js';
import { Journal } from './journal.js';
import type { ListenerRules, TransportInfo } from './listeners/gate.js';
import { type Listener, listenTcp } from './listeners/tcp.js';
import { attachWebSocket, listenWebSocket, type WebSocketAttachOptions, type WebSocketListenOptions } from './listeners/websocket.js';
import { MemoryBudget } from './memory-budget.js';
import { Message } from './message.js';
import { BrokerMetrics } from './metrics.js';
import { type BrokerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { ClusterBus } from './ports/cluster-bus.js';
import { LocalClusterBus } from './ports/cluster-bus.js';
import { MemoryPersistence } from './ports/memory-persistence.js';
import type { Persistence } from './ports/persistence.js';
import { RetainedStore } from './routing/retained-store.js';
import { Router } from './routing/router.js';
import { Delivery } from './session/delivery.js';
import { SessionStore } from './session/session-store.js';

/** The broker's events and their arguments. */
export interface BrokerEvents {
  ready: [];
  clientConnected: [client: Client];
  /** `reason` is undefined after a normal DISCONNECT. */
  clientDisconnected: [client: Client, reason: Error | undefined];
  /** Every message routed: from a client (`client` set), a will or `broker.publish` (`client` undefined). */
  published: [packet: PublishPacket, client: Client | undefined];
  subscribed: [subscriptions: Subscription[], client: Client];
  unsubscribed: [filters: string[], client: Client];
  /** A connection is being closed because of `error` (protocol violation, timeout, socket error). */
  clientError: [client: Client, error: MqttError];
  /** Cluster: the link to the other nodes (Redis) is back. */
  clusterUp: [];
  /** Cluster: the link to the other nodes is down; local clients are still served. */
  clusterDown: [error: unknown];
  nodeJoined: [nodeId: string];
  /** `left`: it shut down; `dead`: its heartbeat stopped (its clients' wills fire, its sessions move). */
  nodeLeft: [nodeId: string, reason: 'left' | 'dead'];
}

export interface TcpListenOptions extends ListenerRules {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

/** TLS listener options: where to listen, plus node:tls server options (key, cert, ca, ...). */
export interface TlsListenOptions extends TcpListenOptions, TlsOptions {}

const NO_TRANSPORT_INFO: TransportInfo = {};

/**
 * An MQTT 3.1 / 3.1.1 / 5.0 broker that owns no sockets: give it any duplex byte stream
 * with `handle`, or let one of its thin listeners do that.
 */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly options: ResolvedOptions;
  readonly delivery: Delivery;
  readonly router: Router;
  /**
   * The broker-wide memory budget (`maxMemoryBytes`): bytes of queued, in-flight, unwritten
   * and retained messages, and the overload counters (dropped QoS 0, refused publishes, holds).
   */
  readonly memory: MemoryBudget;
  readonly retained: RetainedStore;
  readonly sessions: SessionStore;
  readonly persistence: Persistence;
  /** Changes of durable state, committed to the persistence once per event-loop turn (group commit). */
  readonly journal: Journal;
  readonly clusterBus: ClusterBus;
  /** @internal the cluster semantics, when the bus is enabled (several nodes). */
  readonly clusterCore: Cluster | undefined;
  /** Counters for operators ($SYS, Prometheus): connection errors by reason, internal errors. */
  readonly metrics = new BrokerMetrics();
  private readonly connections = new Set<Connection>();
  private readonly openListeners = new Set<Listener>();
  private state: 'loading' | 'ready' | 'closing' | 'closed' = 'loading';
  private readonly loaded: Promise<void>;

  constructor(options: BrokerOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.memory = new MemoryBudget(this.options.maxMemoryBytes);
    this.retained = new RetainedStore(this.memory);
    this.delivery = new Delivery(this.options, this.memory);
    this.router = new Router(this.delivery, this.options.hooks.chooseSharedMember);
    this.sessions = new SessionStore(this);
    this.persistence = options.persistence ?? new MemoryPersistence();
    this.journal = new Journal(this.persistence, this.onStoreError);
    this.clusterBus = options.clusterBus ?? new LocalClusterBus();
    if (this.clusterBus.enabled) {
      this.clusterCore = new Cluster(this, this.clusterBus);
      this.router.cluster = this.clusterCore;
    }
    this.loaded = this.load();
    this.loaded.catch(this.onLoadError);
  }

  private readonly onLoadError = (err: unknown): void => {
    this.options.logger.error({ err }, 'loading the persistence failed');
  };

  /**
   * Rebuilds the working set from the persistence (retained messages, sessions with their
   * subscriptions, queues, in-flight state, session expiry and will delay timers), then emits
   * `ready`. Expired retained messages are dropped (and deleted from the store).
   */
  private async load(): Promise<void> {
    // A cluster node holds only its own clients' sessions: they are loaded when they connect
    // (or when this node adopts a dead node's), never all at start.
    const state = await this.persistence.load({ sessions: this.clusterCore === undefined });
    const now = Date.now();
    for (const stored of state.retained) {
      const message = stored instanceof Message ? stored : Message.restore(stored);
      if (message.isExpired(now)) this.journal.record({ op: 'unretain', topic: message.topic });
      else this.retained.set(message);
    }
    for (const record of state.sessions) this.sessions.restore(record, now);
    if (this.clusterCore !== undefined) await this.clusterBus.start(this.clusterCore);
    if (this.state === 'loading') this.state = 'ready';
    this.emit('ready');
  }

  /** This node of a cluster: its id, whether its link to the others is up, the other live nodes. */
  get cluster(): ClusterStatus {
    return this.clusterCore?.status ?? { nodeId: this.clusterBus.nodeId, up: true, nodes: [] };
  }

  /** Resolves once the broker loaded its state (`ready` fired). */
  whenReady(): Promise<void> {
    return this.loaded;
  }

  /** Serves one client over any duplex byte stream (net.Socket, a WebSocket stream, ...). */
  handle(stream: Duplex, transport: TransportInfo = NO_TRANSPORT_INFO): void {
    if (this.state === 'closing' || this.state === 'closed') {
      stream.destroy();
      return;
    }
    try {
      if ('setNoDelay' in stream && typeof stream.setNoDelay === 'function') stream.setNoDelay(true);
      this.connections.add(new Connection(this, stream, transport));
    } catch (err) {
      // A listener callback must never throw into node's accept loop.
      this.metrics.internalErrors++;
      this.options.logger.error({ err }, 'accepting a connection failed');
      stream.destroy();
    }
  }

  /** Listens for MQTT over TCP. */
  async listen(options: TcpListenOptions = {}): Promise<Listener> {
    await this.loaded;
    const { port, host, ...rules } = options;
    const listener = await listenTcp(this, port ?? 0, host, rules);
    return this.track(listener);
  }

  /** Listens for MQTT over TLS (MQTTS); `options` also carries node:tls server options. */
  async listenTls(options: TlsListenOptions): Promise<Listener> {
    await this.loaded;
    const { port, host, name, protocolVersions, maxConnections, useCommonNameAsUsername, ...tls } = options;
    const listener = await listenTcp(this, port ?? 0, host, { name, protocolVersions, maxConnections, useCommonNameAsUsername }, tls);
    return this.track(listener);
  }

  /** Listens for MQTT over WebSocket (path default '/mqtt'); over TLS (WSS) with `tls`. */
  async listenWebSocket(options: WebSocketListenOptions = {}): Promise<Listener> {
    await this.loaded;
    const listener = await listenWebSocket(this, options);
    return this.track(listener);
  }

  /** Serves MQTT over WebSocket on `path` (default '/mqtt') of an existing HTTP server. */
  attachWebSocket(server: HttpServer, options: WebSocketAttachOptions = {}): void {
    this.track(attachWebSocket(this, server, options));
  }

  private track(listener: Listener): Listener {
    this.openListeners.add(listener);
    const close = listener.close;
    listener.close = () => {
      this.openListeners.delete(listener);
      return close();
    };
    return listener;
  }

  /** Number of open connections (any state). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Number of connected clients (CONNECT accepted). */
  get connectedCount(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.state === 'connected') count++;
    return count;
  }

  /**
   * Moves a connected client to another server: a 5.0 client gets DISCONNECT 0x9C (Use
   * another server) or, with `permanent`, 0x9D (Server moved) with the Server Reference
   * (§4.11); a 3.x client is closed. Its will is published. Returns false when no such client.
   */
  redirectClient(clientId: string, serverReference: string, options: { permanent?: boolean } = {}): boolean {
    const connection = this.sessions.get(clientId)?.connection;
    if (connection === undefined) return false;
    failConnection(connection, new ServerRedirectError(serverReference, options.permanent === true));
    return true;
  }

  /** True when a retained message for a new topic would exceed maxRetainedMessages (0x97). */
  retainedQuotaExceeded(topic: string, payload: Uint8Array): boolean {
    const max = this.options.maxRetainedMessages;
    return payload.byteLength > 0 && this.retained.size >= max && this.retained.get(topic) === undefined;
  }

  /**
   * Routes a message: the retained store first, then every matching session. Returns how
   * many subscriptions/groups matched.
   */
  publishMessage(message: Message, packet: PublishPacket, client: Client | undefined): number {
    if (message.retain) {
      if (message.payload.byteLength === 0) {
        // [MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained message deletes, and is not stored.
        if (this.retained.delete(message.topic)) this.journal.record({ op: 'unretain', topic: message.topic });
        this.clusterCore?.retainedHere({ op: 'unretain', topic: message.topic });
      } else {
        // [MQTT-3.3.1-5] the retained message replaces the topic's previous one. It outlives
        // the packet: no view into the read chunk (Buffer#slice would have made another view).
        message.keep();
        this.retained.set(message);
        this.journal.record({ op: 'retain', message });
        this.clusterCore?.retainedHere({ op: 'retain', message });
      }
    }
    const matched = this.router.route(message);
    this.emit('published', packet, client);
    return matched;
  }

  /**
   * Publishes a message from the application (not from a client): retained store, then
   * every matching subscription. Returns how many subscriptions/groups matched.
   */
  publish(message: { topic: string; payload: Uint8Array | string; qos?: QoS; retain?: boolean; properties?: Properties }): number {
    if (!isValidTopicName(message.topic)) throw new TypeError(`invalid topic name '${message.topic}'`);
    const payload = typeof message.payload === 'string' ? new TextEncoder().encode(message.payload) : message.payload;
    const qos = message.qos ?? 0;
    const retain = message.retain ?? false;
    const routed = Message.create(message.topic, payload, qos, retain, message.properties, undefined, Date.now());
    const packet: PublishPacket = { type: 'publish', topic: message.topic, payload, qos, retain, dup: false };
    if (routed.properties !== undefined) packet.properties = routed.properties;
    return this.publishMessage(routed, packet, undefined);
  }

  /** Publishes a will message [MQTT-3.1.2-8]; will retain and QoS are honoured [MQTT-3.1.2-14..17]. */
  publishWill(will: Will, clientId: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const message = Message.create(will.topic, will.payload, will.qos, will.retain, will.properties, clientId, Date.now());
    const packet: PublishPacket = { type: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false };
    if (message.properties !== undefined) packet.properties = message.properties;
    try {
      this.publishMessage(message, packet, undefined);
    } catch (err) {
      // Wills go out from timers (will delay, session expiry) and closing connections, where
      // no connection's error boundary is around them: a hook that throws while routing
      // (chooseSharedMember, authorizeDelivery) must not end the process.
      this.metrics.internalErrors++;
      this.options.logger.error({ err, clientId }, 'publishing a will failed');
    }
  }

  /**
   * Shutdown: every will still to come goes now (a connection's, or one waiting for its delay).
   * With `storeDelayed`, wills with a Will Delay Interval whose session outlives the shutdown
   * are stored instead, due when their delay runs out (after a restart, or at once then).
   */
  private publishAllWills(storeDelayed: boolean): void {
    for (const connection of this.connections) {
      const will = connection.will;
      if (connection.state !== 'connected' || will === undefined) continue;
      connection.will = undefined;
      const session = connection.session;
      const delay = will.properties?.willDelayInterval ?? 0;
      if (storeDelayed && delay > 0 && session !== undefined && session.expiryInterval !== 0) this.sessions.scheduleWill(session, will, delay * 1000);
      else this.publishWill(will, connection.id);
    }
    if (!storeDelayed) for (const session of this.sessions.values()) this.sessions.firePendingWill(session);
  }

  /** Called by a Connection once it is closed. */
  connectionClosed(connection: Connection, wasConnected: boolean, reason: Error | undefined, publishWill: boolean): void {
    this.connections.delete(connection);
    if (!wasConnected) return;
    this.metrics.clientsConnected--;
    if (this.clusterCore !== undefined && connection.clusterWill) {
      connection.clusterWill = false;
      this.clusterBus.setWill(connection.id, undefined);
    }
    this.sessions.detach(connection, publishWill && this.state !== 'closing');
    this.options.logger.debug({ clientId: connection.id, reason: reason?.message }, 'client disconnected');
    this.emit('clientDisconnected', connection, reason);
  }

  /**
   * A commit failed (thrown or rejected): logged and counted, never thrown into the connection
   * or timer that recorded the change; the connections whose acks waited for it are closed.
   */
  private readonly onStoreError = (err: unknown): void => {
    this.metrics.persistenceErrors++;
    this.options.logger.error({ err }, 'persistence write failed');
  };

  /**
   * Closes listeners and connections (5.0 clients get DISCONNECT 0x8B first), commits what
   * is left to the persistence and closes it. With `publishWills` (a server shutting down, as
   * Mosquitto does), the wills of connected clients and those waiting for their Will Delay
   * Interval are published first, while subscribers are still connected; otherwise none is.
   * With `storeDelayedWills` too (a durable persistence), wills with a delay whose session
   * outlives the shutdown are kept in the store instead, and go when due after a restart.
   */
  async close(options: { publishWills?: boolean; storeDelayedWills?: boolean } = {}): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (options.publishWills === true) this.publishAllWills(options.storeDelayedWills === true);
    this.state = 'closing';
    // DISCONNECT 0x8B first (written and ended now), then the listeners drop what is left.
    for (const connection of [...this.connections]) failConnection(connection, new ServerShuttingDownError());
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([...this.openListeners].map((listener) => listener.close()));
    this.sessions.stopTimers();
    await this.journal.flush();
    await this.clusterBus.close();
    await this.persistence.close?.();
    this.state = 'closed';
  }
}
