import type { Duplex } from 'node:stream';
import type { TransportInfo } from './listeners/gate.js';
import { Decoder, encode, type Packet, type ProtocolVersion, type TopicAliasReceiver, type TopicAliasSender, type Will } from '@hato/protocol';
import type { AuthState } from './auth/auth-state.js';
import type { Broker } from './broker.js';
import type { Client } from './client.js';
import type { CommitWaiter } from './journal.js';
import { ConnectionLostError, ConnectTimeoutError, InternalError, KeepAliveTimeoutError } from './errors.js';
import { dispatch, failConnection } from './handlers/index.js';
import { MQTT_MAX_PACKET_SIZE } from './options.js';
import { ReadHold } from './read-hold.js';
import type { Session } from './session/session.js';
import { timerWheel, type WheelEntry } from './timer-wheel.js';
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
 *
 * Idle, it costs little more than its socket [DESIGN]: its stream listeners are functions shared
 * by all connections (the stream points back to it), its CONNECT timeout and keep alive are
 * entries in the process's timer wheel, and its queues exist only while they hold something.
 */
export class Connection implements Client, WheelEntry, CommitWaiter {
  state: ConnectionState = 'awaiting-connect';
  readonly broker: Broker;
  readonly stream: Duplex;
  readonly decoder: Decoder;
  id = '';
  protocolVersion: ProtocolVersion | undefined;
  username: string | undefined;
  keepAlive = 0;
  /** Read from the stream when first asked for (node makes an object for it), then kept. */
  private address: string | undefined;
  readonly transport: TransportInfo;
  droppedMessages = 0;
  session: Session | undefined;
  will: Will | undefined;
  /** Cluster: its will is kept by the bus too (fired by whoever reaps this node if it dies). */
  clusterWill = false;
  /** Outgoing QoS 1/2 window: the client's Receive Maximum (5.0) or maxInflightMessages. */
  sendWindow = 20;
  /** Largest packet the client accepts (5.0 Maximum Packet Size) [MQTT-3.1.2-25]. */
  maxOutgoingPacketSize = MQTT_MAX_PACKET_SIZE; // no packet is larger: no limit (an integer field, not a heap number)
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
  /** Made the first time this connection is held or holds a publisher (see `readHold`). */
  private hold: ReadHold | undefined;

  /** Packets of this turn, not yet written (undefined until the first). */
  private pending: Uint8Array[] | undefined;
  /** Per pending chunk: a packet id to patch into a copy of it at flush, or 0 (sent as is). */
  private pendingIds: number[] | undefined;
  private pendingBytes = 0;
  private pendingPublishes = 0;
  /** Bytes of this turn's PUBLISH packets (charged to the memory budget). */
  private pendingPublishBytes = 0;
  /** PUBLISH packets in writes the stream has not completed; `writeCounts` has them per write, in order. */
  private backloggedPublishes = 0;
  private writeCounts: number[] | undefined;
  /** PUBLISH bytes per write the stream has not completed, in order (released from the memory budget as they complete). */
  private writeSizes: number[] | undefined;
  /** The callback of writes that carry PUBLISH packets (made at the first such write). */
  private onWritten: (() => void) | undefined;
  /** Bytes this connection has charged to the broker's memory budget (`outputBytes`) and not released. */
  private outputCharged = 0;
  private flushScheduled = false;
  private busy = false;
  /** Ms since CLOCK_ORIGIN as an int32 (see `clock`): a small integer, no heap number per connection. */
  private lastActivity = clock(Date.now());
  private keepAliveMs = 0;
  /** The wheel's deadline is the CONNECT timeout (until `stopConnectTimer`), then keep alive. */
  private awaitingConnect = true;
  /** @internal TimerWheel bookkeeping. */
  wheelSlot = -1;
  /** @internal */
  wheelIndex = 0;
  /** @internal */
  wheelDue = 0;
  /** Online sessions whose full queue holds this client's PUBACK/PUBREC (flow control, see Delivery). */
  private ackHolds: object[] | undefined;
  /** Acks held back, in order [MQTT-4.6.0-2]: packetId | reasonCode << 16 | PUBREC_FLAG. */
  private heldAcks: number[] | undefined;
  /**
   * Acks waiting for the journal's commit, in order: packetId | reasonCode << 16 | kind << 24
   * (PUBACK, PUBREC, PUBREL, PUBCOMP); undefined when none wait.
   */
  private commitAcks: number[] | undefined;
  /** @internal The journal position the acks in `commitAcks` wait for. */
  commitPosition = 0;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(broker: Broker, stream: Duplex, transport: TransportInfo) {
    this.broker = broker;
    this.stream = stream;
    this.transport = transport;
    this.decoder = new Decoder({ maximumPacketSize: broker.options.maximumPacketSize });
    (stream as OwnedStream)[CONNECTION] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    stream.on('end', onStreamEnd);
    stream.on('drain', onStreamDrain);
    timerWheel.schedule(this, Date.now() + broker.options.connectTimeoutMs);
  }

  get remoteAddress(): string | undefined {
    this.address ??= (this.stream as { remoteAddress?: string }).remoteAddress;
    return this.address;
  }

  /** Publisher back-pressure: paused reading while subscriber sockets it floods drain. */
  get readHold(): ReadHold {
    this.hold ??= new ReadHold(this);
    return this.hold;
  }

  /** Reading is paused by a hold (publisher back-pressure, memory budget). */
  private get held(): boolean {
    return this.hold?.paused === true;
  }

  // ---- incoming -------------------------------------------------------------------------

  /** @internal the stream's 'data'. */
  received(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    this.broker.metrics.bytesReceived += chunk.byteLength;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      failConnection(this, err);
      return;
    }
    this.processPackets();
  }

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
    while (!this.busy && !this.held && this.state !== 'closed') {
      const packet: Packet | null = this.decoder.next();
      if (packet === null) return;
      // Keep alive counts whole Control Packets, not bytes: a peer trickling a packet that
      // never completes is not alive [MQTT-3.1.2-24] (5.0: [MQTT-3.1.2-22]).
      if (!stamped) {
        this.lastActivity = clock(Date.now());
        stamped = true;
      }
      const pending = dispatch(this, packet);
      if (pending !== undefined) {
        this.busy = true;
        this.stream.pause();
        // Closures only on this (hook) path: nothing per connection while it is idle.
        pending.then(
          () => this.handlerDone(),
          (err: unknown) => this.handlerFailed(err),
        );
      }
    }
  }

  private handlerDone(): void {
    this.busy = false;
    if (this.state === 'closed' || this.held) return;
    this.stream.resume();
    this.processPackets();
  }

  /**
   * ReadHold: reading may go on (on a turn of its own). The pause was the broker's doing:
   * the client's packets waiting in the decoder were received, so keep alive counts them.
   */
  resumeAfterHold(): void {
    if (this.state === 'closed' || this.busy) return;
    this.lastActivity = clock(Date.now());
    this.stream.resume();
    this.processPackets();
  }

  private handlerFailed(err: unknown): void {
    this.busy = false;
    failConnection(this, err);
  }

  // ---- timers ---------------------------------------------------------------------------

  /** Runs `work` for this connection inside its error boundary (timers, stream events). */
  guard(work: (connection: Connection) => void): void {
    try {
      work(this);
    } catch (err) {
      failConnection(this, err);
    }
  }

  /** @internal TimerWheel: the CONNECT timeout or the keep alive deadline came. */
  onWheelDue(now: number): void {
    try {
      this.deadlineReached(now);
    } catch (err) {
      failConnection(this, err);
    }
  }

  private deadlineReached(now: number): void {
    if (this.state === 'closed') return;
    if (this.awaitingConnect) {
      if (this.state === 'awaiting-connect' || this.state === 'connecting' || this.state === 'authenticating') {
        failConnection(this, new ConnectTimeoutError(this.broker.options.connectTimeoutMs));
      }
      return;
    }
    if (this.keepAliveMs === 0) return;
    // A client the broker stopped reading (read hold) is not silent: its packets wait unread.
    const since = clock(now);
    if (this.held) this.lastActivity = since;
    const silent = (since - this.lastActivity) | 0;
    if (silent >= this.keepAliveMs) {
      failConnection(this, new KeepAliveTimeoutError());
      return;
    }
    timerWheel.schedule(this, now + this.keepAliveMs - silent);
  }

  /** Called once CONNECT is accepted: stops the connect timeout. */
  stopConnectTimer(): void {
    this.awaitingConnect = false;
    timerWheel.cancel(this);
  }

  /** Starts keep alive supervision: silence for 1.5 × keepAlive closes [MQTT-3.1.2-24]. */
  startKeepAlive(seconds: number): void {
    this.keepAlive = seconds;
    if (seconds === 0) return;
    this.keepAliveMs = seconds * 1500;
    this.awaitingConnect = false;
    timerWheel.schedule(this, Date.now() + this.keepAliveMs);
  }

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
    if (this.ackHolds !== undefined && this.ackHolds.length !== 0) {
      (this.heldAcks ??= []).push(packetId | (reasonCode << 16) | (qos === 2 ? PUBREC_FLAG : 0));
      if (qos === 1) this.heldQos1Acks++;
      return;
    }
    this.sendAfterCommit(qos, packetId, reasonCode);
  }

  /**
   * Sends an ack (PUBACK, PUBREC, PUBREL, PUBCOMP) once every change of durable state recorded
   * so far is stored [DESIGN: Durable state]: a QoS 1/2 message is stored before it is
   * acknowledged, an incoming QoS 2 id is released and an outgoing PUBREC'd before PUBCOMP /
   * PUBREL say so. At once when the journal is idle (always, without persistent sessions);
   * otherwise after the commit, in order.
   */
  sendAfterCommit(kind: AckKind, packetId: number, reasonCode: number): void {
    const journal = this.broker.journal;
    if (this.commitAcks === undefined && journal.idle) {
      this.writeAck(kind, packetId, reasonCode);
      return;
    }
    if (this.commitAcks === undefined) {
      this.commitAcks = [];
      journal.wait(this);
    }
    this.commitAcks.push(packetId | (reasonCode << 16) | (kind << 24));
    this.commitPosition = journal.position;
  }

  /** @internal Journal: the acks waiting for a commit go out. */
  commitDone(): void {
    const acks = this.commitAcks;
    this.commitAcks = undefined;
    if (acks === undefined || this.state === 'closed') return;
    for (const ack of acks) this.writeAck((ack >>> 24) as AckKind, ack & 0xffff, (ack >> 16) & 0xff);
    this.flush();
  }

  /** @internal Journal: the commit failed; what it held is not acknowledged (the client sends it again). */
  commitFailed(err: unknown): void {
    this.commitAcks = undefined;
    failConnection(this, new InternalError(err));
  }

  private writeAck(kind: AckKind, packetId: number, reasonCode: number): void {
    if (reasonCode !== 0) {
      if (kind === PUBACK) this.send({ type: 'puback', packetId, reasonCode });
      else if (kind === PUBREC) this.send({ type: 'pubrec', packetId, reasonCode });
      else if (kind === PUBREL) this.send({ type: 'pubrel', packetId, reasonCode });
      else this.send({ type: 'pubcomp', packetId, reasonCode });
      return;
    }
    // Success needs no reason code in 5.0 either (§3.4.2.1): the 3.x bytes fit both.
    this.write(ACK_SUCCESS[kind], packetId);
  }

  /** Delivery: `session` is over its high-water mark because of this client; hold its acks. */
  holdAcks(session: object): void {
    (this.ackHolds ??= []).push(session);
    if (this.holdTimer === undefined) this.holdTimer = setTimeout(holdTimerFired, HOLD_LIMIT_MS, this);
  }

  /** Delivery: `session` drained; once no session holds this client, its held acks go out. */
  releaseAcks(session: object): void {
    const holds = this.ackHolds;
    const index = holds === undefined ? -1 : holds.indexOf(session);
    if (index === -1) return;
    holds!.splice(index, 1);
    if (holds!.length === 0) {
      this.ackHolds = undefined;
      this.releaseHeldAcks();
    }
  }

  /** @internal the hold timer fired. */
  holdTimerFired(): void {
    this.holdTimer = undefined;
    this.guard(expireHold);
  }

  /** @internal the hold timer fired: see `holdTimerFired`. */
  expireHold(): void {
    const sessions = this.ackHolds;
    this.ackHolds = undefined;
    if (sessions !== undefined) this.broker.delivery.holdExpired(this, sessions);
    this.releaseHeldAcks();
  }

  private releaseHeldAcks(): void {
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const held = this.heldAcks;
    if (held === undefined) return;
    this.heldAcks = undefined;
    this.heldQos1Acks = 0;
    for (const ack of held) this.sendAfterCommit(ack & PUBREC_FLAG ? PUBREC : PUBACK, ack & 0xffff, (ack >> 16) & 0xff);
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
    (this.pending ??= []).push(bytes);
    (this.pendingIds ??= []).push(packetId);
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
    if (pending === undefined || pending.length === 0) return;
    const ids = this.pendingIds!;
    const publishes = this.pendingPublishes;
    const stream = this.stream;
    const open = !stream.destroyed && stream.writable;
    const chunk = !open ? undefined : pending.length === 1 && ids[0] === 0 ? pending[0]! : joinPatched(pending, ids, this.pendingBytes);
    const bytes = this.pendingPublishBytes;
    // The queue arrays are reused (emptied: no backing store kept): `chunk` is a copy, or the single queued packet itself.
    pending.length = 0;
    ids.length = 0;
    this.pendingBytes = 0;
    this.pendingPublishes = 0;
    this.pendingPublishBytes = 0;
    if (chunk === undefined) {
      this.releaseOutput(bytes);
      return;
    }
    this.broker.metrics.bytesSent += chunk.byteLength;
    // Only writes that carry PUBLISH packets are tracked to completion (the backlog, the
    // memory budget): an idle connection's CONNACK leaves no callback or array behind.
    let written: (() => void) | undefined;
    if (publishes !== 0) {
      this.backloggedPublishes += publishes;
      this.broker.metrics.messagesSent += publishes;
      (this.writeCounts ??= []).push(publishes);
      (this.writeSizes ??= []).push(bytes);
      written = this.onWritten ??= () => this.written();
    }
    // false: 'drain' will drain the session queue and release held publishers.
    if (!stream.write(chunk, written)) return;
    // Accepted under the stream's high-water mark: publishers held for this socket may go on,
    // and messages queued while this tick was over the bound go now.
    if (this.hold?.engaged) this.hold.drained();
    const session = this.session;
    if (this.state === 'connected' && session !== undefined && session.queueLength > 0) this.broker.delivery.drain(session);
  }

  /** A write with PUBLISH packets completed (writes complete in order): they left the backlog. */
  private written(): void {
    const counts = this.writeCounts;
    const sizes = this.writeSizes;
    if (counts === undefined || sizes === undefined) return;
    this.backloggedPublishes -= counts.shift() ?? 0;
    this.releaseOutput(sizes.shift() ?? 0);
    if (counts.length === 0) {
      // Emptied by length, which drops the backing store that shift() leaves behind.
      counts.length = 0;
      sizes.length = 0;
    }
  }

  /** Output bytes left the broker's memory budget (written, or the stream is gone); never more than charged. */
  private releaseOutput(bytes: number): void {
    const released = Math.min(bytes, this.outputCharged);
    if (released === 0) return;
    this.outputCharged -= released;
    this.broker.memory.releaseOutput(released);
  }

  /** @internal the socket drained: publishers held for it go on, its session queue drains. */
  drained(): void {
    if (this.hold?.engaged) this.hold.drained();
    if (this.state === 'connected' && this.session !== undefined) this.broker.delivery.drain(this.session);
  }

  // ---- closing --------------------------------------------------------------------------

  /** @internal the stream's 'error'. */
  streamError(err: Error): void {
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError(err));
  }

  /** @internal the stream's 'end'. */
  streamEnded(): void {
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError());
  }

  /** @internal the stream's 'close'. */
  streamClosed(): void {
    // The stream is gone, and with it whatever it still held: out of the memory budget.
    this.releaseOutput(this.outputCharged);
    if (this.state !== 'closed') failConnection(this, new ConnectionLostError());
  }

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
    timerWheel.cancel(this);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.hold?.close();
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
    timerWheel.cancel(this);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.pending = undefined;
    this.pendingIds = undefined;
    this.pendingBytes = 0;
    const broker = this.broker;
    try {
      broker.metrics.abortedConnections++;
      broker.options.logger.error({ clientId: this.id, err }, 'closing a connection failed: destroyed it');
      this.hold?.close();
      this.stream.destroy();
      broker.connectionClosed(this, wasConnected, err instanceof Error ? err : undefined, false);
    } catch (finalErr) {
      broker.options.logger.error({ clientId: this.id, err: finalErr }, 'detaching an aborted connection failed');
    }
  }
}

/** Origin of `lastActivity` (epoch ms). */
const CLOCK_ORIGIN = Date.now();

/**
 * Epoch ms as ms since CLOCK_ORIGIN, wrapped to an int32: differences taken with `| 0` are
 * right for spans under 24 days (keep alive is at most 65535 × 1.5 s, about 27 hours).
 */
function clock(epochMs: number): number {
  return (epochMs - CLOCK_ORIGIN) | 0;
}

/** Longest a publisher's acks are held for a session that does not drain (flow control). */
const HOLD_LIMIT_MS = 1000;
const PUBREC_FLAG = 0x1000000;

/** Success PUBACK / PUBREC with packet id 0, patched at flush (see `joinPatched`). */
const PUBACK_SUCCESS = new Uint8Array([0x40, 2, 0, 0]);
const PUBREC_SUCCESS = new Uint8Array([0x50, 2, 0, 0]);

/** The acks that may wait for a commit (see `sendAfterCommit`). */
export const PUBACK = 1;
export const PUBREC = 2;
export const PUBREL = 3;
export const PUBCOMP = 4;
export type AckKind = typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP;
/** Success acks with packet id 0, patched at flush (PUBREL has flags 0010 [MQTT-3.6.1-1]). */
const ACK_SUCCESS = [PUBACK_SUCCESS, PUBACK_SUCCESS, PUBREC_SUCCESS, new Uint8Array([0x62, 2, 0, 0]), new Uint8Array([0x70, 2, 0, 0])];

/** Where a stream's shared listeners find their connection. */
const CONNECTION = Symbol('hato.connection');
type OwnedStream = Duplex & { [CONNECTION]: Connection };

function onStreamData(this: OwnedStream, chunk: Uint8Array): void {
  this[CONNECTION].received(chunk);
}

function onStreamError(this: OwnedStream, err: Error): void {
  this[CONNECTION].streamError(err);
}

function onStreamEnd(this: OwnedStream): void {
  this[CONNECTION].streamEnded();
}

function onStreamClose(this: OwnedStream): void {
  this[CONNECTION].streamClosed();
}

function onStreamDrain(this: OwnedStream): void {
  this[CONNECTION].guard(drainConnection);
}

function holdTimerFired(connection: Connection): void {
  connection.holdTimerFired();
}

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
