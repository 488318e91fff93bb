/**
 * Packet identifier allocation (spec 2.2.1): 1..65535, never one still in use
 * [MQTT-2.2.1-3]. Allocation goes round-robin from the last id handed out, so a just
 * released id is not reused at once (helps when reading traces).
 *
 * The ids in use are bits in pages of 2048 ids (256 bytes each), made when an id in them is
 * first used and dropped once none of theirs is in use and allocation has moved past them:
 * one allocator per session, so a session with nothing in flight costs no bitmap at all, and
 * one with a few messages in flight one or two pages (a flat 65,536-id map was 64 KiB each).
 */
export class PacketIdAllocator {
  /** Page p holds ids p*2048 .. p*2048+2047; word PAGE_WORDS counts its ids in use. */
  private pages: (Uint32Array | undefined)[] | undefined;
  private last = 0;
  private count = 0;

  /** Number of ids currently in use. */
  get inUse(): number {
    return this.count;
  }

  /** A free id, now marked in use; undefined when all 65,535 are in use. */
  next(): number | undefined {
    if (this.count >= 65_535) return undefined;
    let id = this.last;
    do {
      id = id === 65_535 ? 1 : id + 1;
    } while (this.has(id));
    const from = this.last >> PAGE_SHIFT;
    this.last = id;
    this.mark(id);
    // Allocation left a page: it is dropped if nothing in it is in use any more.
    if (id >> PAGE_SHIFT !== from) this.dropIfEmpty(from);
    return id;
  }

  /** Marks a specific id in use (e.g. restoring in-flight messages); false if it already was. */
  reserve(id: number): boolean {
    if (!Number.isInteger(id) || id < 1 || id > 65_535 || this.has(id)) return false;
    this.mark(id);
    return true;
  }

  /** Frees `id`; ignores ids not in use. */
  release(id: number): void {
    if (!this.isInUse(id)) return;
    const p = id >> PAGE_SHIFT;
    const page = this.pages![p]!;
    page[(id & PAGE_MASK) >> 5]! &= ~(1 << (id & 31));
    page[PAGE_WORDS]!--;
    this.count--;
    // The page allocation is in stays (no page churn when one message at a time is in flight).
    if (p !== this.last >> PAGE_SHIFT) this.dropIfEmpty(p);
  }

  isInUse(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= 65_535 && this.has(id);
  }

  /** `id` (1..65535) is in use. */
  private has(id: number): boolean {
    const page = this.pages?.[id >> PAGE_SHIFT];
    return page !== undefined && (page[(id & PAGE_MASK) >> 5]! & (1 << (id & 31))) !== 0;
  }

  /** Sets the bit of a free id. */
  private mark(id: number): void {
    const pages = (this.pages ??= new Array<Uint32Array | undefined>(PAGES).fill(undefined));
    const p = id >> PAGE_SHIFT;
    const page = (pages[p] ??= new Uint32Array(PAGE_WORDS + 1));
    page[(id & PAGE_MASK) >> 5]! |= 1 << (id & 31);
    page[PAGE_WORDS]!++;
    this.count++;
  }

  private dropIfEmpty(p: number): void {
    const pages = this.pages;
    if (pages !== undefined && pages[p]?.[PAGE_WORDS] === 0) pages[p] = undefined;
  }
}

const PAGE_SHIFT = 11;
const PAGE_MASK = (1 << PAGE_SHIFT) - 1;
const PAGE_WORDS = (1 << PAGE_SHIFT) / 32;
const PAGES = 65_536 >> PAGE_SHIFT;
