import type { Duplex } from 'node:stream';
import type { TransportInfo } from './listeners/gate.js';
import { Decoder, encode, type Packet, type ProtocolVersion, type TopicAliasReceiver, type TopicAliasSender, type Will } from '@hato/protocol';
import type { AuthState } from './auth/auth-state.js';
import type { Broker } from './broker.js';
import type { Client } from './client.js';
import { ConnectionLostError, ConnectTimeoutError, InternalError, KeepAliveTimeoutError } from './errors.js';
import { dispatch, failConnection } from './handlers/index.js';
import { ReadHold } from './read-hold.js';
import type { Session } from './session/session.js';
import { joinPatched } from './write-batch.js';

/**
 * Connection life cycle, one transition each way:
 * awaiting-connect → connecting (CONNECT being processed, hooks may run)
 * [→ authenticating (5.0 enhanced authentication: AUTH packets only)] → connected → closed.
 */
export type ConnectionState = 'awaiting-connect' | 'connecting' | 'authenticating' | 'connected' | 'closed';

/**
 * One client connection over any duplex byte stream: decoding, the keep alive timer and a
 * batched write queue (packets of one event-loop turn leave in one write). Packets are handled one at
 * a time in order; a handler that returns a promise pauses the stream until it settles, and so
 * does a read hold (publisher back-pressure, see ReadHold).
 */
export class Connection implements Client {
  state: ConnectionState = 'awaiting-connect';
  readonly broker: Broker;
  readonly stream: Duplex;
  readonly decoder: Decoder;
  id = '';
  protocolVersion: ProtocolVersion | undefined;
  username: string | undefined;
  keepAlive = 0;
  readonly remoteAddress: string | undefined;
  readonly transport: TransportInfo;
  droppedMessages = 0;
  session: Session | undefined;
  will: Will | undefined;
  /** Outgoing QoS 1/2 window: the client's Receive Maximum (5.0) or maxInflightMessages. */
  sendWindow = 20;
  /** Largest packet the client accepts (5.0 Maximum Packet Size) [MQTT-3.1.2-25]. */
  maxOutgoingPacketSize = Number.POSITIVE_INFINITY;
  aliasReceiver: TopicAliasReceiver | undefined;
  /** Aliases the broker assigns toward this client (5.0, when its Topic Alias Maximum > 0). */
  aliasSender: TopicAliasSender | undefined;
  /** 5.0 Request Problem Information: false → no Reason String / User Property on acks [MQTT-3.1.2-29]. */
  requestProblemInformation = true;
  /** 5.0 enhanced authentication: the method used and any exchange in progress. */
  auth: AuthState | undefined;
  /** Session Expiry Interval the CONNECT asked for (5.0), for the DISCONNECT rule [MQTT-3.14.2-2]. */
  connectSessionExpiry = 0;
  /** Incoming QoS 1 messages whose async hook has not finished (count toward Receive Maximum). */
  incomingPending = 0;
  /** PUBACKs held back by flow control (unacknowledged QoS 1: they count toward Receive Maximum). */
  heldQos1Acks = 0;
  /** Publisher back-pressure: paused reading while subscriber sockets it floods drain. */
  readonly readHold: ReadHold = new ReadHold(this);

  private readonly pending: Uint8Array[] = [];
  /** Per pending chunk: a packet id to patch into a copy of it at flush, or 0 (sent as is). */
  private readonly pendingIds: number[] = [];
  private pendingBytes = 0;
  private pendingPublishes = 0;
  /** Bytes of this turn's PUBLISH packets (charged to the memory budget). */
  private pendingPublishBytes = 0;
  /** PUBLISH packets in writes the stream has not completed; `writeCounts` has them per write, in order. */
  private backloggedPublishes = 0;
  private readonly writeCounts: number[] = [];
  /** PUBLISH bytes per write the stream has not completed, in order (released from the memory budget as they complete). */
  private readonly writeSizes: number[] = [];
  /** Bytes this connection has charged to the broker's memory budget (`outputBytes`) and not released. */
  private outputCharged = 0;
  private flushScheduled = false;
  private busy = false;
  private lastActivity = Date.now();
  private keepAliveMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Online sessions whose full queue holds this client's PUBACK/PUBREC (flow control, see Delivery). */
  private ackHolds: Session[] = [];
  /** Acks held back, in order [MQTT-4.6.0-2]: packetId | reasonCode << 16 | PUBREC_FLAG. */
  private heldAcks: number[] = [];
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(broker: Broker, stream: Duplex, transport: TransportInfo) {
    this.broker = broker;
    this.stream = stream;
    this.transport = transport;
    this.decoder = new Decoder({ maximumPacketSize: broker.options.maximumPacketSize });
    this.remoteAddress = (stream as { remoteAddress?: string }).remoteAddress;
    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
    stream.on('end', this.onEnd);
    stream.on('drain', this.onDrain);
    this.timer = setTimeout(this.onConnectTimeout, broker.options.connectTimeoutMs);
  }

  // ---- incoming -------------------------------------------------------------------------

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.state === 'closed') return;
    this.broker.metrics.bytesReceived += chunk.byteLength;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      failConnection(this, err);
      return;
    }
    this.processPackets();
  };

  /**
   * Handles every complete packet the decoder holds. The connection's error boundary:
   * whatever the decoder, a handler or a hook throws ends this connection only, through
   * `failConnection` (which never throws), never the caller: a socket, timer or promise
   * callback.
   */
  private processPackets(): void {
    try {
      this.handlePackets();
    } catch (err) {
      failConnection(this, err);
    }
  }

  private handlePackets(): void {
    let stamped = false;
    while (!this.busy && !this.readHold.paused && this.state !== 'closed') {
      const packet: Packet | null = this.decoder.next();
      if (packet === null) return;
      // Keep alive counts whole Control Packets, not bytes: a peer trickling a packet that
      // never completes is not alive [MQTT-3.1.2-24] (5.0: [MQTT-3.1.2-22]).
      if (!stamped) {
        this.lastActivity = Date.now();
        stamped = true;
      }
      const pending = dispatch(this, packet);
      if (pending !== undefined) {
        this.busy = true;
        this.stream.pause();
        pending.then(this.onHandlerDone, this.onHandlerFailed);
      }
    }
  }

  private readonly onHandlerDone = (): void => {
    this.busy = false;
    if (this.state === 'closed' || this.readHold.paused) return;
    this.stream.resume();
    this.processPackets();
  };

  /**
   * ReadHold: reading may go on (on a turn of its own). The pause was the broker's doing:
   * the client's packets waiting in the decoder were received, so keep alive counts them.
   */
  resumeAfterHold(): void {
    if (this.state === 'closed' || this.busy) return;
    this.lastActivity = Date.now();
    this.stream.resume();
    this.processPackets();
  }

  private readonly onHandlerFailed = (err: unknown): void => {
    this.busy = false;
    failConnection(this, err);
  };

  // ---- timers ---------------------------------------------------------------------------

  /** Runs `work` for this connection inside its error boundary (timers, stream events). */
  guard(work: (connection: Connection) => void): void {
    try {
      work(this);
    } catch (err) {
      failConnection(this, err);
    }
  }

  private readonly onConnectTimeout = (): void => {
    this.timer = undefined;
    if (this.state === 'awaiting-connect' || this.state === 'connecting' || this.state === 'authenticating') {
      failConnection(this, new ConnectTimeoutError(this.broker.options.connectTimeoutMs));
    }
  };

  /** Called once CONNECT is accepted: stops the connect timeout. */
  stopConnectTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts keep alive supervision: silence for 1.5 × keepAlive closes [MQTT-3.1.2-24]. */
  startKeepAlive(seconds: number): void {
    this.keepAlive = seconds;
    if (seconds === 0) return;
    this.keepAliveMs = seconds * 1500;
    this.timer = setTimeout(this.onKeepAliveTimer, this.keepAliveMs);
  }

  private readonly onKeepAliveTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'closed') return;
    // A client the broker stopped reading (read hold) is not silent: its packets wait unread.
    if (this.readHold.paused) this.lastActivity = Date.now();
    const silent = Date.now() - this.lastActivity;
    if (silent >= this.keepAliveMs) {
      failConnection(this, new KeepAliveTimeoutError());
      return;
    }
    this.timer = setTimeout(this.onKeepAliveTimer, this.keepAliveMs - silent);
  };

  // ---- outgoing -------------------------------------------------------------------------

  /**
   * Encodes and queues a control packet (acks, CONNACK, ...): never dropped. A packet that
   * cannot be encoded is a broker bug: it ends this connection (not the caller's, which may
   * be another client's handler delivering to this one).
   */
  send(packet: Packet): void {
    this.sendAs(packet, this.protocolVersion ?? 4);
  }

  /** Like send, for a fixed version (CONNACK refusals before the version is settled). */
  sendAs(packet: Packet, version: ProtocolVersion): void {
    let bytes: Uint8Array;
    try {
      bytes = encode(packet, version);
    } catch (err) {
      failConnection(this, new InternalError(err));
      return;
    }
    this.write(bytes);
  }

  /**
   * Queues an encoded PUBLISH (counts toward the slow-consumer bound). With a `packetId`,
   * `bytes` are shared by other subscribers and not modified: the id goes into the copy made
   * at flush, so a QoS 1/2 delivery costs no allocation of its own.
   */
  sendPublish(bytes: Uint8Array, packetId = 0): void {
    if (this.state === 'closed') return;
    // Message bytes count in the broker's memory budget until the stream has written them
    // (control packets answer what was read: bounded per read, not charged).
    const size = bytes.byteLength;
    this.pendingPublishes++;
    this.pendingPublishBytes += size;
    this.outputCharged += size;
    this.broker.memory.chargeOutput(size);
    this.write(bytes, packetId);
  }

  /**
   * PUBACK (QoS 1) or PUBREC (QoS 2) for an incoming PUBLISH, in order; held back while a
   * session this client floods is over its queue high-water mark. `reasonCode` 0 = Success.
   */
  sendAck(qos: 1 | 2, packetId: number, reasonCode: number): void {
    if (this.ackHolds.length !== 0) {
      this.heldAcks.push(packetId | (reasonCode << 16) | (qos === 2 ? PUBREC_FLAG : 0));
      if (qos === 1) this.heldQos1Acks++;
      return;
    }
    this.writeAck(qos, packetId, reasonCode);
  }

  private writeAck(qos: 1 | 2, packetId: number, reasonCode: number): void {
    if (reasonCode !== 0) {
      this.send({ type: qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode });
      return;
    }
    // Success needs no reason code in 5.0 either (§3.4.2.1): the 3.x bytes fit both.
    this.write(qos === 1 ? PUBACK_SUCCESS : PUBREC_SUCCESS, packetId);
  }

  /** Delivery: `session` is over its high-water mark because of this client; hold its acks. */
  holdAcks(session: Session): void {
    this.ackHolds.push(session);
    if (this.holdTimer === undefined) this.holdTimer = setTimeout(this.onHoldExpired, HOLD_LIMIT_MS);
  }

  /** Delivery: `session` drained; once no session holds this client, its held acks go out. */
  releaseAcks(session: Session): void {
    const index = this.ackHolds.indexOf(session);
    if (index === -1) return;
    this.ackHolds.splice(index, 1);
    if (this.ackHolds.length === 0) this.releaseHeldAcks();
  }

  private readonly onHoldExpired = (): void => {
    this.holdTimer = undefined;
    this.guard(expireHold);
  };

  /** @internal the hold timer fired: see `onHoldExpired`. */
  expireHold(): void {
    const sessions = this.ackHolds;
    this.ackHolds = [];
    this.broker.delivery.holdExpired(this, sessions);
    this.releaseHeldAcks();
  }

  private releaseHeldAcks(): void {
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const held = this.heldAcks;
    if (held.length === 0) return;
    this.heldAcks = [];
    this.heldQos1Acks = 0;
    for (const ack of held) this.writeAck(ack & PUBREC_FLAG ? 2 : 1, ack & 0xffff, (ack >> 16) & 0xff);
  }

  /** True when the client's socket backlog is over the slow-consumer bound. */
  isCongested(): boolean {
    return this.backlogLevel() === 2;
  }

  /**
   * The socket backlog (bytes the stream holds plus this turn's unflushed packets; PUBLISH
   * packets not yet handed to the kernel) against the slow-consumer bound: 2 over it
   * (congested), 1 over half of it (high-water mark: publishers are held), else 0.
   */
  backlogLevel(): 0 | 1 | 2 {
    const options = this.broker.options;
    const bytes = this.stream.writableLength + this.pendingBytes;
    const packets = this.backloggedPublishes + this.pendingPublishes;
    if (bytes > options.maxWriteQueueBytes || packets > options.maxWriteQueuePackets) return 2;
    return bytes * 2 > options.maxWriteQueueBytes || packets * 2 > options.maxWriteQueuePackets ? 1 : 0;
  }

  private write(bytes: Uint8Array, packetId = 0): void {
    if (this.state === 'closed') return;
    this.pending.push(bytes);
    this.pendingIds.push(packetId);
    this.pendingBytes += bytes.byteLength;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After every read of this event-loop turn (not per read): fewer, larger writes [DESIGN].
      setImmediate(flushConnection, this);
    }
  }

  /** Writes everything queued in one `write` call. */
  flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    if (pending.length === 0) return;
    const ids = this.pendingIds;
    const publishes = this.pendingPublishes;
    const stream = this.stream;
    const open = !stream.destroyed && stream.writable;
    const chunk = !open ? undefined : pending.length === 1 && ids[0] === 0 ? pending[0]! : joinPatched(pending, ids, this.pendingBytes);
    const bytes = this.pendingPublishBytes;
    // The queue arrays are reused: `chunk` is a copy, or the single queued packet itself.
    pending.length = 0;
    ids.length = 0;
    this.pendingBytes = 0;
    this.pendingPublishes = 0;
    this.pendingPublishBytes = 0;
    if (chunk === undefined) {
      this.releaseOutput(bytes);
      return;
    }
    this.backloggedPublishes += publishes;
    this.broker.metrics.bytesSent += chunk.byteLength;
    this.broker.metrics.messagesSent += publishes;
    this.writeCounts.push(publishes);
    this.writeSizes.push(bytes);
    // false: 'drain' will drain the session queue and release held publishers.
    if (!stream.write(chunk, this.onWritten)) return;
    // Accepted under the stream's high-water mark: publishers held for this socket may go on,
    // and messages queued while this tick was over the bound go now.
    if (this.readHold.engaged) this.readHold.drained();
    const session = this.session;
    if (this.state === 'connected' && session !== undefined && session.queueLength > 0) this.broker.delivery.drain(session);
  }

  /** A write completed (writes complete in order): its PUBLISH packets left the backlog. */
  private readonly onWritten = (): void => {
    this.backloggedPublishes -= this.writeCounts.shift() ?? 0;
    this.releaseOutput(this.writeSizes.shift() ?? 0);
  };

  /** Output bytes left the broker's memory budget (written, or the stream is gone); never more than charged. */
  private releaseOutput(bytes: number): void {
    const released = Math.min(bytes, this.outputCharged);
    if (released === 0) return;
    this.outputCharged -= released;
    this.broker.memory.releaseOutput(released);
  }

  private readonly onDrain = (): void => {
    this.guard(drainConnection);
  };

  /** @internal the socket drained: publishers held for it go on, its session queue drains. */
  drained(): void {
    if (this.readHold.engaged) this.readHold.drained();
    if (this.state === 'connected' && this.session !== undefined) this.broker.delivery.drain(this.session);
  }

  // ---- closing --------------------------------------------------------------------------

  private readonly onError = (err: Error): void => {
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError(err));
  };

  private readonly onEnd = (): void => {
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError());
  };

  private readonly onClose = (): void => {
    // The stream is gone, and with it whatever it still held: out of the memory budget.
    this.releaseOutput(this.outputCharged);
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError());
  };

  /**
   * Ends the connection: flushes what is queued (the dispatcher queued any CONNACK or
   * DISCONNECT just before), closes the stream, detaches the session. `publishWill` says
   * whether the will goes out (it is always cleared on a normal DISCONNECT).
   */
  terminate(reason: Error | undefined, publishWill: boolean): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.flush();
    this.state = 'closed';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.readHold.close();
    const stream = this.stream;
    if (!stream.destroyed) {
      stream.end();
      setTimeout(destroyStream, 1000, stream).unref();
    }
    this.broker.connectionClosed(this, wasConnected, reason, publishWill);
  }

  /**
   * The last resort when closing itself failed: destroys the stream without another write,
   * counted, and detaches what it can. Never throws.
   */
  abort(err: unknown): void {
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.timer = undefined;
    this.holdTimer = undefined;
    this.pending.length = 0;
    this.pendingIds.length = 0;
    this.pendingBytes = 0;
    const broker = this.broker;
    try {
      broker.metrics.abortedConnections++;
      broker.options.logger.error({ clientId: this.id, err }, 'closing a connection failed: destroyed it');
      this.readHold.close();
      this.stream.destroy();
      broker.connectionClosed(this, wasConnected, err instanceof Error ? err : undefined, false);
    } catch (finalErr) {
      broker.options.logger.error({ clientId: this.id, err: finalErr }, 'detaching an aborted connection failed');
    }
  }
}

/** Longest a publisher's acks are held for a session that does not drain (flow control). */
const HOLD_LIMIT_MS = 1000;
const PUBREC_FLAG = 0x1000000;

/** Success PUBACK / PUBREC with packet id 0, patched at flush (see `joinPatched`). */
const PUBACK_SUCCESS = new Uint8Array([0x40, 2, 0, 0]);
const PUBREC_SUCCESS = new Uint8Array([0x50, 2, 0, 0]);

function flushConnection(connection: Connection): void {
  connection.guard(flushGuarded);
}

function flushGuarded(connection: Connection): void {
  connection.flush();
}

function expireHold(connection: Connection): void {
  connection.expireHold();
}

function drainConnection(connection: Connection): void {
  connection.drained();
}

function destroyStream(stream: Duplex): void {
  if (!stream.destroyed) stream.destroy();
}
