/**
 * A scripted MQTT server for client tests that need behaviour a real broker will not
 * show on demand (ignoring PINGREQ, withholding acks, re-sending a QoS 2 PUBLISH,
 * redirecting). Each accepted socket is a FakeConnection the test drives by hand.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Decoder, encode, type Packet, type ProtocolVersion } from '@hato/protocol';

export class FakeConnection {
  readonly packets: Packet[] = [];
  version: ProtocolVersion = 5;
  closed = false;
  private readonly decoder = new Decoder();
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Uint8Array) => {
      this.decoder.push(chunk);
      for (let p = this.decoder.next(); p !== null; p = this.decoder.next()) {
        if (p.type === 'connect') this.version = p.protocolVersion;
        this.packets.push(p);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, this.version));
  }

  /** Waits for the n-th packet (1-based) of `type`, counting all received so far. */
  async expect<T extends Packet['type']>(type: T, nth = 1, ms = 5000): Promise<Extract<Packet, { type: T }>> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.packets.filter((p) => p.type === type);
      if (found.length >= nth) return found[nth - 1] as Extract<Packet, { type: T }>;
      if (this.closed) throw new Error(`closed before ${type} #${nth}`);
      if (Date.now() > end) throw new Error(`no ${type} #${nth} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  count(type: Packet['type']): number {
    return this.packets.filter((p) => p.type === type).length;
  }

  /** Answers the CONNECT with an accepting CONNACK. */
  async accept(sessionPresent = false, properties?: Record<string, unknown>): Promise<void> {
    await this.expect('connect');
    const connack: Packet = { type: 'connack', sessionPresent, reasonCode: 0 };
    if (properties && this.version === 5) connack.properties = properties;
    this.send(connack);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((socket) => {
      const c = new FakeConnection(socket);
      this.connections.push(c);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The n-th connection (1-based), waiting for it to arrive. */
  async connection(nth: number, ms = 8000): Promise<FakeConnection> {
    const end = Date.now() + ms;
    while (this.connections.length < nth) {
      if (Date.now() > end) throw new Error(`no connection #${nth}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.connections[nth - 1]!;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
