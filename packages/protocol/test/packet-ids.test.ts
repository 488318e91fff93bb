import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketIdAllocator } from '../src/index.js';

/** The reference: a flat map of the 65,535 ids, as the allocator had before it kept pages. */
class FlatAllocator {
  private readonly used = new Uint8Array(65_536);
  private last = 0;
  count = 0;
  next(): number | undefined {
    if (this.count >= 65_535) return undefined;
    let id = this.last;
    do id = id === 65_535 ? 1 : id + 1;
    while (this.used[id] === 1);
    this.used[id] = 1;
    this.count++;
    this.last = id;
    return id;
  }
  reserve(id: number): boolean {
    if (id < 1 || id > 65_535 || this.used[id] === 1) return false;
    this.used[id] = 1;
    this.count++;
    return true;
  }
  release(id: number): void {
    if (id >= 1 && id <= 65_535 && this.used[id] === 1) {
      this.used[id] = 0;
      this.count--;
    }
  }
  isInUse(id: number): boolean {
    return id >= 1 && id <= 65_535 && this.used[id] === 1;
  }
}

type Op = { op: 'next'; times: number } | { op: 'release'; pick: number } | { op: 'reserve'; id: number };

describe('PacketIdAllocator pages [MQTT-2.2.1-3]', () => {
  it('allocates nothing until an id is used', () => {
    const a = new PacketIdAllocator();
    expect(a.isInUse(1)).toBe(false);
    a.release(1);
    expect(Object.values(a).some((v) => v instanceof Uint8Array || Array.isArray(v))).toBe(false);
  });

  it('keeps at most a page or two for a session with little in flight, not a 64 KiB map', () => {
    const a = new PacketIdAllocator();
    const live: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      live.push(a.next()!);
      if (live.length > 20) a.release(live.shift()!);
    }
    const pages = (a as unknown as { pages: (Uint32Array | undefined)[] }).pages;
    const bytes = pages.reduce((sum, page) => sum + (page?.byteLength ?? 0), 0);
    expect(bytes).toBeLessThanOrEqual(2 * 260);
    expect(a.inUse).toBe(20);
  });

  it('behaves like a flat map of the 65,535 ids (random operations, across wrap-around)', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('next' as const), times: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('reserve' as const), id: fc.integer({ min: -1, max: 65_536 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops: Op[]) => {
        const a = new PacketIdAllocator();
        const b = new FlatAllocator();
        const live: number[] = [];
        for (const o of ops) {
          if (o.op === 'next') {
            for (let i = 0; i < o.times; i++) {
              const id = a.next();
              expect(id).toBe(b.next());
              if (id !== undefined) live.push(id);
              // Keep the number in flight moderate, so allocation wraps around 65535.
              if (live.length > 3000) {
                const gone = live.splice((i * 7919) % live.length, 1)[0]!;
                a.release(gone);
                b.release(gone);
              }
            }
          } else if (o.op === 'release' && live.length > 0) {
            const gone = live.splice(o.pick % live.length, 1)[0]!;
            a.release(gone);
            b.release(gone);
          } else if (o.op === 'reserve') {
            const took = a.reserve(o.id);
            expect(took).toBe(b.reserve(o.id));
            if (took) live.push(o.id);
          }
          expect(a.inUse).toBe(b.count);
        }
        for (const id of [1, 2, 2047, 2048, 2049, 65_535, ...live.slice(0, 50)]) expect(a.isInUse(id)).toBe(b.isInUse(id));
      }),
      { numRuns: 60 },
    );
  });
});
