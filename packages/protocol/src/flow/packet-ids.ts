/**
 * Packet identifier allocation (spec 2.2.1): 1..65535, never one still in use
 * [MQTT-2.2.1-3]. Allocation goes round-robin from the last id handed out, so a just
 * released id is not reused at once (helps when reading traces).
 */
export class PacketIdAllocator {
  private readonly used = new Uint8Array(65_536);
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
    } while (this.used[id] === 1);
    this.used[id] = 1;
    this.count++;
    this.last = id;
    return id;
  }

  /** Marks a specific id in use (e.g. restoring in-flight messages); false if it already was. */
  reserve(id: number): boolean {
    if (!Number.isInteger(id) || id < 1 || id > 65_535 || this.used[id] === 1) return false;
    this.used[id] = 1;
    this.count++;
    return true;
  }

  /** Frees `id`; ignores ids not in use. */
  release(id: number): void {
    if (Number.isInteger(id) && id >= 1 && id <= 65_535 && this.used[id] === 1) {
      this.used[id] = 0;
      this.count--;
    }
  }

  isInUse(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= 65_535 && this.used[id] === 1;
  }
}
