/**
 * The decoder keeps no pushed chunk alive once it has decoded what it needs from it: not the
 * reader after a packet, not a big chunk whose tail is the start of an unfinished packet (only
 * those bytes are kept, copied), not a big buffer a queued chunk is a view into. A chunk kept
 * alive by an idle connection costs its whole size (64 KiB for a socket read).
 *
 * Checked with a WeakRef to the chunk's ArrayBuffer and forced garbage collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Decoder, encode, type Packet, type PublishPacket } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CHUNK = 64 * 1024;

/** True once nothing holds the buffer (WeakRefs are cleared only between turns). */
async function collected(ref: WeakRef<ArrayBuffer>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

const connectBytes = encode(
  {
    type: 'connect',
    protocolVersion: 5,
    clientId: 'retention',
    cleanStart: true,
    keepAlive: 60,
    password: new Uint8Array(1000).fill(7),
    will: { topic: 'w', payload: new Uint8Array(500).fill(9), qos: 1, retain: false, properties: { correlationData: new Uint8Array(16) } },
  },
  5,
);
const publishBytes = (size: number) => encode({ type: 'publish', topic: 't', payload: new Uint8Array(size).fill(3), qos: 1, packetId: 7, retain: false, dup: false }, 5);

/** `parts` copied at the start of a new 64 KiB buffer; returns the view of them and a WeakRef to the buffer. */
function bigChunk(parts: Uint8Array[]): { chunk: Uint8Array; ref: WeakRef<ArrayBuffer> } {
  const buffer = new ArrayBuffer(CHUNK);
  const chunk = new Uint8Array(buffer);
  let at = 0;
  for (const part of parts) {
    chunk.set(part, at);
    at += part.length;
  }
  return { chunk: chunk.subarray(0, at), ref: new WeakRef(buffer) };
}

/**
 * Pushes `parts` in one big chunk and decodes what it can: returns the packet types and a
 * WeakRef to the chunk's buffer. (A plain function: the locals of a suspended async test
 * would keep the chunk alive themselves.)
 */
function pushBig(decoder: Decoder, parts: Uint8Array[]): { types: string[]; ref: WeakRef<ArrayBuffer> } {
  const { chunk, ref } = bigChunk(parts);
  decoder.push(chunk);
  return { types: drain(decoder).map((p) => p.type), ref };
}

function drain(decoder: Decoder): Packet[] {
  const out: Packet[] = [];
  for (let p = decoder.next(); p !== null; p = decoder.next()) out.push(p);
  return out;
}

describe('Decoder: no retained view of a pushed chunk [DESIGN]', () => {
  it('after the last packet of a chunk is decoded (and dropped), the chunk can be collected', async () => {
    const decoder = new Decoder();
    const { types, ref } = pushBig(decoder, [connectBytes, publishBytes(100)]);
    expect(types).toEqual(['connect', 'publish']);
    expect(await collected(ref)).toBe(true);
    expect(decoder.buffered).toBe(0);
  });

  it('a chunk ending in the start of a packet: only those bytes are kept, and the packet completes', async () => {
    const decoder = new Decoder();
    const tail = publishBytes(3000);
    const { types, ref } = pushBig(decoder, [connectBytes, tail.subarray(0, 10)]);
    expect(types).toEqual(['connect']);
    expect(await collected(ref)).toBe(true);
    expect(decoder.buffered).toBe(7); // its fixed header (3 of the 10 bytes) is already read
    decoder.push(tail.subarray(10));
    const [publish] = drain(decoder) as PublishPacket[];
    expect(publish?.payload).toEqual(new Uint8Array(3000).fill(3));
  });

  it('a view into a big buffer queued behind an unfinished packet does not keep that buffer', async () => {
    const decoder = new Decoder({ protocolVersion: 5 });
    const packet = publishBytes(5000);
    decoder.push(packet.slice(0, 100));
    expect(decoder.next()).toBeNull();
    const { types, ref } = pushBig(decoder, [packet.subarray(100, 200)]);
    expect(types).toEqual([]);
    expect(await collected(ref)).toBe(true);
    decoder.push(packet.subarray(200));
    const [publish] = drain(decoder) as PublishPacket[];
    expect(publish?.payload).toEqual(new Uint8Array(5000).fill(3));
  });

  it('a chunk that holds a whole packet is not copied: its fields are views (they die with the packet)', () => {
    const decoder = new Decoder();
    const { chunk } = bigChunk([connectBytes]);
    decoder.push(chunk);
    const [connect] = drain(decoder);
    expect(connect?.type === 'connect' && connect.password?.buffer).toBe(chunk.buffer);
  });
});
