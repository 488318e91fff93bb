/**
 * The fuzz broker's own builder for the packets a server sends (and the CONNACK
 * variants), written from the spec and not shared with @hato/protocol, so a codec bug
 * cannot hide in both the bytes sent and the parser that reads them.
 */
export type Version = 4 | 5;

/** A property as [identifier, wire type, value]. */
export type Prop =
  | [id: number, type: 'byte' | 'u16' | 'u32' | 'varint', value: number]
  | [id: number, type: 'utf8' | 'binary', value: string | Uint8Array]
  | [id: number, type: 'pair', value: [string, string]];

const enc = new TextEncoder();

export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const bytes = (v: string | Uint8Array) => (typeof v === 'string' ? enc.encode(v) : v);
const str = (v: string | Uint8Array) => {
  const b = bytes(v);
  return [...u16(b.length), ...b];
};

function propertyBytes(props: Prop[]): number[] {
  const body: number[] = [];
  for (const [id, type, value] of props) {
    body.push(id);
    if (type === 'byte') body.push(value & 0xff);
    else if (type === 'u16') body.push(...u16(value));
    else if (type === 'u32') body.push(...u32(value));
    else if (type === 'varint') body.push(...varint(value));
    else if (type === 'pair') body.push(...str(value[0]), ...str(value[1]));
    else body.push(...str(value as string | Uint8Array));
  }
  return [...varint(body.length), ...body];
}

export function frame(firstByte: number, body: number[]): Uint8Array {
  return Uint8Array.from([firstByte, ...varint(body.length), ...body]);
}

const withProps = (v: Version, props: Prop[] | undefined) => (v === 5 ? propertyBytes(props ?? []) : []);

export function connack(v: Version, sessionPresent: boolean, code: number, props?: Prop[]): Uint8Array {
  return frame(0x20, [sessionPresent ? 1 : 0, code, ...withProps(v, props)]);
}

export interface PublishSpec {
  topic: string | Uint8Array;
  qos: 0 | 1 | 2;
  packetId?: number;
  payload?: Uint8Array;
  retain?: boolean;
  dup?: boolean;
  props?: Prop[];
}

export function publish(v: Version, p: PublishSpec): Uint8Array {
  const first = 0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  const id = p.qos > 0 ? u16(p.packetId ?? 1) : [];
  return frame(first, [...str(p.topic), ...id, ...withProps(v, p.props), ...(p.payload ?? [])]);
}

/** PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70. */
export function ack(first: 0x40 | 0x50 | 0x62 | 0x70, v: Version, packetId: number, code = 0, props?: Prop[]): Uint8Array {
  if (v === 4 || (code === 0 && props === undefined)) return frame(first, u16(packetId));
  return frame(first, [...u16(packetId), code, ...withProps(v, props)]);
}

export function suback(v: Version, packetId: number, codes: number[], props?: Prop[]): Uint8Array {
  return frame(0x90, [...u16(packetId), ...withProps(v, props), ...codes]);
}

export function unsuback(v: Version, packetId: number, codes: number[], props?: Prop[]): Uint8Array {
  return frame(0xb0, [...u16(packetId), ...(v === 5 ? [...propertyBytes(props ?? []), ...codes] : [])]);
}

export const pingresp = (): Uint8Array => frame(0xd0, []);

export function disconnect(v: Version, code?: number, props?: Prop[]): Uint8Array {
  if (v === 4 || code === undefined) return frame(0xe0, []);
  return frame(0xe0, [code, ...withProps(v, props)]);
}

export function auth(code: number, props?: Prop[]): Uint8Array {
  return frame(0xf0, [code, ...propertyBytes(props ?? [])]);
}
