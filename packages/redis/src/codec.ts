import type { OutgoingState, SessionSubscription, StoredMessage, StoredOutgoing, StoredWill } from '@hato/broker';

/**
 * The values stored in Redis hashes, as compact binary records (the README's "Values"):
 * little-endian, strings UTF-8 with a varint length, optional fields behind a presence byte,
 * MQTT 5.0 properties as JSON text (rare, small, varied; binary values as `{ "$b": base64 }`).
 * Each record starts with a format byte so a later layout can be told apart.
 */

type Properties = StoredMessage['properties'];
type QoS = StoredMessage['qos'];
type Will = StoredWill['will'];

const FORMAT = 1;
const STATES: readonly OutgoingState[] = ['queued', 'awaiting-puback', 'awaiting-pubrec', 'awaiting-pubcomp'];

/** A malformed stored value (written by something else, or damaged). */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
}

export function stateCode(state: OutgoingState): number {
  const code = STATES.indexOf(state);
  if (code < 0) throw new RangeError(`unknown message state ${state}`);
  return code;
}

export function stateOf(code: number): OutgoingState {
  const state = STATES[code];
  if (state === undefined) throw new RecordFormatError(`unknown message state ${code}`);
  return state;
}

class Writer {
  private buffer: Buffer;
  private at = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.at + n <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + n));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.at++] = value;
  }

  varint(value: number): void {
    this.room(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buffer[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.at++] = v;
  }

  double(value: number): void {
    this.room(8);
    this.buffer.writeDoubleLE(value, this.at);
    this.at += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.byteLength);
    this.room(value.byteLength);
    this.buffer.set(value, this.at);
    this.at += value.byteLength;
  }

  string(value: string): void {
    const max = value.length * 3;
    this.room(5 + max);
    if (max < 0x80) {
      // Common case (short topics): write the text, then its length in the byte before it.
      const length = this.buffer.write(value, this.at + 1, 'utf8');
      this.buffer[this.at] = length;
      this.at += 1 + length;
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(length);
    this.at += this.buffer.write(value, this.at, 'utf8');
  }

  optionalString(value: string | undefined): void {
    if (value === undefined) this.byte(0);
    else {
      this.byte(1);
      this.string(value);
    }
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.at);
  }
}

class Reader {
  private at = 0;
  private readonly limit: number;

  constructor(private readonly buffer: Buffer) {
    this.limit = buffer.length;
  }

  byte(): number {
    if (this.at >= this.limit) throw new RecordFormatError('record truncated');
    return this.buffer[this.at++]!;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new RecordFormatError('varint too long');
  }

  double(): number {
    if (this.at + 8 > this.limit) throw new RecordFormatError('record truncated');
    const value = this.buffer.readDoubleLE(this.at);
    this.at += 8;
    return value;
  }

  /**
   * An exact-size copy: a loaded payload outlives the reply it came in (ioredis hands out
   * views into its socket chunks). Not from Node's Buffer pool either: a pooled slice is a view
   * too (the broker's `keep()` would copy it again, and it keeps an 8 KiB slab alive).
   */
  bytes(): Uint8Array {
    const length = this.varint();
    if (this.at + length > this.limit) throw new RecordFormatError('record truncated');
    const copy = new Uint8Array(length);
    copy.set(this.buffer.subarray(this.at, this.at + length));
    this.at += length;
    return copy;
  }

  string(): string {
    const length = this.varint();
    if (this.at + length > this.limit) throw new RecordFormatError('record truncated');
    const text = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return text;
  }

  optionalString(): string | undefined {
    return this.byte() === 0 ? undefined : this.string();
  }

  format(): void {
    const format = this.byte();
    if (format !== FORMAT) throw new RecordFormatError(`unknown record format ${format} (written by a newer hato?)`);
  }

  end(): void {
    if (this.at !== this.limit) throw new RecordFormatError('trailing bytes after the record');
  }
}

function encodeProperties(properties: Properties | Record<string, unknown> | undefined): string | undefined {
  if (properties === undefined) return undefined;
  return JSON.stringify(properties, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
    if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return { $b: Buffer.from((value as { data: number[] }).data).toString('base64') }; // a Buffer after its toJSON
    }
    return value;
  });
}

function decodeProperties<T = Properties>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string') return new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'));
    return value;
  }) as T;
}

// StoredMessage: qos, retain, expiresAt (f64), topic, payload, origin?, properties?
function writeMessage(w: Writer, m: StoredMessage): void {
  w.byte(m.qos);
  w.byte(m.retain ? 1 : 0);
  w.double(m.expiresAt);
  w.string(m.topic);
  w.bytes(m.payload);
  w.optionalString(m.origin);
  w.optionalString(encodeProperties(m.properties));
}

function readMessage(r: Reader): StoredMessage {
  const qos = r.byte() as QoS;
  const retain = r.byte() === 1;
  const expiresAt = r.double();
  const topic = r.string();
  const payload = r.bytes();
  const origin = r.optionalString();
  const properties = decodeProperties(r.optionalString());
  return { topic, payload, qos, retain, properties, expiresAt, origin };
}

/** A retained message (its topic is also the hash field). */
export function encodeMessage(m: StoredMessage): Buffer {
  const w = new Writer(32 + m.topic.length * 3 + m.payload.byteLength);
  w.byte(FORMAT);
  writeMessage(w, m);
  return w.done();
}

export function decodeMessage(value: Buffer): StoredMessage {
  const r = new Reader(value);
  r.format();
  const m = readMessage(r);
  r.end();
  return m;
}


/** A queued or in-flight message, without its `seq` (the hash field). */
export function encodeOutgoing(e: StoredOutgoing): Buffer {
  const w = new Writer(48 + e.message.topic.length * 3 + e.message.payload.byteLength);
  w.byte(FORMAT);
  w.byte(e.qos);
  w.byte(e.retain ? 1 : 0);
  w.byte(stateCode(e.state));
  w.varint(e.packetId);
  const ids = e.subscriptionIds;
  if (ids === undefined) w.byte(0);
  else {
    w.byte(1);
    w.varint(ids.length);
    for (const id of ids) w.varint(id);
  }
  writeMessage(w, e.message);
  return w.done();
}

export function decodeOutgoing(seq: number, value: Buffer): StoredOutgoing {
  const r = new Reader(value);
  r.format();
  const qos = r.byte() as QoS;
  const retain = r.byte() === 1;
  const state = stateOf(r.byte());
  const packetId = r.varint();
  let subscriptionIds: number[] | undefined;
  if (r.byte() === 1) {
    const n = r.varint();
    subscriptionIds = [];
    for (let i = 0; i < n; i++) subscriptionIds.push(r.varint());
  }
  const message = readMessage(r);
  r.end();
  return { seq, message, qos, retain, subscriptionIds, packetId, state };
}

/** A message's state after it moved on (`message-state`): "packetId:stateCode", read by nothing but `decodeState`. */
export function encodeState(packetId: number, state: OutgoingState): string {
  return `${packetId}:${stateCode(state)}`;
}

export function decodeState(value: string): { packetId: number; state: OutgoingState } {
  const colon = value.indexOf(':');
  const packetId = Number(value.slice(0, colon));
  if (colon < 0 || !Number.isInteger(packetId)) throw new RecordFormatError(`bad message state '${value}'`);
  return { packetId, state: stateOf(Number(value.slice(colon + 1))) };
}

/** A subscription, without its filter (the hash field). */
export function encodeSubscription(s: SessionSubscription): Buffer {
  const w = new Writer(16 + (s.group?.length ?? 0) * 3);
  w.byte(FORMAT);
  w.byte(s.qos);
  w.byte((s.noLocal ? 1 : 0) | (s.retainAsPublished ? 2 : 0));
  w.byte(s.retainHandling);
  if (s.subscriptionId === undefined) w.byte(0);
  else {
    w.byte(1);
    w.varint(s.subscriptionId);
  }
  w.optionalString(s.group);
  return w.done();
}

export function decodeSubscription(topicFilter: string, value: Buffer): SessionSubscription {
  const r = new Reader(value);
  r.format();
  const qos = r.byte() as QoS;
  const flags = r.byte();
  const retainHandling = r.byte() as SessionSubscription['retainHandling'];
  const subscriptionId = r.byte() === 1 ? r.varint() : undefined;
  const group = r.optionalString();
  r.end();
  return { topicFilter, qos, noLocal: (flags & 1) !== 0, retainAsPublished: (flags & 2) !== 0, retainHandling, subscriptionId, group };
}

/** A will with its due time. */
export function encodeWill(stored: StoredWill): Buffer {
  const will = stored.will;
  const w = new Writer(32 + will.topic.length * 3 + will.payload.byteLength);
  w.byte(FORMAT);
  w.double(stored.dueAt);
  w.byte(will.qos);
  w.byte(will.retain ? 1 : 0);
  w.string(will.topic);
  w.bytes(will.payload);
  w.optionalString(encodeProperties(will.properties));
  return w.done();
}

export function decodeWill(value: Buffer): StoredWill {
  const r = new Reader(value);
  r.format();
  const dueAt = r.double();
  const qos = r.byte() as QoS;
  const retain = r.byte() === 1;
  const topic = r.string();
  const payload = r.bytes();
  const properties = decodeProperties<Will['properties']>(r.optionalString());
  r.end();
  const will: Will = { topic, payload, qos, retain };
  if (properties !== undefined) will.properties = properties;
  return { will, dueAt };
}
