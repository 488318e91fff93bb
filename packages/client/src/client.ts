/**
 * The MQTT client façade. It owns the connection state (see connection-state.ts) and
 * delegates: outgoing PUBLISH to OutgoingFlow, incoming to IncomingFlow, SUBSCRIBE and
 * UNSUBSCRIBE to SubscriptionManager, request/response to Requester, keepalive to
 * KeepAlive, bytes to a Connection per attempt.
 */
import {
  type ConnackPacket,
  type DecodeError,
  type DisconnectPacket,
  isValidTopicFilter,
  isValidTopicName,
  type Packet,
  PacketIdAllocator,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type RetainHandling,
  type Subscription,
  TopicAliasReceiver,
  TopicAliasSender,
  type UnsubackPacket,
} from '@hato/protocol';
import { backoffDelay, type ReconnectPolicy, reconnectPolicy } from './backoff.js';
import { buildConnect, randomClientId } from './connect-packet.js';
import { Connection } from './connection.js';
import { type ConnectionEvent, type ConnectionState, transition } from './connection-state.js';
import {
  ClientClosedError,
  ConnectError,
  DisconnectError,
  PublishError,
  TimeoutError,
  TransportError,
} from './errors.js';
import { IncomingFlow } from './incoming-flow.js';
import { KeepAlive } from './keepalive.js';
import { type ClientOptions, redirectTarget, resolveTarget, type Target, type TargetObject } from './options.js';
import { OutgoingFlow, type PublishAck } from './outgoing-flow.js';
import { type Payload, toBytes } from './payload.js';
import { type RequestOptions, Requester } from './request.js';
import type { InFlightStore } from './store.js';
import { SubscriptionStream } from './subscription-stream.js';
import { type SubscriptionGrant, SubscriptionManager } from './subscriptions.js';
import type { TransportFactories } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';

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
  /** The server sent DISCONNECT (5.0). */
  disconnect: [packet: DisconnectPacket];
  message: [topic: string, payload: Uint8Array, packet: PublishPacket];
  packetsend: [packet: Packet];
  packetreceive: [packet: Packet];
};

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

export interface SubscribeOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: RetainHandling;
  /** 5.0: subscriptionIdentifiers (one), userProperties. */
  properties?: Properties;
}

export interface EndOptions {
  /** Close at once, without waiting for in-flight messages or sending DISCONNECT. */
  force?: boolean;
  /** Ms to wait for in-flight messages before closing anyway (default 10000). */
  timeout?: number;
  /** 5.0 DISCONNECT reason code (default 0x00; 0x04 asks the server to publish the will). */
  reasonCode?: number;
  properties?: Properties;
}

const MAX_REDIRECTS = 5;
/** CONNACK codes after which retrying can help (server busy, unavailable, rate limited). */
const RETRYABLE_5 = new Set([0x80, 0x83, 0x88, 0x89, 0x97, 0x9f]);
const RETRYABLE_3 = new Set([3]);

export class MqttClient extends TypedEmitter<ClientEvents> {
  private stateValue: ConnectionState = { status: 'connecting', attempt: 0 };
  private target: Target;
  private readonly version: ProtocolVersion;
  private clientIdValue: string;
  private readonly credentials: { username?: string; password?: string | Uint8Array };
  private readonly policy: ReconnectPolicy;
  private connection: Connection | undefined;
  private connack: ConnackPacket | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private redirects = 0;
  private redirecting = false;
  private aliasSender: TopicAliasSender | undefined;
  private aliasReceiver: TopicAliasReceiver;
  private maximumQoS: QoS = 2;
  private waiters: { resolve: (c: ConnackPacket) => void; reject: (e: Error) => void }[] = [];
  private endPromise: Promise<void> | undefined;
  private transportClosed: (() => void) | undefined;
  private readonly streams = new Set<SubscriptionStream>();
  private readonly keepalive: KeepAlive;
  readonly ids = new PacketIdAllocator();
  readonly store: InFlightStore | undefined;
  private readonly outgoing: OutgoingFlow;
  private readonly incoming: IncomingFlow;
  private readonly subscriptions: SubscriptionManager;
  private readonly requester: Requester;

  constructor(
    address: string | TargetObject,
    readonly options: ClientOptions,
    private readonly transports: TransportFactories,
  ) {
    super();
    const resolved = resolveTarget(address, options.path);
    this.target = resolved.target;
    this.version = options.protocolVersion ?? 5;
    this.clientIdValue = options.clientId ?? randomClientId();
    this.credentials = {};
    const username = options.username ?? resolved.username;
    const password = options.password ?? resolved.password;
    if (username !== undefined) this.credentials.username = username;
    if (password !== undefined) this.credentials.password = password;
    this.policy = reconnectPolicy(options.reconnect);
    this.store = options.store;
    this.aliasReceiver = new TopicAliasReceiver(options.properties?.topicAliasMaximum ?? 0);
    this.keepalive = new KeepAlive({
      sendPing: () => this.send({ type: 'pingreq' }),
      deadLink: () => this.connection?.destroy(new TimeoutError('no answer to PINGREQ: the link is dead')),
    });
    const isConnected = () => this.isConnected;
    const send = (packet: Packet) => this.send(packet);
    this.outgoing = new OutgoingFlow({ ids: this.ids, store: this.store, isConnected, send }, options.queueLimit ?? 10_000);
    this.incoming = new IncomingFlow({ store: this.store, send, deliver: (p) => this.deliver(p) });
    this.subscriptions = new SubscriptionManager({
      ids: this.ids,
      isConnected,
      send,
      onResubscribeError: (e) => this.emit('error', e),
    });
    this.requester = new Requester({
      publish: (topic, payload, qos, properties) => this.publish(topic, payload, { qos, properties }),
      subscribe: (filter, qos) => this.subscribe(filter, { qos }),
      responseInformation: () => this.connack?.properties?.responseInformation,
      clientId: () => this.clientIdValue,
    });
    void this.start();
  }

  /** The explicit connection state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** True while a CONNACK-accepted connection is up. */
  get isConnected(): boolean {
    const s = this.stateValue;
    return s.status === 'connected' || (s.status === 'disconnecting' && this.connack !== undefined && !!this.connection);
  }

  /** The client identifier (the one the server assigned, when it did). */
  get clientId(): string {
    return this.clientIdValue;
  }

  get protocolVersion(): ProtocolVersion {
    return this.version;
  }

  /**
   * Resolves with the CONNACK once connected (at once if connected now); rejects when
   * the client closes first, with the reason (ConnectError for a refusal).
   */
  connected(): Promise<ConnackPacket> {
    const s = this.stateValue;
    if (s.status === 'connected' && this.connack) return Promise.resolve(this.connack);
    if (s.status === 'closed' || s.status === 'disconnecting')
      return Promise.reject(s.status === 'closed' && s.error ? s.error : new ClientClosedError());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * QoS 0 resolves once written or queued (the same resolved promise every time, so a
   * fire-and-forget publish leaves nothing behind); QoS 1 with the PUBACK, QoS 2 with
   * the PUBCOMP. Rejects with PublishError on a reason code ≥ 0x80.
   */
  publish(topic: string, payload: Payload, options?: PublishOptions): Promise<PublishAck | undefined> {
    const qos = options?.qos ?? 0;
    const s = this.stateValue.status;
    if (s === 'closed' || s === 'disconnecting') return Promise.reject(new ClientClosedError());
    const alias = options?.properties?.topicAlias;
    if (!(isValidTopicName(topic) || (topic === '' && alias !== undefined)))
      return Promise.reject(new TypeError(`invalid topic name '${topic}'`));
    if (qos > this.maximumQoS) return Promise.reject(new PublishError(0x9b, topic));
    let bytes: Uint8Array;
    try {
      bytes = toBytes(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const packet: PublishPacket = { type: 'publish', topic, payload: bytes, qos, retain: options?.retain ?? false, dup: false };
    if (this.version === 5 && options?.properties !== undefined) packet.properties = options.properties;
    return this.outgoing.publish(packet);
  }

  /** Resolves with the granted QoS per filter; rejects with SubscribeError when any filter is refused. */
  subscribe(filters: string | string[], options?: SubscribeOptions): Promise<SubscriptionGrant[]> {
    const list = typeof filters === 'string' ? [filters] : filters;
    if (this.stateValue.status === 'closed' || this.stateValue.status === 'disconnecting')
      return Promise.reject(new ClientClosedError());
    const bad = list.find((f) => !isValidTopicFilter(f));
    if (bad !== undefined || list.length === 0) return Promise.reject(new TypeError(`invalid topic filter '${bad}'`));
    const subs: Subscription[] = list.map((topicFilter) => {
      const s: Subscription = { topicFilter, qos: options?.qos ?? 0 };
      if (options?.noLocal) s.noLocal = true;
      if (options?.retainAsPublished) s.retainAsPublished = true;
      if (options?.retainHandling) s.retainHandling = options.retainHandling;
      return s;
    });
    return this.subscriptions.subscribe(subs, this.version === 5 ? options?.properties : undefined);
  }

  unsubscribe(filters: string | string[], properties?: Properties): Promise<UnsubackPacket> {
    const list = typeof filters === 'string' ? [filters] : filters;
    if (this.stateValue.status === 'closed' || this.stateValue.status === 'disconnecting')
      return Promise.reject(new ClientClosedError());
    return this.subscriptions.unsubscribe(list, this.version === 5 ? properties : undefined);
  }

  /** Subscribes and iterates the matching messages: `for await (const msg of client.subscription('a/#'))`. */
  subscription(filter: string, options?: SubscribeOptions & { bufferLimit?: number }): SubscriptionStream {
    const stream = new SubscriptionStream(filter, this.subscribe(filter, options), this, options?.bufferLimit);
    this.streams.add(stream);
    return stream;
  }

  /** @internal Called by a stream when its loop ends. */
  closeStream(stream: SubscriptionStream): void {
    if (!this.streams.delete(stream)) return;
    const s = this.stateValue.status;
    const stillUsed = [...this.streams].some((o) => o.filter === stream.filter);
    if (!stillUsed && s !== 'closed' && s !== 'disconnecting') this.unsubscribe(stream.filter).catch(() => {});
  }

  /** MQTT 5.0 request/response (Response Topic + Correlation Data). */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<PublishPacket> {
    if (this.version !== 5) return Promise.reject(new TypeError('request() needs MQTT 5.0 (protocolVersion 5)'));
    return this.requester.request(topic, toBytes(payload), options);
  }

  /**
   * Closes the client: waits (up to `timeout`) for queued and in-flight messages when
   * connected, sends DISCONNECT, closes the transport. `force` closes at once.
   */
  end(options: EndOptions = {}): Promise<void> {
    if (this.endPromise) return this.endPromise;
    if (this.stateValue.status === 'closed') return Promise.resolve();
    const wasConnected = this.isConnected;
    this.setState({ type: 'end' });
    clearTimeout(this.retryTimer);
    this.endPromise = this.shutdown(wasConnected, options);
    return this.endPromise;
  }

  /** Sizes of the internal per-message structures (for tests and diagnostics). */
  debugCounts(): Record<string, number> {
    return {
      inflight: this.outgoing.inflightCount,
      queued: this.outgoing.queuedCount,
      incomingQoS2: this.incoming.size,
      packetIds: this.ids.inUse,
      subscribeRequests: this.subscriptions.pendingCount,
      requests: this.requester.size,
      streams: this.streams.size,
      writeBuffered: this.connection?.buffered ?? 0,
      waiters: this.waiters.length,
    };
  }

  private async shutdown(wasConnected: boolean, options: EndOptions): Promise<void> {
    const timeout = options.timeout ?? 10_000;
    if (!options.force && wasConnected) await this.within(this.outgoing.idle(), timeout);
    const conn = this.connection;
    if (conn && !conn.isClosed) {
      if (options.force) conn.destroy();
      else {
        const closed = new Promise<void>((resolve) => {
          this.transportClosed = resolve;
        });
        if (this.connack) {
          const d: DisconnectPacket = { type: 'disconnect' };
          if (this.version === 5 && options.reasonCode) d.reasonCode = options.reasonCode;
          if (this.version === 5 && options.properties) d.properties = options.properties;
          this.send(d); // [MQTT-3.14.4-1] then close the network connection
        }
        conn.end();
        if (!(await this.within(closed, 2000))) conn.destroy();
      }
    }
    this.setState({ type: 'closed' });
    this.fail(new ClientClosedError());
    await this.store?.close();
    this.emit('end');
  }

  private within(promise: Promise<void>, ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  private async start(): Promise<void> {
    if (this.store) {
      try {
        const state = await this.store.load();
        for (const e of state.outgoing) this.ids.reserve(e.packetId);
        this.outgoing.restore(state.outgoing);
        this.incoming.restore(state.incoming);
      } catch (err) {
        this.emit('error', err as Error);
      }
    } else await undefined; // let the caller attach listeners first
    if (this.stateValue.status === 'connecting') this.open();
  }

  private open(): void {
    const factory = this.transports[this.target.protocol];
    if (factory === undefined) {
      const hint = this.target.protocol.startsWith('mqtt') ? ' (import connect from @hato/client/node)' : '';
      const error = new TypeError(`no transport for ${this.target.protocol}://${hint}`);
      this.emit('error', error);
      this.close(error);
      return;
    }
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      this.connection?.destroy(new TimeoutError(`no CONNACK within ${this.options.connectTimeout ?? 30_000} ms`));
    }, this.options.connectTimeout ?? 30_000);
    try {
      this.connection = new Connection(factory, this.target, this.options, this.version, this, this.keepalive);
    } catch (err) {
      this.connection = undefined;
      this.lost(err instanceof Error ? err : new TransportError(String(err)), false);
    }
  }

  /** @internal Connection host: the transport is open, send CONNECT. */
  onOpen(connection: Connection): void {
    if (connection !== this.connection) return;
    this.send(buildConnect(this.options, this.version, this.clientIdValue, this.credentials));
  }

  /** @internal Connection host. */
  onClose(connection: Connection, error: Error | undefined): void {
    if (connection !== this.connection) return;
    this.lost(error, true);
  }

  /** @internal Connection host: malformed bytes from the server. */
  onDecodeError(connection: Connection, error: DecodeError): void {
    if (this.version === 5) connection.send({ type: 'disconnect', reasonCode: error.reasonCode });
    connection.end();
    connection.destroy(error);
  }

  /** @internal Connection host: one switch dispatches every packet. */
  onPacket(connection: Connection, packet: Packet): void {
    if (connection !== this.connection) return;
    if (this.listenerCount('packetreceive') > 0) this.emit('packetreceive', packet);
    if (packet.type !== 'connack' && this.connack === undefined) {
      this.protocolError('first packet from the server must be CONNACK'); // [MQTT-3.2.0-1]
      return;
    }
    switch (packet.type) {
      case 'connack':
        this.onConnack(packet);
        return;
      case 'publish':
        this.onPublish(packet);
        return;
      case 'puback':
        this.outgoing.onPuback(packet);
        return;
      case 'pubrec':
        this.outgoing.onPubrec(packet);
        return;
      case 'pubrel':
        this.incoming.onPubrel(packet.packetId);
        return;
      case 'pubcomp':
        this.outgoing.onPubcomp(packet);
        return;
      case 'suback':
        this.subscriptions.onSuback(packet);
        return;
      case 'unsuback':
        this.subscriptions.onUnsuback(packet);
        return;
      case 'pingresp':
        return;
      case 'disconnect':
        this.onDisconnect(packet);
        return;
      case 'auth':
        this.protocolError('enhanced authentication is not supported');
        return;
      default:
        this.protocolError(`unexpected ${packet.type} from the server`);
    }
  }

  private onConnack(connack: ConnackPacket): void {
    clearTimeout(this.connectTimer);
    const conn = this.connection!;
    const cleanStart = this.options.clean ?? true;
    if (this.connack !== undefined) this.protocolError('second CONNACK');
    else if (connack.reasonCode !== 0) this.onRefused(connack);
    // [MQTT-3.2.2-4] a client without session state must close on Session Present 1.
    else if (cleanStart && connack.sessionPresent) this.protocolError('Session Present with Clean Start');
    else this.onAccepted(conn, connack);
  }

  private onAccepted(conn: Connection, connack: ConnackPacket): void {
    const props = connack.properties;
    this.connack = connack;
    this.redirects = 0;
    if (props?.assignedClientIdentifier) this.clientIdValue = props.assignedClientIdentifier;
    this.maximumQoS = (props?.maximumQoS ?? 2) as QoS;
    this.outgoing.receiveMaximum = props?.receiveMaximum ?? 65_535;
    const aliasMax = this.options.topicAliases === false ? 0 : (props?.topicAliasMaximum ?? 0);
    this.aliasSender = aliasMax > 0 ? new TopicAliasSender(aliasMax) : undefined;
    this.keepalive.start(props?.serverKeepAlive ?? this.options.keepalive ?? 60, this.options.pingTimeout);
    this.setState({ type: 'connack', sessionPresent: connack.sessionPresent });
    if (!connack.sessionPresent) this.incoming.reset();
    this.subscriptions.onConnected(connack.sessionPresent);
    this.outgoing.onConnected(connack.sessionPresent);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(connack);
    if (conn === this.connection) this.emit('connect', connack);
  }

  private onRefused(connack: ConnackPacket): void {
    const code = connack.reasonCode;
    const props = connack.properties;
    const error = new ConnectError(code, this.version, props?.reasonString, props?.serverReference);
    this.emit('error', error);
    if (this.redirect(code, props?.serverReference)) {
      this.connection?.destroy(error);
      return;
    }
    const retry = (this.version === 5 ? RETRYABLE_5 : RETRYABLE_3).has(code);
    if (retry) this.connection?.destroy(error);
    else {
      const conn = this.connection;
      this.connection = undefined;
      conn?.destroy(error);
      this.lost(error, false);
    }
  }

  private onPublish(packet: PublishPacket): void {
    if (this.version === 5) {
      try {
        packet.topic = this.aliasReceiver.resolve(packet.topic, packet.properties?.topicAlias);
      } catch (err) {
        const code = (err as { reasonCode?: number }).reasonCode ?? 0x82;
        this.send({ type: 'disconnect', reasonCode: code });
        this.connection?.end();
        this.connection?.destroy(err as Error);
        return;
      }
    }
    this.incoming.onPublish(packet);
  }

  private onDisconnect(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const props = packet.properties;
    const error = new DisconnectError(code, props?.reasonString, props?.serverReference);
    this.emit('disconnect', packet);
    const conn = this.connection;
    if (this.redirect(code, props?.serverReference) || code !== 0x8e) {
      conn?.destroy(error);
      return;
    }
    // 0x8E Session taken over: another client uses our id; reconnecting would fight it.
    this.connection = undefined;
    conn?.destroy(error);
    this.lost(error, false);
  }

  /** Follows a Server Reference on 0x9C Use another server / 0x9D Server moved. */
  private redirect(code: number, serverReference: string | undefined): boolean {
    if ((code !== 0x9c && code !== 0x9d) || !serverReference || this.options.followRedirects === false) return false;
    if (this.redirects >= MAX_REDIRECTS) return false;
    const next = redirectTarget(this.target, serverReference);
    if (next === undefined) return false;
    this.redirects++;
    this.redirecting = true;
    this.target = next;
    return true;
  }

  private protocolError(message: string): void {
    const conn = this.connection;
    if (conn === undefined) return;
    if (this.version === 5) conn.send({ type: 'disconnect', reasonCode: 0x82 });
    conn.end();
    conn.destroy(new TransportError(`protocol error: ${message}`));
  }

  private deliver(packet: PublishPacket): void {
    if (this.requester.size > 0 && this.requester.handle(packet)) return;
    try {
      this.emit('message', packet.topic, packet.payload, packet);
    } catch (err) {
      // A throwing listener must not leave the QoS flow half done: re-throw later.
      queueMicrotask(() => {
        throw err;
      });
    }
    if (this.streams.size > 0) for (const s of this.streams) if (s.matches(packet.topic)) s.push(packet);
  }

  private send(packet: Packet): void {
    const conn = this.connection;
    if (conn === undefined) return;
    if (packet.type === 'publish' && this.aliasSender !== undefined && packet.properties?.topicAlias === undefined) {
      const alias = this.aliasSender.lookup(packet.topic);
      if (alias !== undefined)
        packet = {
          ...packet,
          topic: alias.isNew ? packet.topic : '',
          properties: { ...packet.properties, topicAlias: alias.alias },
        };
    }
    conn.send(packet);
    if (this.listenerCount('packetsend') > 0) this.emit('packetsend', packet);
  }

  /** The connection is gone; `retry` false means the client must give up. */
  private lost(error: Error | undefined, retry: boolean): void {
    clearTimeout(this.connectTimer);
    this.keepalive.stop();
    this.connection = undefined;
    const hadConnack = this.connack !== undefined;
    this.connack = undefined;
    this.aliasSender = undefined;
    this.aliasReceiver = new TopicAliasReceiver(this.options.properties?.topicAliasMaximum ?? 0);
    this.subscriptions.onOffline();
    this.emit('close', error);
    if (error !== undefined && !(error instanceof ConnectError)) this.emit('error', error);
    const status = this.stateValue.status;
    if (status === 'disconnecting') this.transportClosed?.();
    if (status !== 'connecting' && status !== 'connected') return;
    const canRetry = retry && this.policy !== null;
    this.setState(error ? { type: 'lost', retry: canRetry, error } : { type: 'lost', retry: canRetry });
    if (hadConnack) this.emit('offline');
    const s = this.stateValue as ConnectionState;
    if (s.status !== 'offline' || this.policy === null || s.attempt > this.policy.maxAttempts) {
      this.close(error);
      return;
    }
    const delay = this.redirecting ? 0 : backoffDelay(this.policy, s.attempt);
    this.redirecting = false;
    this.retryTimer = setTimeout(() => {
      this.setState({ type: 'retry' });
      this.emit('reconnect');
      this.open();
    }, delay);
  }

  /** Final close: state `closed`, everything still waiting rejected, 'end' emitted. */
  private close(error: Error | undefined): void {
    if (this.stateValue.status !== 'closed') this.setState(error ? { type: 'closed', error } : { type: 'closed' });
    this.fail(error ?? new ClientClosedError());
    void this.store?.close();
    this.emit('end');
  }

  /** Rejects everything still waiting. */
  private fail(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
    const closed = error instanceof ClientClosedError ? error : new ClientClosedError(error.message, { cause: error });
    this.outgoing.rejectAll(closed);
    this.subscriptions.rejectAll(closed);
    this.requester.rejectAll(closed);
    for (const s of [...this.streams]) s.finish();
    this.streams.clear();
  }

  private setState(event: ConnectionEvent): void {
    this.stateValue = transition(this.stateValue, event);
  }
}
