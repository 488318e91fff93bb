/**
 * Outgoing PUBLISH flow: the offline/window queue, the in-flight window (never more
 * unacknowledged QoS>0 messages than the server's Receive Maximum [MQTT-4.9.0-2]),
 * and the QoS 1 (PUBLISH → PUBACK) and QoS 2 (PUBLISH → PUBREC → PUBREL → PUBCOMP)
 * state of each message as data: `state` is 'queued' | 'publish' | 'pubrel'.
 */
import type { AckPacket, Packet, PacketIdAllocator, PublishPacket } from '@hato/protocol';
import { disarming, type WaitOptions, watchDeadline } from './deadline.js';
import { ClientClosedError, PublishError, QueueFullError, UnexpectedPacketError } from './errors.js';
import { Queue } from './queue.js';
import type { InFlightStore } from './store.js';

export type PublishAck = AckPacket<'puback'> | AckPacket<'pubcomp'>;

interface Outgoing {
  packet: PublishPacket;
  state: 'queued' | 'publish' | 'pubrel';
  resolve: ((ack: PublishAck | undefined) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

/** What the flow needs from the client. */
export interface OutgoingHost {
  readonly ids: PacketIdAllocator;
  readonly store: InFlightStore | undefined;
  /** True when a CONNACK was received and the transport is up. */
  isConnected(): boolean;
  send(packet: Packet): void;
  /**
   * After a QoS 0 PUBLISH went to the transport: resolved while under the write
   * high-water mark, else the promise of the next drain (back-pressure.ts).
   */
  written(): Promise<undefined>;
  /** A queued QoS 0 message could not be encoded when its turn came (its promise had resolved). */
  onDropped?(error: Error): void;
  /** An ack matching no message in flight, or out of order (reported; the connection goes on). */
  onUnexpected?(error: Error): void;
}

export const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

export class OutgoingFlow {
  private readonly inflight = new Map<number, Outgoing>();
  private readonly queue = new Queue<Outgoing>();
  /** Server's Receive Maximum (CONNACK), 65535 when absent. */
  receiveMaximum = 65_535;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly host: OutgoingHost,
    private readonly queueLimit: number,
  ) {}

  get inflightCount(): number {
    return this.inflight.size;
  }
  get queuedCount(): number {
    return this.queue.length;
  }

  /**
   * QoS 0: written now (resolves at once under the write high-water mark, else at the
   * next drain) or queued while offline (resolves at once). QoS 1/2: resolves with PUBACK /
   * PUBCOMP, or rejects at the deadline of `wait`: a message still queued is then
   * dropped, one on the wire completes its exchange without anyone waiting for it.
   */
  publish(packet: PublishPacket, wait?: WaitOptions): Promise<PublishAck | undefined> {
    if (packet.qos === 0) {
      if (this.queue.length === 0 && this.host.isConnected()) {
        try {
          this.host.send(packet);
        } catch (err) {
          return Promise.reject(err);
        }
        return this.host.written();
      }
      if (this.queue.length >= this.queueLimit) return Promise.reject(new QueueFullError(this.queueLimit));
      this.queue.push({ packet, state: 'queued', resolve: undefined, reject: undefined });
      return RESOLVED;
    }
    if (this.queue.length >= this.queueLimit) return Promise.reject(new QueueFullError(this.queueLimit));
    return new Promise((resolve, reject) => {
      const entry: Outgoing = { packet, state: 'queued', resolve: undefined, reject: undefined };
      const clear = watchDeadline(wait, (ms) => `no acknowledgement for '${packet.topic}' within ${ms} ms`, (error) => {
        entry.resolve = undefined;
        entry.reject = undefined;
        if (entry.state === 'queued' && this.queue.remove(entry)) this.notifyIfIdle();
        reject(error);
      });
      const settle = disarming(clear, resolve, reject);
      entry.resolve = settle.resolve;
      entry.reject = settle.reject;
      if (this.queue.length === 0 && this.host.isConnected() && this.inflight.size < this.receiveMaximum) {
        if (this.sendNew(entry)) return;
      }
      this.queue.push(entry);
    });
  }

  /** Sends queued messages while connected and the window allows. */
  drain(): void {
    while (this.queue.length > 0 && this.host.isConnected()) {
      const head = this.queue.peek()!;
      if (head.packet.qos === 0) {
        this.queue.shift();
        try {
          this.host.send(head.packet);
        } catch (err) {
          this.host.onDropped?.(err as Error);
        }
        continue;
      }
      if (this.inflight.size >= this.receiveMaximum) break;
      this.queue.shift();
      if (!this.sendNew(head)) {
        this.queue.unshiftAll([head]);
        break;
      }
    }
    this.notifyIfIdle();
  }

  onPuback(ack: AckPacket<'puback'>): void {
    const entry = this.inflight.get(ack.packetId);
    if (entry === undefined || entry.packet.qos !== 1) {
      this.unexpected(ack, entry === undefined ? 0x92 : 0x82, entry === undefined ? 'no QoS 1 PUBLISH with this id' : 'the message is QoS 2');
      return;
    }
    this.finish(ack.packetId, entry);
    const code = ack.reasonCode ?? 0;
    if (code >= 0x80) entry.reject?.(new PublishError(code, entry.packet.topic, ack.properties?.reasonString));
    else entry.resolve?.(ack);
    this.drain();
  }

  onPubrec(ack: AckPacket<'pubrec'>): void {
    const entry = this.inflight.get(ack.packetId);
    if (entry === undefined || entry.packet.qos !== 2) {
      // [MQTT-4.3.3] answer an unknown PUBREC with PUBREL 0x92 Packet Identifier not found (5.0).
      this.host.send({ type: 'pubrel', packetId: ack.packetId, reasonCode: 0x92 });
      this.unexpected(ack, 0x92, 'no QoS 2 PUBLISH with this id');
      return;
    }
    if (entry.state === 'pubrel') {
      // A repeated PUBREC: the PUBREL may have been lost, send it again [MQTT-4.3.3-4].
      this.host.send({ type: 'pubrel', packetId: ack.packetId });
      return;
    }
    const code = ack.reasonCode ?? 0;
    if (code >= 0x80) {
      // A PUBREC with a failure code ends the exchange: no PUBREL follows.
      this.finish(ack.packetId, entry);
      entry.reject?.(new PublishError(code, entry.packet.topic, ack.properties?.reasonString));
      this.drain();
      return;
    }
    entry.state = 'pubrel';
    this.host.store?.putOutgoing({ packetId: ack.packetId, state: 'pubrel', packet: entry.packet });
    this.host.send({ type: 'pubrel', packetId: ack.packetId }); // [MQTT-4.3.3-4]
  }

  onPubcomp(ack: AckPacket<'pubcomp'>): void {
    const entry = this.inflight.get(ack.packetId);
    if (entry === undefined || entry.state !== 'pubrel') {
      this.unexpected(ack, entry === undefined ? 0x92 : 0x82, entry === undefined ? 'no PUBREL with this id' : 'PUBCOMP before PUBREC');
      return;
    }
    this.finish(ack.packetId, entry);
    const code = ack.reasonCode ?? 0;
    if (code >= 0x80) entry.reject?.(new PublishError(code, entry.packet.topic, ack.properties?.reasonString));
    else entry.resolve?.(ack);
    this.drain();
  }

  /**
   * After CONNACK. With the session kept, unacknowledged PUBLISH are re-sent with DUP
   * and PUBREL re-sent [MQTT-4.4.0-1]; without it, the session state is discarded
   * [MQTT-3.2.2-5]: messages the server already took (PUBREC received) are done, the
   * others are sent again as new messages.
   */
  onConnected(sessionPresent: boolean): void {
    if (sessionPresent) {
      for (const [packetId, entry] of this.inflight) {
        if (entry.state === 'pubrel') this.host.send({ type: 'pubrel', packetId });
        else {
          entry.packet.dup = true; // [MQTT-3.3.1-1]
          this.host.send(entry.packet);
        }
      }
    } else {
      const again: Outgoing[] = [];
      for (const [packetId, entry] of this.inflight) {
        this.finish(packetId, entry);
        if (entry.state === 'pubrel') entry.resolve?.(undefined);
        else {
          entry.state = 'queued';
          entry.packet.dup = false;
          entry.packet.packetId = undefined;
          again.push(entry);
        }
      }
      this.queue.unshiftAll(again);
    }
    this.drain();
  }

  /** Restores entries read from the store (their promises are gone with the old process). */
  restore(entries: { packetId: number; state: 'publish' | 'pubrel'; packet: PublishPacket }[]): void {
    for (const e of entries) {
      e.packet.packetId = e.packetId;
      this.inflight.set(e.packetId, { packet: e.packet, state: e.state, resolve: undefined, reject: undefined });
    }
  }

  /** Fails every message (the client is closed). */
  rejectAll(error: Error = new ClientClosedError()): void {
    const entries = [...this.inflight.values(), ...this.queue.drain()];
    for (const [packetId] of this.inflight) this.host.ids.release(packetId);
    this.inflight.clear();
    for (const e of entries) e.reject?.(error);
    this.notifyIfIdle();
  }

  /** Resolves when nothing is queued or in flight (used by `end()`). */
  idle(): Promise<void> {
    if (this.inflight.size === 0 && this.queue.length === 0) return RESOLVED as Promise<unknown> as Promise<void>;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private unexpected(ack: AckPacket<'puback' | 'pubrec' | 'pubcomp'>, code: number, detail: string): void {
    this.host.onUnexpected?.(new UnexpectedPacketError(ack.type, ack.packetId, code, detail));
  }

  private sendNew(entry: Outgoing): boolean {
    const packetId = this.host.ids.next();
    if (packetId === undefined) return false;
    entry.packet.packetId = packetId;
    entry.state = 'publish';
    this.inflight.set(packetId, entry);
    try {
      this.host.send(entry.packet);
    } catch (err) {
      this.finish(packetId, entry);
      entry.reject?.(err as Error);
      return true;
    }
    this.host.store?.putOutgoing({ packetId, state: 'publish', packet: entry.packet });
    return true;
  }

  private finish(packetId: number, _entry: Outgoing): void {
    this.inflight.delete(packetId);
    this.host.ids.release(packetId);
    this.host.store?.deleteOutgoing(packetId);
  }

  private notifyIfIdle(): void {
    if (this.drainWaiters.length === 0 || this.inflight.size > 0 || this.queue.length > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
