/**
 * MQTT 5.0 request/response: `client.request(topic, payload)` publishes with a
 * Response Topic and a fresh Correlation Data, and resolves with the first message on
 * the response topic carrying the same correlation data. The response topic is
 * subscribed once, on the first request.
 */
import type { Properties, PublishPacket, QoS } from '@hato/protocol';
import { TimeoutError } from './errors.js';

export interface RequestOptions {
  qos?: QoS;
  /** Ms to wait for the response (default 30000). */
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
  timer: ReturnType<typeof setTimeout>;
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
  private readonly prefix = crypto.getRandomValues(new Uint8Array(8));
  private counter = 0;

  constructor(private readonly host: RequestHost) {}

  get size(): number {
    return this.pending.size;
  }

  async request(topic: string, payload: Uint8Array, options: RequestOptions = {}): Promise<PublishPacket> {
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
    const correlationData = new Uint8Array(12);
    correlationData.set(this.prefix);
    new DataView(correlationData.buffer).setUint32(8, ++this.counter >>> 0);
    const key = hex(correlationData);
    const response = new Promise<PublishPacket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new TimeoutError(`no response on '${responseTopic}' within ${options.timeout ?? 30_000} ms`));
      }, options.timeout ?? 30_000);
      this.pending.set(key, { resolve, reject, timer });
    });
    const properties: Properties = { ...options.properties, responseTopic, correlationData };
    try {
      await this.host.publish(topic, payload, options.qos ?? 0, properties);
    } catch (err) {
      this.settle(key)?.reject(err as Error);
    }
    return response;
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
    clearTimeout(p.timer);
    return p;
  }
}
