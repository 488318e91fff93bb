/**
 * A tiny packet builder written from the MQTT 3.1 / 3.1.1 / 5.0 specs, independent of
 * @hato/protocol. Every function returns the full packet bytes. Options allow invalid
 * values (reserved bits, QoS 3, raw strings) so malformed input can be built too.
 */
import { concat, frame, type StringOrBytes, u8, u16, utf8 } from './bytes.js';
import { encodeProperties, type PropertyList } from './properties.js';

/** Protocol level: 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0. */
export type MqttVersion = 3 | 4 | 5;

export interface WillOptions {
  topic: StringOrBytes;
  payload: StringOrBytes;
  qos?: number;
  retain?: boolean;
  /** 5.0 Will Properties. */
  properties?: PropertyList;
}

export interface ConnectOptions {
  version?: MqttVersion;
  clientId?: StringOrBytes;
  /** Clean Session (3.x) / Clean Start (5.0); default true. */
  clean?: boolean;
  keepAlive?: number;
  will?: WillOptions;
  username?: StringOrBytes;
  password?: StringOrBytes;
  /** 5.0 CONNECT properties. */
  properties?: PropertyList;
  /** Overrides for malformed CONNECTs. */
  protocolName?: StringOrBytes;
  protocolLevel?: number;
  /** Sets the reserved bit 0 of the Connect Flags [MQTT-3.1.2-3]. */
  reservedFlag?: boolean;
  /** Sets the Password Flag without a password field, or forces flags: ORed into the flags byte. */
  extraFlags?: number;
}

/** CONNECT (3.1.1 §3.1, 5.0 §3.1). */
export function connect(options: ConnectOptions = {}): Uint8Array {
  const version = options.version ?? 4;
  const name = options.protocolName ?? (version === 3 ? 'MQIsdp' : 'MQTT');
  const level = options.protocolLevel ?? version;
  const will = options.will;
  let flags = options.extraFlags ?? 0;
  if (options.clean ?? true) flags |= 0x02;
  if (will) flags |= 0x04 | ((will.qos ?? 0) << 3) | (will.retain ? 0x20 : 0);
  if (options.password !== undefined) flags |= 0x40;
  if (options.username !== undefined) flags |= 0x80;
  if (options.reservedFlag) flags |= 0x01;
  const parts: Uint8Array[] = [utf8(name), u8(level), u8(flags), u16(options.keepAlive ?? 0)];
  if (version === 5) parts.push(encodeProperties(options.properties));
  parts.push(utf8(options.clientId ?? ''));
  if (will) {
    if (version === 5) parts.push(encodeProperties(will.properties));
    parts.push(utf8(will.topic), utf8(will.payload));
  }
  if (options.username !== undefined) parts.push(utf8(options.username));
  if (options.password !== undefined) parts.push(utf8(options.password));
  return frame(0x10, concat(parts));
}

export interface PublishOptions {
  version?: MqttVersion;
  topic: StringOrBytes;
  payload?: StringOrBytes;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  /** Required for QoS > 0; written whenever given, even for QoS 0. */
  packetId?: number;
  properties?: PropertyList;
}

/** PUBLISH (§3.3). */
export function publish(options: PublishOptions): Uint8Array {
  const version = options.version ?? 4;
  const qos = options.qos ?? 0;
  const first = 0x30 | (options.dup ? 0x08 : 0) | ((qos & 0x03) << 1) | (options.retain ? 0x01 : 0);
  const parts: Uint8Array[] = [utf8(options.topic)];
  if (options.packetId !== undefined) parts.push(u16(options.packetId));
  else if (qos > 0) throw new Error('publish: QoS > 0 needs a packetId');
  if (version === 5) parts.push(encodeProperties(options.properties));
  const payload = options.payload ?? '';
  parts.push(typeof payload === 'string' ? new TextEncoder().encode(payload) : payload);
  return frame(first, concat(parts));
}

export interface AckOptions {
  version?: MqttVersion;
  /** 5.0 only; omitted with no properties gives the short form (§3.4.2.1). */
  reasonCode?: number;
  properties?: PropertyList;
}

function ack(first: number, packetId: number, options: AckOptions): Uint8Array {
  const parts: Uint8Array[] = [u16(packetId)];
  if ((options.version ?? 4) === 5 && (options.reasonCode !== undefined || options.properties)) {
    parts.push(u8(options.reasonCode ?? 0));
    if (options.properties) parts.push(encodeProperties(options.properties));
  }
  return frame(first, concat(parts));
}

export const puback = (packetId: number, options: AckOptions = {}) => ack(0x40, packetId, options);
export const pubrec = (packetId: number, options: AckOptions = {}) => ack(0x50, packetId, options);
/** PUBREL; fixed header flags MUST be 0010 [MQTT-3.6.1-1]. */
export const pubrel = (packetId: number, options: AckOptions = {}) => ack(0x62, packetId, options);
export const pubcomp = (packetId: number, options: AckOptions = {}) => ack(0x70, packetId, options);

export interface Subscription {
  filter: StringOrBytes;
  qos?: number;
  /** 5.0 Subscription Options (§3.8.3.1). */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
  /** Raw bits ORed into the options byte (e.g. reserved bits). */
  extraOptions?: number;
}

export interface SubscribeOptions {
  version?: MqttVersion;
  packetId: number;
  subscriptions: ReadonlyArray<Subscription>;
  properties?: PropertyList;
}

/** SUBSCRIBE; fixed header flags MUST be 0010 [MQTT-3.8.1-1]. */
export function subscribe(options: SubscribeOptions): Uint8Array {
  const parts: Uint8Array[] = [u16(options.packetId)];
  if ((options.version ?? 4) === 5) parts.push(encodeProperties(options.properties));
  for (const sub of options.subscriptions) {
    const bits =
      (sub.qos ?? 0) |
      (sub.noLocal ? 0x04 : 0) |
      (sub.retainAsPublished ? 0x08 : 0) |
      ((sub.retainHandling ?? 0) << 4) |
      (sub.extraOptions ?? 0);
    parts.push(utf8(sub.filter), u8(bits));
  }
  return frame(0x82, concat(parts));
}

export interface UnsubscribeOptions {
  version?: MqttVersion;
  packetId: number;
  filters: ReadonlyArray<StringOrBytes>;
  properties?: PropertyList;
}

/** UNSUBSCRIBE; fixed header flags MUST be 0010 [MQTT-3.10.1-1]. */
export function unsubscribe(options: UnsubscribeOptions): Uint8Array {
  const parts: Uint8Array[] = [u16(options.packetId)];
  if ((options.version ?? 4) === 5) parts.push(encodeProperties(options.properties));
  for (const filter of options.filters) parts.push(utf8(filter));
  return frame(0xa2, concat(parts));
}

export function pingreq(): Uint8Array {
  return Uint8Array.of(0xc0, 0x00);
}

export interface DisconnectOptions {
  version?: MqttVersion;
  reasonCode?: number;
  properties?: PropertyList;
}

/** DISCONNECT; in 5.0 the reason code and properties are optional (§3.14.2). */
export function disconnect(options: DisconnectOptions = {}): Uint8Array {
  if ((options.version ?? 4) !== 5 || (options.reasonCode === undefined && !options.properties)) {
    return Uint8Array.of(0xe0, 0x00);
  }
  const parts = [u8(options.reasonCode ?? 0)];
  if (options.properties) parts.push(encodeProperties(options.properties));
  return frame(0xe0, concat(parts));
}

/** AUTH (5.0 §3.15). */
export function auth(options: { reasonCode?: number; properties?: PropertyList } = {}): Uint8Array {
  return frame(0xf0, concat([u8(options.reasonCode ?? 0), encodeProperties(options.properties)]));
}

/** Any packet from a first byte and a body: for reserved types and hand-made malformations. */
export function rawPacket(firstByte: number, body: Uint8Array | readonly number[] = []): Uint8Array {
  return frame(firstByte, body instanceof Uint8Array ? body : Uint8Array.from(body));
}
