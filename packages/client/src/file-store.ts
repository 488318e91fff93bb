/**
 * A durable InFlightStore for Node: the state lives in memory and is written to one
 * JSON file, atomically (write `file.tmp`, then rename over `file`), at most once per
 * tick however many changes happened in it. Payloads and binary properties are base64.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Properties, PublishPacket } from '@hato/protocol';
import { MemoryStore, type StoredOutgoing, type StoredState } from './store.js';

interface FileEntry {
  packetId: number;
  state: 'publish' | 'pubrel';
  topic: string;
  payload: string;
  qos: 1 | 2;
  retain: boolean;
  properties?: Record<string, unknown>;
}

function toFile(e: StoredOutgoing): FileEntry {
  const entry: FileEntry = {
    packetId: e.packetId,
    state: e.state,
    topic: e.packet.topic,
    payload: Buffer.from(e.packet.payload).toString('base64'),
    qos: e.packet.qos as 1 | 2,
    retain: e.packet.retain,
  };
  if (e.packet.properties) {
    const { correlationData, ...rest } = e.packet.properties;
    entry.properties = { ...rest };
    if (correlationData) entry.properties.correlationData = Buffer.from(correlationData).toString('base64');
  }
  return entry;
}

function fromFile(e: FileEntry): StoredOutgoing {
  const packet: PublishPacket = {
    type: 'publish',
    topic: e.topic,
    payload: new Uint8Array(Buffer.from(e.payload, 'base64')),
    qos: e.qos,
    retain: e.retain,
    dup: false,
    packetId: e.packetId,
  };
  if (e.properties) {
    const { correlationData, ...rest } = e.properties;
    packet.properties = rest as Properties;
    if (typeof correlationData === 'string')
      packet.properties.correlationData = new Uint8Array(Buffer.from(correlationData, 'base64'));
  }
  return { packetId: e.packetId, state: e.state, packet };
}

export class FileStore extends MemoryStore {
  private dirty = false;
  private loaded = false;

  constructor(readonly path: string) {
    super();
  }

  override load(): StoredState {
    if (!this.loaded) {
      this.loaded = true;
      let text: string | undefined;
      try {
        text = readFileSync(this.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== undefined) {
        const data = JSON.parse(text) as { outgoing: FileEntry[]; incoming: number[] };
        for (const e of data.outgoing) super.putOutgoing(fromFile(e));
        for (const id of data.incoming) super.putIncoming(id);
      }
    }
    return super.load();
  }
  override putOutgoing(entry: StoredOutgoing): void {
    super.putOutgoing(entry);
    this.schedule();
  }
  override deleteOutgoing(packetId: number): void {
    super.deleteOutgoing(packetId);
    this.schedule();
  }
  override putIncoming(packetId: number): void {
    super.putIncoming(packetId);
    this.schedule();
  }
  override deleteIncoming(packetId: number): void {
    super.deleteIncoming(packetId);
    this.schedule();
  }
  override clear(): void {
    super.clear();
    this.schedule();
  }
  override close(): void {
    this.flush();
  }

  /** Writes the file now if anything changed. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const data = { outgoing: [...this.outgoing.values()].map(toFile), incoming: [...this.incoming] };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.path);
  }

  private schedule(): void {
    if (this.dirty) return;
    this.dirty = true;
    setImmediate(() => this.flush());
  }
}
