/**
 * Owns the connection lifecycle: the state machine (connection-state.ts), one
 * Connection per attempt, CONNECT/CONNACK, keepalive, topic aliases, server DISCONNECT,
 * redirection (Server Reference on 0x9C/0x9D) and reconnection with backoff. Packets
 * after CONNACK and the lifecycle milestones go to the client through `ManagerHost`.
 */
import {
  clientDisconnectReasonFor,
  type ConnackPacket,
  type ConnectPacket,
  type DecodeError,
  type DisconnectPacket,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  TopicAliasReceiver,
  TopicAliasSender,
} from '@hato/protocol';
import { Backoff, type ReconnectPolicy, reconnectPolicy } from './backoff.js';
import type { ClientEvents, EndOptions } from './client-types.js';
import { Connection } from './connection.js';
import { type ConnectionEvent, type ConnectionState, transition } from './connection-state.js';
import { within } from './deadline.js';
import { ConnectError, DisconnectError, ServerProtocolError, TimeoutError, TransportError } from './errors.js';
import { KeepAlive } from './keepalive.js';
import { protocolRefusedError } from './version-fallback.js';
import { type ClientOptions, redirectTarget, type Target } from './options.js';
import type { TransportFactories } from './transport.js';

export interface ManagerHost {
  connectPacket(): ConnectPacket;
  /** CONNACK accepted; the state is 'connected'. */
  accepted(connack: ConnackPacket): void;
  /** Every packet after CONNACK except PINGRESP and DISCONNECT. */
  packet(packet: Packet): void;
  /** The current connection is gone (a retry or the final close follows). */
  lostConnection(): void;
  /** Final close after giving up (not after `end()`). */
  gaveUp(error: Error | undefined): void;
  /** After `watchDrain()`: the transport sent all it had (or there is no connection any more). */
  drained(): void;
  emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): void;
  listenerCount(event: keyof ClientEvents): number;
}

const MAX_REDIRECTS = 5;
/** CONNACK codes after which retrying can help (server busy, unavailable, rate limited). */
const RETRYABLE_5 = new Set([0x80, 0x83, 0x88, 0x89, 0x97, 0x9f]);
const RETRYABLE_3 = new Set([3]);


export class ConnectionManager {
  private stateValue: ConnectionState = { status: 'connecting', attempt: 0 };
  private connection: Connection | undefined;
  private connackValue: ConnackPacket | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private redirects = 0;
  private redirecting = false;
  private readonly backoff = new Backoff();
  private aliasSender: TopicAliasSender | undefined;
  private aliasReceiver: TopicAliasReceiver;
  private readonly aliasProperties: Properties = { topicAlias: 0 };
  private transportClosed: (() => void) | undefined;
  private readonly policy: ReconnectPolicy;
  private readonly keepalive: KeepAlive;

  constructor(
    private readonly options: ClientOptions,
    private target: Target,
    /** The protocol level in use: 'auto' starts at 5 and may step down to 4 (3.1.1). */
    public version: ProtocolVersion,
    private readonly transports: TransportFactories,
    private readonly host: ManagerHost,
  ) {
    this.policy = reconnectPolicy(options.reconnect);
    this.aliasReceiver = new TopicAliasReceiver(options.properties?.topicAliasMaximum ?? 0);
    this.keepalive = new KeepAlive({
      sendPing: () => this.send({ type: 'pingreq' }),
      deadLink: () => this.connection?.destroy(new TimeoutError('no answer to PINGREQ: the link is dead')),
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The accepted CONNACK of the current connection. */
  get connack(): ConnackPacket | undefined {
    return this.connackValue;
  }

  /** True while a CONNACK-accepted connection is up (also while `end()` drains it). */
  get isConnected(): boolean {
    const s = this.stateValue.status;
    return this.connackValue !== undefined && (s === 'connected' || s === 'disconnecting');
  }

  /** Bytes written but not sent yet (the write buffer and the transport's). */
  get buffered(): number {
    return this.connection?.buffered ?? 0;
  }

  /** Calls `host.drained()` once the current connection sent all it has (at once without one). */
  watchDrain(): void {
    if (this.connection === undefined || this.connection.isClosed) queueMicrotask(() => this.host.drained());
    else this.connection.watchDrain();
  }

  /** @internal Connection host. */
  onDrain(connection: Connection): void {
    if (connection === this.connection) this.host.drained();
  }

  /** Starts the first attempt (the state is 'connecting' until then). */
  open(): void {
    if (this.stateValue.status !== 'connecting') return;
    const factory = this.transports[this.target.protocol];
    if (factory === undefined) {
      const hint = this.target.protocol.startsWith('mqtt')
        ? ' (TCP and TLS need the Node entry: @hato/client/node)'
        : ' (no global WebSocket here: in Node < 22 use @hato/client/node)';
      const error = new TypeError(`no transport for ${this.target.protocol}://${hint}`);
      this.host.emit('error', error);
      this.close(error);
      return;
    }
    const ms = this.options.connectTimeout ?? 30_000;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => this.connection?.destroy(new TimeoutError(`no CONNACK within ${ms} ms`)), ms);
    try {
      this.connection = new Connection(factory, this.target, this.options, this.version, this, this.keepalive);
    } catch (err) {
      this.connection = undefined;
      this.lost(new TransportError(`cannot open ${this.target.protocol}://${this.target.host}:${this.target.port}: ${err}`, { cause: err }), false);
    }
  }

  send(packet: Packet): void {
    const conn = this.connection;
    if (conn === undefined) return;
    if (packet.type === 'publish' && this.aliasSender !== undefined && packet.properties?.topicAlias === undefined) {
      const alias = this.aliasSender.aliasFor(packet.topic); // > 0 known, < 0 new, 0 none
      if (alias !== 0) {
        this.sendAliased(conn, packet, alias > 0 ? alias : -alias, alias < 0);
        return;
      }
    }
    conn.send(packet);
    if (this.host.listenerCount('packetsend') > 0) this.host.emit('packetsend', packet);
  }

  /**
   * Sends a PUBLISH with a topic alias without copying it: the packet (kept as is for a
   * re-send after reconnect, when aliases start over) is patched for the encoder and
   * restored right after; a packet without properties borrows one shared object.
   */
  private sendAliased(conn: Connection, packet: PublishPacket, alias: number, isNew: boolean): void {
    const { topic, properties } = packet;
    if (properties === undefined) {
      this.aliasProperties.topicAlias = alias;
      packet.properties = this.aliasProperties;
    } else packet.properties = { ...properties, topicAlias: alias };
    if (!isNew) packet.topic = '';
    try {
      conn.send(packet);
      if (this.host.listenerCount('packetsend') > 0)
        this.host.emit('packetsend', { ...packet, properties: { ...packet.properties } });
    } catch (err) {
      // Not written: the server may not know this alias now, so start the mapping over.
      this.aliasSender?.reset();
      throw err;
    } finally {
      packet.topic = topic;
      packet.properties = properties;
    }
  }

  /** `end()` was called: no more reconnects. */
  beginEnd(): void {
    this.setState({ type: 'end' });
    clearTimeout(this.retryTimer);
  }

  /** Sends DISCONNECT (unless `force`), closes the transport, waits for it; state → closed. */
  async finishEnd(options: EndOptions): Promise<void> {
    const conn = this.connection;
    if (conn && !conn.isClosed) {
      if (options.force || this.connackValue === undefined) conn.destroy();
      else {
        const closed = new Promise<void>((resolve) => {
          this.transportClosed = resolve;
        });
        if (this.connackValue) {
          const d: DisconnectPacket = { type: 'disconnect' };
          if (this.version === 5 && options.reasonCode) d.reasonCode = options.reasonCode;
          if (this.version === 5 && options.properties) d.properties = options.properties;
          this.send(d); // [MQTT-3.14.4-1] then close the network connection
        }
        conn.end();
        if (!(await within(closed, 2000))) conn.destroy();
      }
    }
    this.setState({ type: 'closed' });
  }

  /** @internal Connection host: the transport is open, send CONNECT. */
  onOpen(connection: Connection): void {
    if (connection === this.connection) this.send(this.host.connectPacket());
  }

  /** @internal Connection host. */
  onClose(connection: Connection, error: Error | undefined): void {
    if (connection === this.connection) this.lost(error, true);
  }

  /** @internal Connection host: malformed bytes from the server. */
  onDecodeError(connection: Connection, error: DecodeError): void {
    if (connection === this.connection) this.violation(error.reasonCode, error.message, error);
  }

  /**
   * The server broke the protocol: a 5.0 DISCONNECT with `reasonCode` where the spec
   * wants one [MQTT-4.13.1-1], the connection closed, a typed error reported through
   * 'close' / 'error', and a reconnect with backoff.
   */
  violation(code: number, message: string, cause?: Error): void {
    const conn = this.connection;
    if (conn === undefined || conn.isClosed) return;
    const reasonCode = clientDisconnectReasonFor(code);
    if (this.version === 5) conn.send({ type: 'disconnect', reasonCode });
    conn.end();
    conn.destroy(new ServerProtocolError(reasonCode, message, cause === undefined ? undefined : { cause }));
  }

  /** @internal Connection host: one switch for the lifecycle packets; the rest go to the client. */
  onPacket(connection: Connection, packet: Packet): void {
    if (connection !== this.connection) return;
    if (this.host.listenerCount('packetreceive') > 0) this.host.emit('packetreceive', packet);
    if (packet.type === 'connack') this.onConnack(packet);
    // [MQTT-3.2.0-1] the first packet from the server is CONNACK.
    else if (this.connackValue === undefined) this.protocolError('first packet from the server must be CONNACK');
    else
      switch (packet.type) {
        case 'pingresp':
          break;
        case 'disconnect':
          // A 3.1.1 server never sends DISCONNECT.
          if (this.version === 5) this.onDisconnect(packet);
          else this.protocolError('DISCONNECT from a 3.1.1 server');
          break;
        case 'publish':
          if (this.version !== 5 || this.resolveAlias(packet)) this.host.packet(packet);
          break;
        case 'auth':
          this.protocolError('enhanced authentication is not supported');
          break;
        case 'connect':
        case 'subscribe':
        case 'unsubscribe':
        case 'pingreq':
          this.protocolError(`unexpected ${packet.type} from the server`);
          break;
        default:
          this.host.packet(packet);
      }
  }

  private resolveAlias(packet: Packet & { type: 'publish' }): boolean {
    try {
      packet.topic = this.aliasReceiver.resolve(packet.topic, packet.properties?.topicAlias);
      return true;
    } catch (err) {
      // 0x94 Topic Alias invalid for an alias over our maximum, 0x82 for one never set.
      const code = (err as { reasonCode?: number }).reasonCode ?? 0x82;
      this.violation(code, (err as Error).message, err as Error);
      return false;
    }
  }

  private onConnack(connack: ConnackPacket): void {
    clearTimeout(this.connectTimer);
    if (this.connackValue !== undefined) this.protocolError('second CONNACK');
    else if (connack.reasonCode !== 0) this.onRefused(connack);
    // [MQTT-3.2.2-4] a client without session state must close on Session Present 1.
    else if ((this.options.clean ?? true) && connack.sessionPresent)
      this.protocolError('Session Present with Clean Start');
    else this.onAccepted(connack);
  }

  private onAccepted(connack: ConnackPacket): void {
    const props = connack.properties;
    this.connackValue = connack;
    this.redirects = 0;
    const aliasMax = this.options.topicAliases === false ? 0 : (props?.topicAliasMaximum ?? 0);
    this.aliasSender = aliasMax > 0 ? new TopicAliasSender(aliasMax) : undefined;
    this.backoff.connected();
    this.keepalive.start(props?.serverKeepAlive ?? this.options.keepalive ?? 60, this.options.pingTimeout);
    this.setState({ type: 'connack', sessionPresent: connack.sessionPresent });
    this.host.accepted(connack);
  }

  private onRefused(connack: ConnackPacket): void {
    const code = connack.reasonCode;
    const props = connack.properties;
    const error = new ConnectError(code, this.version, props?.reasonString, props?.serverReference);
    if (this.version === 5 && code === 0x84) this.refusedVersion(error);
    else {
      this.host.emit('error', error);
      const retry = this.redirect(code, props?.serverReference) || (this.version === 5 ? RETRYABLE_5 : RETRYABLE_3).has(code);
      this.drop(error, retry);
    }
  }

  /** @internal Connection host: a 3.x CONNACK refusal (return code 1..5) read while speaking 5.0. */
  onLegacyConnack(connection: Connection, returnCode: number): void {
    if (connection !== this.connection) return;
    clearTimeout(this.connectTimer);
    this.refusedVersion(protocolRefusedError(returnCode));
  }

  /** The broker does not speak 5.0: with protocolVersion 'auto', try 3.1.1 at once; else give up. */
  private refusedVersion(error: ConnectError): void {
    const auto = this.options.protocolVersion === 'auto' && this.version === 5;
    if (!auto) this.host.emit('error', error);
    if (auto) {
      this.version = 4;
      this.redirecting = true;
    }
    this.drop(error, auto);
  }

  private onDisconnect(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const props = packet.properties;
    const error = new DisconnectError(code, props?.reasonString, props?.serverReference);
    this.host.emit('disconnect', packet);
    // 0x8E Session taken over: another client uses our id; reconnecting would fight it.
    this.drop(error, this.redirect(code, props?.serverReference) || code !== 0x8e);
  }

  /** Closes the current connection; `retry` false makes the client give up. */
  private drop(error: Error, retry: boolean): void {
    const conn = this.connection;
    if (retry) {
      conn?.destroy(error);
      return;
    }
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
    this.violation(0x82, message);
  }

  /** The connection is gone; `retry` false means the client must give up. */
  private lost(error: Error | undefined, retry: boolean): void {
    clearTimeout(this.connectTimer);
    this.keepalive.stop();
    this.connection = undefined;
    const hadConnack = this.connackValue !== undefined;
    this.connackValue = undefined;
    this.aliasSender = undefined;
    this.aliasReceiver = new TopicAliasReceiver(this.options.properties?.topicAliasMaximum ?? 0);
    this.host.lostConnection();
    this.host.drained(); // its unsent bytes are gone: nobody waits for them
    this.host.emit('close', error);
    if (error !== undefined && !(error instanceof ConnectError)) this.host.emit('error', error);
    const status = this.stateValue.status;
    if (status === 'disconnecting') this.transportClosed?.();
    if (status !== 'connecting' && status !== 'connected') return;
    const canRetry = retry && this.policy !== null;
    this.setState(error ? { type: 'lost', retry: canRetry, error } : { type: 'lost', retry: canRetry });
    if (hadConnack) this.host.emit('offline');
    const s = this.stateValue as ConnectionState;
    if (s.status !== 'offline' || this.policy === null || s.attempt > this.policy.maxAttempts) {
      this.close(error);
      return;
    }
    const delay = this.backoff.next(this.policy, s.attempt, hadConnack, this.redirecting);
    this.redirecting = false;
    this.retryTimer = setTimeout(() => {
      this.setState({ type: 'retry' });
      this.host.emit('reconnect');
      this.open();
    }, delay);
  }

  private close(error: Error | undefined): void {
    if (this.stateValue.status !== 'closed') this.setState(error ? { type: 'closed', error } : { type: 'closed' });
    this.host.gaveUp(error);
  }

  private setState(event: ConnectionEvent): void {
    this.stateValue = transition(this.stateValue, event);
  }
}
