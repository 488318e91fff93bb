/**
 * In-flight store: where QoS 1/2 state is mirrored so that it can outlive the client
 * object (and, with a durable store such as the Node `FileStore`, the process).
 *
 * The client keeps its live state in memory and writes through to the store on every
 * change; `load()` is read once before the first connection. Outgoing entries are in
 * state `publish` (PUBLISH sent, waiting for PUBACK/PUBREC) or `pubrel` (PUBREC
 * received, PUBREL sent, waiting for PUBCOMP); incoming entries are the packet ids of
 * QoS 2 messages delivered but not yet released (PUBREL), kept so a re-sent PUBLISH is
 * not delivered twice.
 */
import type { PublishPacket } from '@hato/protocol';

export interface StoredOutgoing {
  packetId: number;
  state: 'publish' | 'pubrel';
  packet: PublishPacket;
}

export interface StoredState {
  outgoing: StoredOutgoing[];
  incoming: number[];
}

export interface InFlightStore {
  load(): StoredState | Promise<StoredState>;
  putOutgoing(entry: StoredOutgoing): void;
  deleteOutgoing(packetId: number): void;
  putIncoming(packetId: number): void;
  deleteIncoming(packetId: number): void;
  /** Forgets everything (the server said the session is gone). */
  clear(): void;
  /** Makes pending writes durable; the client calls it from `end()`. */
  close(): void | Promise<void>;
}

/**
 * Keeps the state in memory. Pass the same instance to a new client to carry QoS 1/2
 * state over (e.g. a client recreated in the same page or process).
 */
export class MemoryStore implements InFlightStore {
  protected readonly outgoing = new Map<number, StoredOutgoing>();
  protected readonly incoming = new Set<number>();

  load(): StoredState {
    return { outgoing: [...this.outgoing.values()], incoming: [...this.incoming] };
  }
  putOutgoing(entry: StoredOutgoing): void {
    this.outgoing.delete(entry.packetId);
    this.outgoing.set(entry.packetId, { packetId: entry.packetId, state: entry.state, packet: entry.packet });
  }
  deleteOutgoing(packetId: number): void {
    this.outgoing.delete(packetId);
  }
  putIncoming(packetId: number): void {
    this.incoming.add(packetId);
  }
  deleteIncoming(packetId: number): void {
    this.incoming.delete(packetId);
  }
  clear(): void {
    this.outgoing.clear();
    this.incoming.clear();
  }
  close(): void {}

  get size(): number {
    return this.outgoing.size + this.incoming.size;
  }
}
