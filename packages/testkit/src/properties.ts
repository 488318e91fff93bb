/**
 * MQTT 5.0 properties (§2.2.2) as an ordered list of [identifier, value], so tests can
 * send duplicates, unknown identifiers or properties in the wrong packet on purpose.
 */
import { binary, concat, type StringOrBytes, u8, u16, u32, utf8, varint } from './bytes.js';

/** Property identifiers, MQTT 5.0 §2.2.2.2. */
export const Prop = {
  PayloadFormatIndicator: 0x01,
  MessageExpiryInterval: 0x02,
  ContentType: 0x03,
  ResponseTopic: 0x08,
  CorrelationData: 0x09,
  SubscriptionIdentifier: 0x0b,
  SessionExpiryInterval: 0x11,
  AssignedClientIdentifier: 0x12,
  ServerKeepAlive: 0x13,
  AuthenticationMethod: 0x15,
  AuthenticationData: 0x16,
  RequestProblemInformation: 0x17,
  WillDelayInterval: 0x18,
  RequestResponseInformation: 0x19,
  ResponseInformation: 0x1a,
  ServerReference: 0x1c,
  ReasonString: 0x1f,
  ReceiveMaximum: 0x21,
  TopicAliasMaximum: 0x22,
  TopicAlias: 0x23,
  MaximumQoS: 0x24,
  RetainAvailable: 0x25,
  UserProperty: 0x26,
  MaximumPacketSize: 0x27,
  WildcardSubscriptionAvailable: 0x28,
  SubscriptionIdentifierAvailable: 0x29,
  SharedSubscriptionAvailable: 0x2a,
} as const;

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

const KINDS = new Map<number, Kind>([
  [Prop.PayloadFormatIndicator, 'byte'],
  [Prop.MessageExpiryInterval, 'u32'],
  [Prop.ContentType, 'string'],
  [Prop.ResponseTopic, 'string'],
  [Prop.CorrelationData, 'binary'],
  [Prop.SubscriptionIdentifier, 'varint'],
  [Prop.SessionExpiryInterval, 'u32'],
  [Prop.AssignedClientIdentifier, 'string'],
  [Prop.ServerKeepAlive, 'u16'],
  [Prop.AuthenticationMethod, 'string'],
  [Prop.AuthenticationData, 'binary'],
  [Prop.RequestProblemInformation, 'byte'],
  [Prop.WillDelayInterval, 'u32'],
  [Prop.RequestResponseInformation, 'byte'],
  [Prop.ResponseInformation, 'string'],
  [Prop.ServerReference, 'string'],
  [Prop.ReasonString, 'string'],
  [Prop.ReceiveMaximum, 'u16'],
  [Prop.TopicAliasMaximum, 'u16'],
  [Prop.TopicAlias, 'u16'],
  [Prop.MaximumQoS, 'byte'],
  [Prop.RetainAvailable, 'byte'],
  [Prop.UserProperty, 'pair'],
  [Prop.MaximumPacketSize, 'u32'],
  [Prop.WildcardSubscriptionAvailable, 'byte'],
  [Prop.SubscriptionIdentifierAvailable, 'byte'],
  [Prop.SharedSubscriptionAvailable, 'byte'],
]);

/** Decoded values: numbers, strings (UTF-8 types), bytes (Binary Data), or a user property pair. */
export type PropertyValue = number | string | Uint8Array | readonly [string, string];
/** Encoder input: like PropertyValue, but strings may be raw bytes. */
export type PropertyInput = number | StringOrBytes | readonly [StringOrBytes, StringOrBytes];
export type PropertyList = ReadonlyArray<readonly [number, PropertyInput]>;
export type DecodedProperties = Array<[number, PropertyValue]>;

function encodeValue(id: number, value: PropertyInput): Uint8Array {
  const kind = KINDS.get(id);
  if (kind === undefined) throw new Error(`unknown property id 0x${id.toString(16)}: use rawProperties()`);
  if (kind === 'pair') {
    const [key, val] = value as readonly [StringOrBytes, StringOrBytes];
    return concat([utf8(key), utf8(val)]);
  }
  if (kind === 'string') return utf8(value as StringOrBytes);
  if (kind === 'binary') return binary(value as StringOrBytes);
  const n = value as number;
  if (kind === 'byte') return u8(n);
  if (kind === 'u16') return u16(n);
  if (kind === 'u32') return u32(n);
  return varint(n);
}

/** Property Length (Variable Byte Integer) followed by each property in the given order. */
export function encodeProperties(list: PropertyList = []): Uint8Array {
  const body = concat(list.map(([id, value]) => concat([varint(id), encodeValue(id, value)])));
  return concat([varint(body.length), body]);
}

/** Wraps already-encoded property bytes (e.g. with an unknown identifier) in a Property Length. */
export function rawProperties(body: Uint8Array): Uint8Array {
  return concat([varint(body.length), body]);
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Minimal byte cursor used by the parser. Throws on reads past the end. */
export class Reader {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    readonly end = bytes.length,
  ) {
    this.offset = offset;
  }
  get remaining(): number {
    return this.end - this.offset;
  }
  private need(n: number): void {
    if (this.offset + n > this.end) throw new Error(`truncated: need ${n} bytes at offset ${this.offset}`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  varint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
      multiplier *= 128;
    }
    throw new Error('variable byte integer longer than 4 bytes');
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  binary(): Uint8Array {
    return this.take(this.u16());
  }
  string(): string {
    return textDecoder.decode(this.binary());
  }
}

/** Reads Property Length and the properties that follow (5.0 §2.2.2). */
export function decodeProperties(reader: Reader): DecodedProperties {
  const length = reader.varint();
  const inner = new Reader(reader.bytes, reader.offset, reader.offset + length);
  if (inner.end > reader.end) throw new Error('property length exceeds packet');
  const out: DecodedProperties = [];
  while (inner.remaining > 0) {
    const id = inner.varint();
    const kind = KINDS.get(id);
    if (kind === undefined) throw new Error(`unknown property id 0x${id.toString(16)}`);
    out.push([id, decodeValue(kind, inner)]);
  }
  reader.offset = inner.end;
  return out;
}

function decodeValue(kind: Kind, r: Reader): PropertyValue {
  switch (kind) {
    case 'byte':
      return r.u8();
    case 'u16':
      return r.u16();
    case 'u32':
      return r.u32();
    case 'varint':
      return r.varint();
    case 'string':
      return r.string();
    case 'binary':
      return r.binary();
    case 'pair':
      return [r.string(), r.string()] as const;
  }
}

/** First value of a property, or undefined. */
export function getProp(list: DecodedProperties, id: number): PropertyValue | undefined {
  return list.find(([pid]) => pid === id)?.[1];
}

/** All values of a (repeatable) property, in order. */
export function getProps(list: DecodedProperties, id: number): PropertyValue[] {
  return list.filter(([pid]) => pid === id).map(([, value]) => value);
}
