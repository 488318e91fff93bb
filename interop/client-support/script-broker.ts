/**
 * A scripted MQTT "broker" on 127.0.0.1 (port chosen at run time) for driving the CLI
 * and mosquitto_sub / mosquitto_pub through a misbehaving server. Each accepted socket
 * is handed to `script` with its first chunk (the CONNECT); the script writes raw
 * bytes and decides when, or whether, to close.
 */
import { createServer, type Server, type Socket } from 'node:net';

export type Script = (socket: Socket, first: Buffer, nth: number) => void;

export class ScriptBroker {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private waiters: (() => void)[] = [];
  /** Connections accepted so far. */
  connections = 0;
  /** Every byte received, per connection (for checks on what the client sent). */
  readonly received: Buffer[] = [];
  port = 0;

  constructor(script: Script) {
    // allowHalfOpen: a script closes when it means to, not when the client half-closes.
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      const nth = this.connections++;
      this.received[nth] = Buffer.alloc(0);
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('data', (d: Buffer) => {
        this.received[nth] = Buffer.concat([this.received[nth]!, d]);
      });
      socket.once('data', (first: Buffer) => script(socket, first, nth));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Resolves once `n` connections were accepted. */
  async connection(n = 1): Promise<void> {
    while (this.connections < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** CONNACK accepted, 3.1.1 (no properties). */
export const CONNACK_311 = hex('20 02 00 00');

/** The broker: CONNACK, then one packet, then close (every connection). */
export const connackThen =
  (packet: Buffer): Script =>
  (socket) => {
    socket.write(Buffer.concat([CONNACK_311, packet]));
    socket.end();
  };
