/**
 * Property-based round trip and chunking: random packet streams, encoded and split at
 * random points (including one byte at a time), decode to the same packets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decoder, encode, type Packet } from '../src/index.js';
import { anyPacket, connect, versions } from './arbitraries.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function decodeChunks(chunks: Uint8Array[], version: 3 | 4 | 5 | undefined): Packet[] {
  const d = new Decoder({ protocolVersion: version });
  const out: Packet[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let p = d.next(); p !== null; p = d.next()) out.push(p);
  }
  expect(d.buffered).toBe(0);
  return out;
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p)); // empty chunks included on purpose
    prev = p;
  }
  return chunks;
}

describe('decode(encode(p)) = p for generated packets', () => {
  for (const v of versions) {
    it(`every packet type, version ${v}`, () => {
      fc.assert(
        fc.property(anyPacket(v), (p) => {
          const [q] = decodeChunks([encode(p, v)], v);
          expect(q).toEqual(p);
        }),
        { numRuns: 1500 },
      );
    });
  }
});

describe('chunking: any split yields the same packets', () => {
  for (const v of versions) {
    it(`random streams split at random points, version ${v}`, () => {
      fc.assert(
        fc.property(fc.array(anyPacket(v), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (packets, cuts) => {
          const bytes = concat(packets.map((p) => encode(p, v)));
          expect(decodeChunks(split(bytes, cuts), v)).toEqual(packets);
        }),
        { numRuns: 300 },
      );
    });

    it(`one byte at a time, starting with CONNECT on a broker decoder, version ${v}`, () => {
      fc.assert(
        fc.property(connect(v), fc.array(anyPacket(v), { maxLength: 8 }), (first, rest) => {
          const packets = [first, ...rest.filter((p) => p.type !== 'connect')];
          const bytes = concat(packets.map((p) => encode(p, v)));
          const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
          expect(decodeChunks(chunks, undefined)).toEqual(packets);
        }),
        { numRuns: 100 },
      );
    });
  }

  it('many packets in one chunk are decoded in place: payloads are views into the chunk', () => {
    const a = encode({ type: 'publish', topic: 't', payload: Uint8Array.of(1, 2), qos: 0, retain: false, dup: false }, 4);
    const chunk = concat([a, a, a]);
    const d = new Decoder({ protocolVersion: 4 });
    d.push(chunk);
    for (let i = 0; i < 3; i++) {
      const p = d.next() as { payload: Uint8Array };
      expect(p.payload.buffer).toBe(chunk.buffer);
      expect(p.payload.byteOffset).toBe(chunk.byteOffset + i * a.length + 5);
    }
    expect(d.next()).toBeNull();
  });

  it('a packet split across chunks is gathered into one copy, then decoded', () => {
    const a = encode({ type: 'publish', topic: 'topic', payload: new Uint8Array(100).fill(9), qos: 1, retain: false, dup: false, packetId: 3 }, 5);
    const d = new Decoder({ protocolVersion: 5 });
    d.push(a.subarray(0, 1));
    expect(d.next()).toBeNull();
    d.push(a.subarray(1, 50));
    expect(d.next()).toBeNull();
    d.push(a.subarray(50));
    const p = d.next() as { payload: Uint8Array };
    expect(Array.from(p.payload)).toEqual(new Array(100).fill(9));
    expect(d.buffered).toBe(0);
  });

  it('a broker decoder takes its version from CONNECT and then decodes 5.0 packets', () => {
    const d = new Decoder();
    expect(d.protocolVersion).toBeUndefined();
    d.push(encode({ type: 'connect', protocolVersion: 5, clientId: 'c', cleanStart: true, keepAlive: 0 }, 5));
    d.push(encode({ type: 'puback', packetId: 1, reasonCode: 0x10 }, 5));
    expect(d.next()).toMatchObject({ type: 'connect', protocolVersion: 5 });
    expect(d.protocolVersion).toBe(5);
    expect(d.next()).toEqual({ type: 'puback', packetId: 1, reasonCode: 0x10 });
  });
});
