/**
 * The MQTT client façade: promises, typed events and async iteration over what the
 * collaborators do. ConnectionManager owns the connection lifecycle; OutgoingFlow the
 * outgoing PUBLISH; IncomingFlow the incoming acks; SubscriptionManager SUBSCRIBE and
 * UNSUBSCRIBE; Requester request/response.
 */
import {
  type ConnackPacket,
  encodedLength,
  isValidTopicFilter,
  isValidTopicName,
  type Packet,
  PacketIdAllocator,
  type ProtocolVersion,
  type PublishPacket,
  type Subscription,
  type UnsubackPacket,
} from '@hato/protocol';
import { BackPressure, DEFAULT_HIGH_WATER_MARK } from './back-pressure.js';
import type { ClientEvents, EndOptions, PublishOptions, SubscribeOptions, UnsubscribeOptions } from './client-types.js';
import { buildConnect, randomClientId } from './connect-packet.js';
import { ConnectionManager } from './connection-manager.js';
import { abortError, disarming, type WaitOptions, watchDeadline, within } from './deadline.js';
import type { ConnectionState } from './connection-state.js';
import { ClientClosedError, PublishError } from './errors.js';
import { IncomingFlow } from './incoming-flow.js';
import { type ClientOptions, resolveTarget, type TargetObject } from './options.js';
import { OutgoingFlow, type PublishAck } from './outgoing-flow.js';
import { type Payload, toBytes } from './payload.js';
import { type RequestOptions, Requester } from './request.js';
import type { InFlightStore } from './store.js';
import { SubscriptionStream } from './subscription-stream.js';
import { type SubscriptionGrant, SubscriptionManager } from './subscriptions.js';
import type { TransportFactories } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';

export type {
  ClientEvents,
  EndOptions,
  PublishOptions,
  SubscribeOptions,
  UnsubscribeOptions,
  WaitOptions,
} from './client-types.js';

export class MqttClient extends TypedEmitter<ClientEvents> {
  readonly ids = new PacketIdAllocator();
  readonly store: InFlightStore | undefined;
  private clientIdValue: string;
  private readonly credentials: { username?: string; password?: string | Uint8Array } = {};
  private readonly manager: ConnectionManager;
  private readonly outgoing: OutgoingFlow;
  private readonly backPressure: BackPressure;
  private readonly incoming: IncomingFlow;
  private readonly subscriptions: SubscriptionManager;
  private readonly requester: Requester;
  private readonly streams = new Set<SubscriptionStream>();
  private waiters: { resolve: (c: ConnackPacket) => void; reject: (e: Error) => void }[] = [];
  private endPromise: Promise<void> | undefined;
  private lastValidTopic: string | undefined;

  constructor(
    address: string | TargetObject,
    readonly options: ClientOptions,
    transports: TransportFactories,
  ) {
    super();
    const resolved = resolveTarget(address, options.path);
    this.clientIdValue = options.clientId ?? randomClientId();
    const username = options.username ?? resolved.username;
    const password = options.password ?? resolved.password;
    if (username !== undefined) this.credentials.username = username;
    if (password !== undefined) this.credentials.password = password;
    this.store = options.store;
    const version = options.protocolVersion === 'auto' ? 5 : (options.protocolVersion ?? 5);
    this.manager = new ConnectionManager(options, resolved.target, version, transports, {
      connectPacket: () => buildConnect(this.options, this.manager.version, this.clientIdValue, this.credentials),
      accepted: (connack) => this.onAccepted(connack),
      packet: (packet) => this.onPacket(packet),
      lostConnection: () => this.subscriptions.onOffline(),
      drained: () => this.backPressure.drained(),
      gaveUp: (error) => this.finish(error),
      emit: (event, ...args) => this.emit(event, ...args),
      listenerCount: (event) => this.listenerCount(event),
    });
    const isConnected = () => this.manager.isConnected;
    const send = (packet: Packet) => this.manager.send(packet);
    const report = (e: Error) => this.emit('error', e);
    this.backPressure = new BackPressure(
      options.writeHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      { buffered: () => this.manager.buffered, watchDrain: () => this.manager.watchDrain() },
      () => this.emit('drain'),
    );
    const written = () => this.backPressure.afterWrite();
    this.outgoing = new OutgoingFlow(
      { ids: this.ids, store: this.store, isConnected, send, written, onDropped: report, onUnexpected: report },
      options.queueLimit ?? 10_000,
    );
    this.incoming = new IncomingFlow({ store: this.store, send, deliver: (p) => this.deliver(p), onUnexpected: report });
    this.subscriptions = new SubscriptionManager({
      ids: this.ids,
      isConnected,
      send,
      onResubscribeError: report,
      onUnexpected: report,
      onViolation: (message) => this.manager.violation(0x82, message),
    });
    this.requester = new Requester({
      publish: (topic, payload, qos, properties) => this.publish(topic, payload, { qos, properties }),
      subscribe: (filter, qos) => this.subscribe(filter, { qos }),
      responseInformation: () => this.manager.connack?.properties?.responseInformation,
      clientId: () => this.clientIdValue,
    });
    void this.start();
  }

  /** The explicit connection state. */
  get state(): ConnectionState {
    return this.manager.state;
  }

  /** True while a CONNACK-accepted connection is up. */
  get isConnected(): boolean {
    return this.manager.isConnected;
  }

  /** The client identifier (the one the server assigned, when it did). */
  get clientId(): string {
    return this.clientIdValue;
  }

  /**
   * False once the bytes not sent yet reached `writeHighWaterMark`, until the 'drain'
   * event: a QoS 0 publish then resolves only at that drain.
   */
  get writable(): boolean {
    return this.backPressure.writable;
  }

  get protocolVersion(): ProtocolVersion {
    return this.manager.version;
  }

  /**
   * Resolves with the CONNACK once connected (at once if connected now); rejects when
   * the client closes first, with the reason (ConnectError for a refusal), or at the
   * `timeout` / `signal` given (the client keeps trying to connect).
   */
  connected(wait?: WaitOptions): Promise<ConnackPacket> {
    const s = this.manager.state;
    const connack = this.manager.connack;
    if (s.status === 'connected' && connack) return Promise.resolve(connack);
    if (s.status === 'closed' || s.status === 'disconnecting')
      return Promise.reject(s.status === 'closed' && s.error ? s.error : new ClientClosedError());
    if (wait?.signal?.aborted) return Promise.reject(abortError(wait.signal));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      const clear = watchDeadline(wait, (ms) => `no CONNACK within ${ms} ms`, (error) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(error);
      });
      Object.assign(waiter, disarming(clear, resolve, reject));
      this.waiters.push(waiter);
    });
  }

  /**
   * QoS 0 resolves once written or queued (the same resolved promise every time, so a
   * fire-and-forget publish leaves nothing behind); QoS 1 with the PUBACK, QoS 2 with
   * the PUBCOMP. Rejects with PublishError on a reason code ≥ 0x80, ClientClosedError
   * when the client ends first, or at the `timeout` / `signal` of the options.
   */
  publish(topic: string, payload: Payload, options?: PublishOptions): Promise<PublishAck | undefined> {
    const qos = options?.qos ?? 0;
    if (this.isEnding()) return Promise.reject(new ClientClosedError());
    if (qos !== 0 && qos !== 1 && qos !== 2) return Promise.reject(new TypeError(`invalid QoS ${qos}`));
    if (topic !== this.lastValidTopic) {
      const alias = options?.properties?.topicAlias;
      if (!(isValidTopicName(topic) || (topic === '' && alias !== undefined)))
        return Promise.reject(new TypeError(`invalid topic name '${topic}'`));
      if (topic !== '') this.lastValidTopic = topic; // publishing to one topic again skips the check
    }
    // [MQTT-3.2.2-11] never above the server's Maximum QoS.
    const maximumQoS = this.manager.connack?.properties?.maximumQoS ?? 2;
    if (qos > maximumQoS) return Promise.reject(new PublishError(0x9b, topic));
    let bytes: Uint8Array;
    try {
      bytes = toBytes(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const packet: PublishPacket = { type: 'publish', topic, payload: bytes, qos, retain: options?.retain ?? false, dup: false };
    if (this.manager.version === 5 && options?.properties !== undefined) packet.properties = options.properties;
    if (this.tooLarge(packet)) return Promise.reject(new PublishError(0x95, topic));
    if (options?.signal?.aborted) return Promise.reject(abortError(options.signal));
    return this.outgoing.publish(packet, options);
  }

  /**
   * Resolves with the granted QoS per filter; rejects with SubscribeError when any filter
   * is refused, ClientClosedError when the client ends first, or at the `timeout` /
   * `signal` of the options. Cut off by a lost connection, it is sent again after the
   * reconnect and settles with that SUBACK.
   */
  subscribe(filters: string | string[], options?: SubscribeOptions): Promise<SubscriptionGrant[]> {
    const list = typeof filters === 'string' ? [filters] : filters;
    if (this.isEnding()) return Promise.reject(new ClientClosedError());
    const bad = list.find((f) => !isValidTopicFilter(f));
    if (bad !== undefined || list.length === 0) return Promise.reject(new TypeError(`invalid topic filter '${bad}'`));
    const subs: Subscription[] = list.map((topicFilter) => {
      const s: Subscription = { topicFilter, qos: options?.qos ?? 0 };
      if (options?.noLocal) s.noLocal = true;
      if (options?.retainAsPublished) s.retainAsPublished = true;
      if (options?.retainHandling) s.retainHandling = options.retainHandling;
      return s;
    });
    if (options?.signal?.aborted) return Promise.reject(abortError(options.signal));
    return this.subscriptions.subscribe(subs, this.manager.version === 5 ? options?.properties : undefined, options);
  }

  /** Resolves with the UNSUBACK; settles like `subscribe`. */
  unsubscribe(filters: string | string[], options?: UnsubscribeOptions): Promise<UnsubackPacket> {
    const list = typeof filters === 'string' ? [filters] : filters;
    if (this.isEnding()) return Promise.reject(new ClientClosedError());
    if (options?.signal?.aborted) return Promise.reject(abortError(options.signal));
    return this.subscriptions.unsubscribe(list, this.manager.version === 5 ? options?.properties : undefined, options);
  }

  /** Subscribes and iterates the matching messages: `for await (const msg of client.subscription('a/#'))`. */
  subscription(filter: string, options?: SubscribeOptions & { bufferLimit?: number }): SubscriptionStream {
    const stream = new SubscriptionStream(filter, this.subscribe(filter, options), this, options?.bufferLimit);
    this.streams.add(stream);
    return stream;
  }

  /** @internal Called by a stream when its loop ends: unsubscribes if no other stream uses the filter. */
  closeStream(stream: SubscriptionStream): void {
    if (!this.streams.delete(stream)) return;
    const stillUsed = [...this.streams].some((o) => o.filter === stream.filter);
    if (!stillUsed && !this.isEnding()) this.unsubscribe(stream.filter).catch(() => {});
  }

  /**
   * MQTT 5.0 request/response (Response Topic + Correlation Data). Settles with the
   * response, ClientClosedError, or the `timeout` (default 30 s) / `signal` of the options.
   */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<PublishPacket> {
    if (this.manager.version !== 5) return Promise.reject(new TypeError('request() needs MQTT 5.0 (protocolVersion 5)'));
    if (this.isEnding()) return Promise.reject(new ClientClosedError());
    if (options?.signal?.aborted) return Promise.reject(abortError(options.signal));
    let bytes: Uint8Array;
    try {
      bytes = toBytes(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.requester.request(topic, bytes, options);
  }

  /**
   * Closes the client: waits (up to `timeout`) for queued and in-flight messages when
   * connected, sends DISCONNECT, closes the transport. `force` closes at once.
   */
  end(options: EndOptions = {}): Promise<void> {
    if (this.endPromise) return this.endPromise;
    if (this.manager.state.status === 'closed') return Promise.resolve();
    const wasConnected = this.manager.isConnected;
    this.manager.beginEnd();
    this.endPromise = (async () => {
      if (!options.force && wasConnected) await within(this.outgoing.idle(), options.timeout ?? 10_000);
      await this.manager.finishEnd(options);
      await this.finish(undefined);
    })();
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
      writeBuffered: this.manager.buffered,
      waiters: this.waiters.length,
    };
  }

  /** [MQTT-3.1.2-24] never send a packet above the server's Maximum Packet Size (checked only near it). */
  private tooLarge(packet: PublishPacket): boolean {
    const max = this.manager.connack?.properties?.maximumPacketSize;
    if (max === undefined || packet.payload.length + packet.topic.length * 3 + 16 < max / 2) return false;
    return encodedLength({ ...packet, packetId: 1 }, this.manager.version) > max;
  }

  private isEnding(): boolean {
    const s = this.manager.state.status;
    return s === 'closed' || s === 'disconnecting';
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
    this.manager.open();
  }

  private onAccepted(connack: ConnackPacket): void {
    const props = connack.properties;
    if (props?.assignedClientIdentifier) this.clientIdValue = props.assignedClientIdentifier;
    this.outgoing.receiveMaximum = props?.receiveMaximum ?? 65_535;
    if (!connack.sessionPresent) this.incoming.reset();
    this.subscriptions.onConnected(connack.sessionPresent);
    this.outgoing.onConnected(connack.sessionPresent);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(connack);
    if (this.manager.connack === connack) this.emit('connect', connack);
  }

  /** Packets after CONNACK, one switch. */
  private onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'publish':
        this.incoming.onPublish(packet);
        break;
      case 'puback':
        this.outgoing.onPuback(packet);
        break;
      case 'pubrec':
        this.outgoing.onPubrec(packet);
        break;
      case 'pubrel':
        this.incoming.onPubrel(packet.packetId);
        break;
      case 'pubcomp':
        this.outgoing.onPubcomp(packet);
        break;
      case 'suback':
        this.subscriptions.onSuback(packet);
        break;
      case 'unsuback':
        this.subscriptions.onUnsuback(packet);
        break;
    }
  }

  private deliver(packet: PublishPacket): void {
    if (this.requester.size > 0 && this.requester.handle(packet)) return;
    // A throwing listener does not leave the QoS flow half done: emit re-throws it later.
    this.emit('message', packet.topic, packet.payload, packet);
    if (this.streams.size > 0) for (const s of this.streams) if (s.matches(packet.topic)) s.push(packet);
  }

  /** Final close: everything still waiting rejected, the store closed, 'end' emitted. */
  private async finish(error: Error | undefined): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error ?? new ClientClosedError());
    const closed = error === undefined ? new ClientClosedError() : new ClientClosedError(error.message, { cause: error });
    this.outgoing.rejectAll(closed);
    this.subscriptions.rejectAll(closed);
    this.requester.rejectAll(closed);
    for (const s of [...this.streams]) s.finish();
    this.streams.clear();
    try {
      await this.store?.close();
    } finally {
      this.emit('end');
    }
  }
}

