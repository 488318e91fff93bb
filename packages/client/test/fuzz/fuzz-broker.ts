/**
 * The fuzz broker: a real TCP server on 127.0.0.1 that plays a valid MQTT server
 * session for each client connection (CONNACK, answers to what the client sends,
 * unsolicited PUBLISH / acks / AUTH / DISCONNECT) and mutates it: bytes of a packet
 * changed, packets dropped, duplicated or held back (reordered), streams chunked. A case
 * is found by the CONNECT user name; its Rng makes the session reproducible from the seed.
 * It also checks the client's side of the wire: every byte the client sends must decode.
 * Clients reach it over loopback TCP (`port`) or, much cheaper, over an in-process
 * MemoryPipe (`memoryTransport`, the same server session behind it).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Decoder, type Packet } from '@hato/protocol';
import type { TransportFactory } from '../../src/node.js';
import { MemoryPipe, type Wire, type WireHandlers } from './memory-pipe.js';
import { chunks, MUTATIONS, type Rng } from './mutate.js';
import { connackFor, reply, unsolicited } from './session-script.js';
import type { Version } from './server-packets.js';

export interface FuzzCase {
  readonly id: string;
  readonly rng: Rng;
  readonly version: Version;
  /** Probability that a packet the broker sends is mutated, dropped, duplicated or held back. */
  readonly mutationRate: number;
  /** Connections that get a scripted (mutated) session; later ones get a plain, quiet one. */
  readonly scripted: number;
  connections: number;
  /** Called once the scripted connections are used up (the client side may end then). */
  onScriptDone(): void;
  /**
   * Called when a scripted session has sent all it was going to send and left the
   * connection open: nothing more happens on it unless the client acts (keep alive).
   */
  onQuiet(): void;
  /** Mutations applied, by name (for the report). */
  readonly mutations: Map<string, number>;
}

export class FuzzBroker {
  private readonly server: Server;
  private readonly cases = new Map<string, FuzzCase>();
  readonly sockets = new Set<Socket>();
  /** Invariant violations seen from the broker's side (the client sent bytes that do not decode). */
  readonly findings: string[] = [];
  port = 0;

  constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  add(c: FuzzCase): void {
    this.cases.set(c.id, c);
  }

  remove(id: string): void {
    this.cases.delete(id);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const p of this.pipes) p.wire.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Open connections over the memory pipe (checked empty at the end like `sockets`). */
  readonly pipes = new Set<MemoryPipe>();

  /** A client transport factory that connects to this broker through a MemoryPipe. */
  readonly memoryTransport: TransportFactory = (_target, _options, handlers) =>
    new MemoryPipe(handlers, (wire, pipe) => {
      this.pipes.add(pipe);
      pipe.server = this.attach(wire, () => this.pipes.delete(pipe));
    }).transport;

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    const handlers = this.attach(socket, () => this.sockets.delete(socket));
    socket.on('close', () => handlers.onClose());
    socket.on('data', (chunk: Uint8Array) => handlers.onData(chunk));
  }

  /** The server side of one connection, whatever carries it. */
  private attach(wire: Wire, onClose: () => void): WireHandlers {
    const decoder = new Decoder();
    let session: ServerSession | undefined;
    const onData = (chunk: Uint8Array) => {
      decoder.push(chunk);
      for (;;) {
        let packet: Packet | null;
        try {
          packet = decoder.next();
        } catch (err) {
          this.findings.push(`the client sent bytes that do not decode: ${(err as Error).message}`);
          wire.destroy();
          return;
        }
        if (packet === null) return;
        if (session === undefined) session = this.open(wire, packet);
        else session.onPacket(packet);
        if (session === undefined) return;
      }
    };
    return { onData, onClose };
  }

  private open(socket: Wire, packet: Packet): ServerSession | undefined {
    const c = packet.type === 'connect' ? this.cases.get(packet.username ?? '') : undefined;
    if (packet.type !== 'connect' || c === undefined) {
      if (packet.type !== 'connect') this.findings.push(`the client's first packet was ${packet.type}, not CONNECT`);
      socket.destroy();
      return undefined;
    }
    const nth = c.connections++;
    const session = new ServerSession(socket, c, nth < c.scripted, this.port);
    session.start(packet.cleanStart);
    if (nth + 1 === c.scripted) c.onScriptDone();
    return session;
  }
}

/** One connection's server side. */
class ServerSession {
  private held: Uint8Array[] = [];

  constructor(
    private readonly socket: Wire,
    private readonly c: FuzzCase,
    private readonly scripted: boolean,
    private readonly port: number,
  ) {}

  start(clean: boolean): void {
    const { rng } = this.c;
    this.send(connackFor(this.c.version, rng, this.scripted, clean, this.port));
    if (!this.scripted) return;
    const extra = rng.int(5);
    let i = 0;
    const next = () => {
      if (this.socket.destroyed) return;
      if (i++ < extra) {
        this.send(unsolicited(this.c.version, rng, this.port));
        setImmediate(next);
        return;
      }
      this.flushHeld();
      if (rng.chance(0.4)) this.socket.end();
      else this.c.onQuiet();
    };
    setImmediate(next);
  }

  onPacket(packet: Packet): void {
    if (packet.type === 'disconnect') {
      this.socket.end();
      return;
    }
    for (const bytes of reply(this.c.version, packet, this.c.rng, this.scripted)) this.send(bytes);
  }

  /** Writes a packet, or (scripted, by chance) a mutated, dropped, doubled or held-back one. */
  private send(bytes: Uint8Array): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const { rng } = this.c;
    if (this.scripted && rng.chance(this.c.mutationRate)) {
      const action = rng.int(MUTATIONS.length + 3);
      if (action < MUTATIONS.length) {
        const [name, mutate] = MUTATIONS[action]!;
        this.count(name);
        bytes = mutate(bytes, rng);
      } else if (action === MUTATIONS.length) {
        this.count('drop');
        return;
      } else if (action === MUTATIONS.length + 1) {
        this.count('duplicate');
        this.write(bytes);
      } else {
        this.count('hold-back');
        this.held.push(bytes);
        return;
      }
    }
    this.write(bytes);
    if (this.held.length > 0 && rng.chance(0.5)) this.flushHeld();
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const b of held) this.write(b);
  }

  private write(bytes: Uint8Array): void {
    for (const chunk of chunks(bytes, this.c.rng)) this.socket.write(chunk);
  }

  private count(name: string): void {
    this.c.mutations.set(name, (this.c.mutations.get(name) ?? 0) + 1);
  }
}
