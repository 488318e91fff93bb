/**
 * SUBSCRIBE / UNSUBSCRIBE requests and the set of active subscriptions, which is
 * replayed after a reconnect when the server did not keep the session
 * (CONNACK Session Present 0). Requests made while offline wait and go out on CONNACK;
 * requests cut off by a lost connection are sent again, with a new packet id, after
 * the next CONNACK, and settle with that SUBACK / UNSUBACK. A request settles only
 * with its answer, `rejectAll` (the client ends) or its own deadline (WaitOptions).
 */
import type {
  Packet,
  PacketIdAllocator,
  Properties,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from '@hato/protocol';
import { disarming, type WaitOptions, watchDeadline } from './deadline.js';
import { ClientClosedError, SubscribeError, UnexpectedPacketError, UnsubscribeError } from './errors.js';

export interface SubscriptionGrant {
  filter: string;
  /** Granted QoS. */
  qos: QoS;
}

interface Request {
  packet: SubscribePacket | UnsubscribePacket;
  resolve: ((value: never) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

export interface SubscriptionHost {
  readonly ids: PacketIdAllocator;
  isConnected(): boolean;
  send(packet: Packet): void;
  /** A replayed subscription was refused after a reconnect. */
  onResubscribeError(error: Error): void;
  /** An answer matching no request (reported; the connection goes on). */
  onUnexpected(error: Error): void;
  /** The server broke the protocol: close this connection (0x82). */
  onViolation(message: string): void;
}

export class SubscriptionManager {
  /** Filter → what was granted and how it was asked for. */
  readonly active = new Map<string, { subscription: Subscription; properties: Properties | undefined }>();
  private readonly pending = new Map<number, Request>();
  private waiting: Request[] = [];

  constructor(private readonly host: SubscriptionHost) {}

  get pendingCount(): number {
    return this.pending.size + this.waiting.length;
  }

  subscribe(
    subscriptions: Subscription[],
    properties: Properties | undefined,
    wait?: WaitOptions,
  ): Promise<SubscriptionGrant[]> {
    return this.request(this.subscribePacket(subscriptions, properties), 'subscribe', wait);
  }

  unsubscribe(topicFilters: string[], properties: Properties | undefined, wait?: WaitOptions): Promise<UnsubackPacket> {
    // Forget at once: a reconnect before the UNSUBACK must not subscribe again.
    for (const f of topicFilters) this.active.delete(f);
    const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: 0, topicFilters };
    if (properties !== undefined) packet.properties = properties;
    return this.request(packet, 'unsubscribe', wait);
  }

  private request<T>(packet: SubscribePacket | UnsubscribePacket, what: string, wait: WaitOptions | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const request: Request = { packet, resolve: undefined, reject: undefined };
      const clear = watchDeadline(wait, (ms) => `no answer to ${what} within ${ms} ms`, (error) => {
        this.cancel(request);
        reject(error);
      });
      const settle = disarming(clear, resolve, reject);
      request.resolve = settle.resolve as (value: never) => void;
      request.reject = settle.reject;
      this.submit(request);
    });
  }

  /**
   * A request's deadline passed: one not sent yet is dropped; one on the wire keeps its
   * packet id until the answer comes (which then only updates the active set).
   */
  private cancel(request: Request): void {
    request.resolve = undefined;
    request.reject = undefined;
    this.waiting = this.waiting.filter((r) => r !== request);
  }

  onSuback(suback: SubackPacket): void {
    const request = this.pending.get(suback.packetId);
    if (request === undefined || request.packet.type !== 'subscribe') {
      this.host.onUnexpected(new UnexpectedPacketError('suback', suback.packetId, 0x92, 'no SUBSCRIBE with this id'));
      return;
    }
    const { subscriptions, properties } = request.packet;
    // [MQTT-3.9.3-1] one reason code per filter; the request stays pending and is re-sent.
    if (suback.reasonCodes.length !== subscriptions.length) {
      this.host.onViolation(`SUBACK with ${suback.reasonCodes.length} codes for ${subscriptions.length} filters`);
      return;
    }
    this.take(suback.packetId);
    const grants: SubscriptionGrant[] = [];
    subscriptions.forEach((s, i) => {
      const code = suback.reasonCodes[i] ?? 0x80;
      if (code < 0x80) {
        this.active.set(s.topicFilter, { subscription: s, properties });
        grants.push({ filter: s.topicFilter, qos: code as QoS });
      }
    });
    if (suback.reasonCodes.some((c) => c >= 0x80)) {
      const filters = subscriptions.map((s) => s.topicFilter);
      const error = new SubscribeError(filters, suback.reasonCodes, suback.properties?.reasonString);
      if (request.reject) request.reject(error);
      else this.host.onResubscribeError(error);
    } else (request.resolve as ((g: SubscriptionGrant[]) => void) | undefined)?.(grants);
  }

  onUnsuback(unsuback: UnsubackPacket): void {
    const request = this.pending.get(unsuback.packetId);
    if (request === undefined || request.packet.type !== 'unsubscribe') {
      this.host.onUnexpected(new UnexpectedPacketError('unsuback', unsuback.packetId, 0x92, 'no UNSUBSCRIBE with this id'));
      return;
    }
    this.take(unsuback.packetId);
    const codes = unsuback.reasonCodes ?? [];
    // 0x11 No subscription existed is not a failure.
    if (codes.some((c) => c >= 0x80)) request.reject?.(new UnsubscribeError(request.packet.topicFilters, codes));
    else (request.resolve as ((p: UnsubackPacket) => void) | undefined)?.(unsuback);
  }

  /** After CONNACK: replay subscriptions the server lost, then send what waited. */
  onConnected(sessionPresent: boolean): void {
    const replay: Request[] = [];
    if (!sessionPresent && this.active.size > 0) {
      const plain: Subscription[] = [];
      for (const { subscription, properties } of this.active.values()) {
        if (properties === undefined) plain.push(subscription);
        else replay.push({ packet: this.subscribePacket([subscription], properties), resolve: undefined, reject: undefined });
      }
      if (plain.length > 0)
        replay.unshift({ packet: this.subscribePacket(plain, undefined), resolve: undefined, reject: undefined });
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const r of [...replay, ...waiting]) this.submit(r);
  }

  /** The connection dropped: unanswered requests will be sent again. */
  onOffline(): void {
    const cut = [...this.pending.entries()];
    this.pending.clear();
    for (const [packetId] of cut) this.host.ids.release(packetId);
    this.waiting = [...cut.map(([, r]) => r).filter((r) => r.resolve !== undefined), ...this.waiting];
  }

  rejectAll(error: Error = new ClientClosedError()): void {
    const all = [...this.pending.values(), ...this.waiting];
    for (const [packetId] of this.pending) this.host.ids.release(packetId);
    this.pending.clear();
    this.waiting = [];
    for (const r of all) r.reject?.(error);
  }

  private subscribePacket(subscriptions: Subscription[], properties: Properties | undefined): SubscribePacket {
    const packet: SubscribePacket = { type: 'subscribe', packetId: 0, subscriptions };
    if (properties !== undefined) packet.properties = properties;
    return packet;
  }

  private submit(request: Request): void {
    if (!this.host.isConnected()) {
      this.waiting.push(request);
      return;
    }
    const packetId = this.host.ids.next();
    if (packetId === undefined) {
      this.waiting.push(request);
      return;
    }
    request.packet.packetId = packetId;
    this.pending.set(packetId, request);
    try {
      this.host.send(request.packet);
    } catch (err) {
      this.take(packetId);
      request.reject?.(err as Error);
    }
  }

  private take(packetId: number): Request | undefined {
    const request = this.pending.get(packetId);
    if (request === undefined) return undefined;
    this.pending.delete(packetId);
    this.host.ids.release(packetId);
    return request;
  }
}
