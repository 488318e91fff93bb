/**
 * Fuzz: over a million random and mutated byte streams through the decoder. Every stream
 * must end (no hang) and the decoder may only throw DecodeError subclasses (never a
 * RangeError/TypeError, and never the wrapped "decoder failure" of an internal bug).
 * Every packet that does decode must re-encode stably (see checkReencode).
 * A fixed seed runs 1,000,000 streams; a random seed (printed on failure) runs 250,000 more.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, Decoder, EncodeError, encode, type Packet, type ProtocolVersion } from '../src/index.js';
import { anyPacket, connect } from './arbitraries.js';

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Corpus {
  version: ProtocolVersion;
  packets: Uint8Array[];
}

function buildCorpus(seed: number): Corpus[] {
  return ([3, 4, 5] as const).map((version) => {
    const packets = [...fc.sample(anyPacket(version), { numRuns: 300, seed: seed + version }), ...fc.sample(connect(version), { numRuns: 50, seed })].map(
      (p) => encode(p, version).slice(),
    );
    return { version, packets };
  });
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x10, 0x20, 0x30, 0x62, 0x82, 0xa2, 0xe0, 0xf0];

function mutate(rand: () => number, corpus: Corpus): Uint8Array {
  const pick = () => corpus.packets[Math.floor(rand() * corpus.packets.length)]!;
  const mode = Math.floor(rand() * 8);
  switch (mode) {
    case 0: {
      const out = new Uint8Array(Math.floor(rand() * 48));
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
      return out;
    }
    case 1: {
      const out = pick().slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips && out.length > 0; i++) out[Math.floor(rand() * out.length)]! ^= 1 << Math.floor(rand() * 8);
      return out;
    }
    case 2: {
      const src = pick();
      return src.slice(0, Math.floor(rand() * src.length));
    }
    case 3: {
      const a = pick();
      const b = pick();
      const out = new Uint8Array(a.length + b.length);
      const cut = Math.floor(rand() * a.length);
      const from = Math.floor(rand() * b.length);
      out.set(a.subarray(0, cut));
      out.set(b.subarray(from), cut);
      return out.subarray(0, cut + b.length - from);
    }
    case 4: {
      // random remaining length (1..5 bytes) in front of a valid body
      const src = pick();
      const len = 1 + Math.floor(rand() * 5);
      const out = new Uint8Array(1 + len + src.length);
      out[0] = src[0]!;
      for (let i = 1; i <= len; i++) out[i] = (i < len ? 0x80 : 0) | Math.floor(rand() * 128);
      out.set(src.subarray(2), 1 + len);
      return out.subarray(0, 1 + len + src.length - 2);
    }
    case 5: {
      const out = pick().slice();
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n && out.length > 0; i++) out[Math.floor(rand() * out.length)] = INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
      return out;
    }
    case 6: {
      // several valid packets, then one byte changed
      const parts = [pick(), pick(), pick()];
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        out.set(p, off);
        off += p.length;
      }
      if (rand() < 0.8) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
      return out;
    }
    default: {
      // a valid packet with random bytes inserted
      const src = pick();
      const at = Math.floor(rand() * (src.length + 1));
      const extra = 1 + Math.floor(rand() * 4);
      const out = new Uint8Array(src.length + extra);
      out.set(src.subarray(0, at));
      for (let i = 0; i < extra; i++) out[at + i] = Math.floor(rand() * 256);
      out.set(src.subarray(at), at + extra);
      return out;
    }
  }
}

/**
 * What the decoder accepts the encoder can write back, and that encoding is stable:
 * encode(decode(encode(p))) = encode(p). The one allowed refusal is topic alias 0, which
 * the decoder passes on for TopicAliasReceiver to answer with 0x94.
 */
function checkReencode(p: Packet, version: ProtocolVersion): void {
  const v = p.type === 'connect' ? p.protocolVersion : version;
  let first: Uint8Array;
  try {
    first = encode(p, v).slice();
  } catch (e) {
    if (e instanceof EncodeError && p.type === 'publish' && p.properties?.topicAlias === 0) return;
    throw new Error(`decoded packet cannot be re-encoded: ${String(e)}`);
  }
  const d = new Decoder({ protocolVersion: v });
  d.push(first);
  const again = encode(d.next()!, v);
  if (again.length !== first.length || again.some((b, i) => b !== first[i])) throw new Error('re-encoding is not stable');
}

interface Stats {
  streams: number;
  packets: number;
  errors: number;
}

function run(seed: number, streams: number, corpora: Corpus[]): Stats {
  const rand = prng(seed);
  const stats: Stats = { streams: 0, packets: 0, errors: 0 };
  for (let s = 0; s < streams; s++) {
    const corpus = corpora[Math.floor(rand() * corpora.length)]!;
    const bytes = mutate(rand, corpus);
    // Broker-side decoders (version unknown) see CONNECT-led streams a quarter of the time.
    const version = rand() < 0.25 ? undefined : corpus.version;
    const d = new Decoder({ protocolVersion: version, ...(rand() < 0.1 ? { maximumPacketSize: Math.floor(rand() * 64) } : {}) });
    const chunked = rand() < 0.2;
    let calls = 0;
    try {
      if (chunked) {
        for (let i = 0; i < bytes.length; ) {
          const n = 1 + Math.floor(rand() * 8);
          d.push(bytes.subarray(i, i + n));
          i += n;
          for (let p = d.next(); p !== null; p = d.next()) {
            checkReencode(p, d.protocolVersion!);
            stats.packets++;
            if (++calls > bytes.length + 2) throw new Error(`no progress (seed ${seed}, stream ${s})`);
          }
        }
      } else {
        d.push(bytes);
        for (let p = d.next(); p !== null; p = d.next()) {
          checkReencode(p, d.protocolVersion!);
          stats.packets++;
          if (++calls > bytes.length + 2) throw new Error(`no progress (seed ${seed}, stream ${s})`);
        }
      }
    } catch (e) {
      if (!(e instanceof DecodeError) || e.message.startsWith('decoder failure')) {
        const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        throw new Error(`seed ${seed} stream ${s}: ${String(e)} for bytes ${hex} (version ${version})`, { cause: e });
      }
      stats.errors++;
    }
    stats.streams++;
  }
  return stats;
}

describe('fuzz: random and mutated byte streams', () => {
  const corpora = buildCorpus(42);

  it('1,000,000 streams with the fixed seed end and throw only DecodeError', () => {
    const start = performance.now();
    const stats = run(0x5eed, 1_000_000, corpora);
    const seconds = (performance.now() - start) / 1000;
    console.log(`fuzz fixed seed: ${stats.streams} streams, ${stats.packets} packets decoded, ${stats.errors} DecodeErrors, ${seconds.toFixed(1)} s`);
    expect(stats.streams).toBe(1_000_000);
    // The mutations must exercise both outcomes, or the fuzzer is not doing its job.
    expect(stats.errors).toBeGreaterThan(100_000);
    expect(stats.packets).toBeGreaterThan(100_000);
  }, 120_000);

  it('250,000 streams with a random seed (printed on failure)', () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const start = performance.now();
    const stats = run(seed, 250_000, corpora);
    console.log(`fuzz random seed ${seed}: ${stats.streams} streams, ${((performance.now() - start) / 1000).toFixed(1)} s`);
    expect(stats.streams).toBe(250_000);
  }, 120_000);
});
