/**
 * MQTT 5.0 request/response: `client.request(topic, payload)` publishes with a
 * Response Topic and a fresh Correlation Data, and resolves with the first message on
 * the response topic carrying the same correlation data. The response topic is
 * subscribed once, on the first request.
 */
import type { Properties, PublishPacket, QoS } from '@hato/protocol';
import { type WaitOptions, watchDeadline } from './deadline.js';

export interface RequestOptions extends WaitOptions {
  qos?: QoS;
  /** Ms to wait for the response, subscribing and publishing included (default 30000). */
  timeout?: number;
  properties?: Properties;
}

export interface RequestHost {
  publish(topic: string, payload: Uint8Array, qos: QoS, properties: Properties): Promise<unknown>;
  subscribe(filter: string, qos: QoS): Promise<unknown>;
  /** Response Information from CONNACK, if any. */
  responseInformation(): string | undefined;
  clientId(): string;
}

interface Pending {
  resolve: (packet: PublishPacket) => void;
  reject: (error: Error) => void;
  clear: (() => void) | undefined;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export class Requester {
  private responseTopic: string | undefined;
  private subscribed: Promise<unknown> | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Random, made at the first request (a client that never calls request() pays nothing). */
  private randomPrefix: Uint8Array | undefined;
  private counter = 0;

  constructor(private readonly host: RequestHost) {}

  private get prefix(): Uint8Array {
    this.randomPrefix ??= crypto.getRandomValues(new Uint8Array(8));
    return this.randomPrefix;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Settles with the response, the deadline (timeout or signal), or `rejectAll` when the client ends. */
  request(topic: string, payload: Uint8Array, options: RequestOptions = {}): Promise<PublishPacket> {
    const correlationData = new Uint8Array(12);
    correlationData.set(this.prefix);
    new DataView(correlationData.buffer).setUint32(8, ++this.counter >>> 0);
    const key = hex(correlationData);
    const wait: WaitOptions = { timeout: options.timeout ?? 30_000 };
    if (options.signal !== undefined) wait.signal = options.signal;
    return new Promise<PublishPacket>((resolve, reject) => {
      const clear = watchDeadline(wait, (ms) => `no response to the request on '${topic}' within ${ms} ms`, (error) => {
        this.pending.delete(key);
        reject(error);
      });
      this.pending.set(key, { resolve, reject, clear });
      void this.send(key, topic, payload, correlationData, options);
    });
  }

  private async send(key: string, topic: string, payload: Uint8Array, correlationData: Uint8Array, options: RequestOptions) {
    try {
      const responseTopic = await this.subscribeOnce();
      if (!this.pending.has(key)) return;
      const properties: Properties = { ...options.properties, responseTopic, correlationData };
      await this.host.publish(topic, payload, options.qos ?? 0, properties);
    } catch (err) {
      this.settle(key)?.reject(err as Error);
    }
  }

  /** Subscribes to the response topic on the first request (again after a failed attempt). */
  private async subscribeOnce(): Promise<string> {
    if (this.responseTopic === undefined) {
      const base = this.host.responseInformation() ?? '_hato/response';
      this.responseTopic = `${base.replace(/\/$/, '')}/${this.host.clientId()}/${hex(this.prefix)}`;
      this.subscribed = this.host.subscribe(this.responseTopic, 1);
      this.subscribed.catch(() => {
        this.subscribed = undefined;
        this.responseTopic = undefined;
      });
    }
    const responseTopic = this.responseTopic;
    await this.subscribed;
    return responseTopic;
  }

  /** Takes a response addressed to a pending request; false if the message is not one. */
  handle(packet: PublishPacket): boolean {
    if (this.pending.size === 0 || packet.topic !== this.responseTopic) return false;
    const data = packet.properties?.correlationData;
    if (data === undefined) return false;
    const pending = this.settle(hex(data));
    if (pending === undefined) return false;
    pending.resolve(packet);
    return true;
  }

  rejectAll(error: Error): void {
    for (const key of [...this.pending.keys()]) this.settle(key)?.reject(error);
  }

  private settle(key: string): Pending | undefined {
    const p = this.pending.get(key);
    if (p === undefined) return undefined;
    this.pending.delete(key);
    p.clear?.();
    return p;
  }
}
