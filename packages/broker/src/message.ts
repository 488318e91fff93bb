import type { StoredMessage } from './ports/persistence.js';
import { encode, encodedLength, encodeInto, type Properties, type ProtocolVersion, type PublishPacket, type QoS, setPublishPacketId } from '@hato/protocol';
import { ownBytes, ownProperties } from './owned.js';

/**
 * An application message inside the broker: built once per incoming PUBLISH (or will)
 * and shared by every delivery, queue entry and the retained store.
 *
 * Its encodings are cached per variant (3.x / 5.0, QoS, retain) so a message fanned out
 * to many subscribers is encoded at most six times [DESIGN: encode once, write many].
 *
 * Made from a PUBLISH, its payload (and correlation data) are views into the read chunk the
 * packet came in, and its cached encodings views into the encoder's 64 KiB slabs: free while
 * the message lives only as long as the packet's routing. Whatever keeps it longer (a session
 * queue, the in-flight window, the retained store) calls `keep()` first [DESIGN].
 */
export class Message {
  readonly topic: string;
  /** Do not keep a reference beyond the routing of the message (see `keep`). */
  payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** 5.0 properties forwarded to subscribers (no topic alias, no subscription identifiers). */
  properties: Properties | undefined;
  /** Epoch ms after which the message must not be delivered; 0 = never [MQTT-3.3.2-5]. */
  readonly expiresAt: number;
  /** Client id of the publisher (for 5.0 No Local), undefined for broker-made messages. */
  readonly origin: string | undefined;
  /** Bytes this message accounts for in queue limits. */
  readonly size: number;
  /** The first variant encoded (most messages need only one), then the others by variant index. */
  private firstVariant = -1;
  private firstBytes: Uint8Array | undefined;
  private cache: (Uint8Array | undefined)[] | undefined;
  /** `keep()` was called: everything it holds is its own, and new cached encodings are too. */
  private kept = false;

  /** `properties` are the forwarded ones (see `create`). */
  constructor(topic: string, payload: Uint8Array, qos: QoS, retain: boolean, properties: Properties | undefined, origin: string | undefined, expiresAt: number) {
    this.topic = topic;
    this.payload = payload;
    this.qos = qos;
    this.retain = retain;
    this.origin = origin;
    this.properties = properties;
    this.expiresAt = expiresAt;
    this.size = payload.byteLength + topic.length * 3 + 64;
  }

  /** A message from a PUBLISH or will: keeps the properties that are forwarded, computes the expiry. */
  static create(topic: string, payload: Uint8Array, qos: QoS, retain: boolean, properties: Properties | undefined, origin: string | undefined, now: number): Message {
    const expiry = properties?.messageExpiryInterval;
    const forwarded = properties === undefined ? undefined : forwardedProperties(properties);
    return new Message(topic, payload, qos, retain, forwarded, origin, expiry === undefined ? 0 : now + expiry * 1000);
  }

  static fromPacket(packet: PublishPacket, topic: string, origin: string | undefined, now: number): Message {
    return Message.create(topic, packet.payload, packet.qos, packet.retain, packet.properties, origin, now);
  }

  static restore(stored: StoredMessage): Message {
    return new Message(stored.topic, stored.payload, stored.qos, stored.retain, stored.properties, stored.origin, stored.expiresAt);
  }

  /**
   * The message outlives its packet: payload and correlation data become exact-size copies
   * (when they are views into a larger buffer), cached encodings in shared slabs are dropped
   * (re-encoded, into buffers of their own, when needed). Once per message; free for one made
   * from bytes of its own.
   */
  keep(): void {
    if (this.kept) return;
    this.kept = true;
    this.payload = ownBytes(this.payload);
    if (this.properties !== undefined) this.properties = ownProperties(this.properties);
    if (this.firstBytes !== undefined && this.firstBytes.byteLength !== this.firstBytes.buffer.byteLength) {
      this.firstVariant = -1;
      this.firstBytes = undefined;
    }
    const cache = this.cache;
    if (cache !== undefined) {
      for (let i = 0; i < cache.length; i++) {
        const bytes = cache[i];
        if (bytes !== undefined && bytes.byteLength !== bytes.buffer.byteLength) cache[i] = undefined;
      }
    }
  }

  /** `keep()` was called: nothing it holds is a view into a buffer shared with others. */
  get isKept(): boolean {
    return this.kept;
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }

  /**
   * Bytes of this message as a PUBLISH for one subscriber. QoS 0 without per-subscriber
   * properties returns shared cached bytes (do not mutate); QoS > 0 returns a copy with
   * the packet id patched in.
   */
  bytesFor(version: ProtocolVersion, qos: QoS, retain: boolean, packetId: number, dup: boolean, subscriptionIds: number[] | undefined, now: number): Uint8Array {
    const shared = dup ? undefined : this.sharedBytesFor(version, qos, retain, subscriptionIds, now);
    if (shared === undefined) return this.encodeFresh(version, qos, retain, packetId, dup, subscriptionIds, now);
    if (qos === 0) return shared;
    const copy = shared.slice();
    setPublishPacketId(copy, packetId);
    return copy;
  }

  /**
   * The cached bytes of a variant every subscriber can share (do not mutate; QoS > 0 carries
   * a placeholder packet id for the writer to patch in its copy), or undefined when this
   * subscriber needs bytes of its own (5.0 Subscription Identifiers or Message Expiry).
   */
  sharedBytesFor(version: ProtocolVersion, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, now: number): Uint8Array | undefined {
    if (version === 5 && (subscriptionIds !== undefined || this.expiresAt !== 0)) return undefined;
    const index = (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    if (index === this.firstVariant) return this.firstBytes!;
    let shared = this.cache?.[index];
    if (shared === undefined) {
      shared = this.encodeFresh(version, qos, retain, qos === 0 ? 0 : 1, false, undefined, now, 0, true, this.kept);
      if (this.firstVariant === -1) {
        this.firstVariant = index;
        this.firstBytes = shared;
      } else {
        this.cache ??= [];
        this.cache[index] = shared;
      }
    }
    return shared;
  }

  /**
   * 5.0 bytes with a Topic Alias the broker assigned: `withTopic` sets the mapping (topic
   * and alias), otherwise the topic is empty and the alias stands for it [MQTT-3.3.2-13].
   */
  bytesWithAlias(qos: QoS, retain: boolean, packetId: number, dup: boolean, subscriptionIds: number[] | undefined, now: number, alias: number, withTopic: boolean): Uint8Array {
    return this.encodeFresh(5, qos, retain, packetId, dup, subscriptionIds, now, alias, withTopic);
  }

  /** `own`: into a buffer of its own (cached by a kept message), not a view into a shared slab. */
  private encodeFresh(version: ProtocolVersion, qos: QoS, retain: boolean, packetId: number, dup: boolean, subscriptionIds: number[] | undefined, now: number, alias = 0, withTopic = true, own = false): Uint8Array {
    const packet: PublishPacket = { type: 'publish', topic: withTopic ? this.topic : '', payload: this.payload, qos, retain, dup };
    if (qos > 0) packet.packetId = packetId;
    if (version === 5) {
      let properties = this.properties;
      if (alias !== 0) properties = { ...properties, topicAlias: alias };
      if (this.expiresAt !== 0) {
        // [MQTT-3.3.2-6] the forwarded Message Expiry Interval is the time remaining.
        properties = { ...properties, messageExpiryInterval: Math.max(0, Math.ceil((this.expiresAt - now) / 1000)) };
      }
      if (subscriptionIds !== undefined) properties = { ...properties, subscriptionIdentifiers: subscriptionIds };
      if (properties !== undefined) packet.properties = properties;
    }
    if (!own) return encode(packet, version);
    const bytes = new Uint8Array(encodedLength(packet, version));
    encodeInto(packet, version, bytes, 0);
    return bytes;
  }
}

/** Properties a PUBLISH carries on to subscribers [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-17] ... */
function forwardedProperties(source: Properties): Properties | undefined {
  const out: Properties = {};
  let any = false;
  if (source.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = source.payloadFormatIndicator;
    any = true;
  }
  if (source.messageExpiryInterval !== undefined) {
    out.messageExpiryInterval = source.messageExpiryInterval;
    any = true;
  }
  if (source.contentType !== undefined) {
    out.contentType = source.contentType;
    any = true;
  }
  if (source.responseTopic !== undefined) {
    out.responseTopic = source.responseTopic;
    any = true;
  }
  if (source.correlationData !== undefined) {
    out.correlationData = source.correlationData;
    any = true;
  }
  if (source.userProperties !== undefined && source.userProperties.length > 0) {
    out.userProperties = source.userProperties;
    any = true;
  }
  return any ? out : undefined;
}
