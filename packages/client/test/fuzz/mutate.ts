/**
 * Seeded randomness and the mutations the fuzz broker applies to the valid packets of a
 * server session: bit flips, boundary bytes, truncation, a wrong remaining length,
 * invalid UTF-8, garbage, and whole-packet changes (drop, duplicate, reorder) applied
 * by the session itself.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const BOUNDARY = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xed];
/** Byte sequences that are not valid MQTT UTF-8: overlong NUL, a surrogate, NUL, U+FFFF-ish, a lone continuation. */
const BAD_UTF8 = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0x00], [0xef, 0xbf, 0xbf], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

export type Mutation = (packet: Uint8Array, rng: Rng) => Uint8Array;

const flipBit: Mutation = (p, rng) => {
  const out = p.slice();
  const i = rng.int(out.length);
  out[i]! ^= 1 << rng.int(8);
  return out;
};

const boundaryByte: Mutation = (p, rng) => {
  const out = p.slice();
  out[rng.int(out.length)] = rng.pick(BOUNDARY);
  return out;
};

/** Cut short: the remaining length still announces the full size (the rest never comes) or is fixed up to match. */
const truncate: Mutation = (p, rng) => {
  const cut = p.subarray(0, 1 + rng.int(Math.max(1, p.length - 1)));
  if (rng.chance(0.5) || cut.length < 2 || p[1]! >= 0x80) return cut.slice();
  const out = cut.slice();
  out[1] = out.length - 2;
  return out;
};

const wrongLength: Mutation = (p, rng) => {
  const out = p.slice();
  if (out.length > 1) out[1] = rng.chance(0.5) ? rng.int(256) : Math.max(0, out[1]! - 1 - rng.int(3));
  return out;
};

const badUtf8: Mutation = (p, rng) => {
  // Splice an invalid sequence just after the fixed header (where a topic or string starts).
  const seq = rng.pick(BAD_UTF8);
  const at = Math.min(p.length, 4 + rng.int(4));
  const out = new Uint8Array(p.length + seq.length);
  out.set(p.subarray(0, at));
  out.set(seq, at);
  out.set(p.subarray(at), at + seq.length);
  return out;
};

const garbage: Mutation = (p, rng) => {
  const extra = new Uint8Array(1 + rng.int(8));
  for (let i = 0; i < extra.length; i++) extra[i] = rng.int(256);
  const out = new Uint8Array(p.length + extra.length);
  out.set(p);
  out.set(extra, p.length);
  return out;
};

/** Another first byte: a different packet type, or reserved flags set. */
const retype: Mutation = (p, rng) => {
  const out = p.slice();
  out[0] = rng.chance(0.5) ? (rng.int(16) << 4) | (out[0]! & 0x0f) : (out[0]! & 0xf0) | rng.int(16);
  return out;
};

export const MUTATIONS: readonly [string, Mutation][] = [
  ['flip-bit', flipBit],
  ['boundary-byte', boundaryByte],
  ['truncate', truncate],
  ['wrong-length', wrongLength],
  ['bad-utf8', badUtf8],
  ['garbage', garbage],
  ['retype', retype],
];

/** Splits bytes into 1..4 chunks at random points (the client must parse any chunking). */
export function chunks(bytes: Uint8Array, rng: Rng): Uint8Array[] {
  if (bytes.length < 2 || rng.chance(0.6)) return [bytes];
  const cuts = new Set<number>();
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) cuts.add(1 + rng.int(bytes.length - 1));
  const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < points.length; i++) out.push(bytes.subarray(points[i], points[i + 1]));
  return out;
}
