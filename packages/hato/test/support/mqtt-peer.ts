// A minimal MQTT client over one TCP connection (mqtt-packet), for tests that need the exact
// QoS flows under their control across broker restarts: what was acknowledged, what is re-sent.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import * as mqttPacket from 'mqtt-packet';

export type Version = 4 | 5;

export interface PeerOptions {
  clientId: string;
  version: Version;
  /** 3.1.1 clean session / 5.0 clean start. */
  clean: boolean;
  /** 5.0 Session Expiry Interval (s). */
  sessionExpiry?: number;
  will?: mqttPacket.IConnectPacket['will'];
  keepalive?: number;
}

type Handler = (packet: mqttPacket.Packet) => void;

/**
 * One connection: `listen(handler)` for what the broker sends (packets that came before any
 * handler, say in the CONNACK's chunk, wait for the first one), `close` once.
 */
export class Peer extends EventEmitter<{ close: [] }> {
  readonly version: Version;
  private readonly socket: Socket;
  private readonly handlers = new Set<Handler>();
  private backlog: mqttPacket.Packet[] = [];
  closed = false;

  private constructor(socket: Socket, version: Version) {
    super();
    this.socket = socket;
    this.version = version;
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (packet) => {
      if (this.handlers.size === 0) this.backlog.push(packet);
      else for (const handler of [...this.handlers]) handler(packet);
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed = true;
      this.emit('close');
    });
  }

  /** Connects and waits for a successful CONNACK; rejects on refusal or close. */
  static connect(port: number, options: PeerOptions): Promise<{ peer: Peer; sessionPresent: boolean }> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: '127.0.0.1' });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const peer = new Peer(socket, options.version);
        const onClose = (): void => reject(new Error(`${options.clientId}: closed before CONNACK`));
        peer.once('close', onClose);
        const onConnack = (packet: mqttPacket.Packet): void => {
          peer.unlisten(onConnack);
          peer.off('close', onClose);
          const connack = packet as mqttPacket.IConnackPacket;
          const code = connack.reasonCode ?? connack.returnCode ?? 0;
          if (packet.cmd !== 'connack' || code !== 0) {
            peer.destroy();
            reject(new Error(`${options.clientId}: CONNACK ${code}`));
            return;
          }
          resolve({ peer, sessionPresent: connack.sessionPresent });
        };
        peer.listen(onConnack);
        const connect: mqttPacket.IConnectPacket = {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: options.version,
          clientId: options.clientId,
          clean: options.clean,
          keepalive: options.keepalive ?? 60,
        };
        if (options.version === 5 && options.sessionExpiry !== undefined) connect.properties = { sessionExpiryInterval: options.sessionExpiry };
        if (options.will !== undefined) connect.will = options.will;
        peer.send(connect);
      });
    });
  }

  /** Calls `handler` with every packet from now on, and first with those that waited for one. */
  listen(handler: Handler): void {
    this.handlers.add(handler);
    while (this.backlog.length > 0 && this.handlers.has(handler)) handler(this.backlog.shift()!);
  }

  unlisten(handler: Handler): void {
    this.handlers.delete(handler);
  }

  send(packet: mqttPacket.Packet): void {
    if (this.closed) return;
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  /** The next packet of type `cmd`. */
  next<T extends mqttPacket.Packet>(cmd: string, timeoutMs = 10_000): Promise<T> {
    const waiting = this.backlog.findIndex((packet) => packet.cmd === cmd);
    if (waiting !== -1) return Promise.resolve(this.backlog.splice(waiting, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      const onPacket = (packet: mqttPacket.Packet): void => {
        if (packet.cmd === cmd) done(packet as T);
      };
      const onClose = (): void => done(new Error(`closed while waiting for ${cmd}`));
      const done = (result: T | Error): void => {
        clearTimeout(timer);
        this.unlisten(onPacket);
        this.off('close', onClose);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      this.handlers.add(onPacket);
      this.once('close', onClose);
    });
  }

  /** DISCONNECT (normal) and close. */
  disconnect(): Promise<void> {
    this.send({ cmd: 'disconnect' });
    this.socket.end();
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.once('close', () => resolve()));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
