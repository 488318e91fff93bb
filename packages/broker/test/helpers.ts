import { connect as netConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { Broker, type BrokerOptions } from '../src/index.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  close(): Promise<void>;
}

/** A broker on a free 127.0.0.1 port. */
export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const broker = new Broker(options);
  const listener = await broker.listen({ port: 0, host: '127.0.0.1' });
  return { broker, port: listener.port, close: () => broker.close() };
}

const clients = new Set<MqttClient>();

/** An MQTT.js client, connected (rejects on a refused CONNACK). */
export function connectClient(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.add(client);
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Ends every client connectClient made (call in afterEach). */
export async function endClients(): Promise<void> {
  await Promise.all([...clients].map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))));
  clients.clear();
}

/** Collects messages from a client. */
export function collect(client: MqttClient): { topic: string; payload: string; packet: mqtt.IPublishPacket }[] {
  const out: { topic: string; payload: string; packet: mqtt.IPublishPacket }[] = [];
  client.on('message', (topic, payload, packet) => out.push({ topic, payload: payload.toString(), packet }));
  return out;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true (or throws after `ms`). */
export async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('waitFor timed out');
    await delay(10);
  }
}

/** A raw TCP socket that records everything it receives. */
export interface RawSocket {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
  send(bytes: number[] | Buffer): void;
}

export function rawConnect(port: number): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = netConnect(port, '127.0.0.1');
    const closedPromise = new Promise<void>((done) => socket.once('close', () => {
      closed = true;
      done();
    }));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed: closedPromise,
        isClosed: () => closed,
        send: (bytes) => socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)),
      }),
    );
    socket.once('error', reject);
  });
}

/** A minimal hand-built CONNECT (independent of the codec under test). */
export function rawConnectPacket(clientId: string, options: { level?: number; name?: string; clean?: boolean; keepAlive?: number } = {}): Buffer {
  const name = Buffer.from(options.name ?? (options.level === 3 ? 'MQIsdp' : 'MQTT'));
  const id = Buffer.from(clientId);
  const level = options.level ?? 4;
  const keepAlive = options.keepAlive ?? 0;
  const body = [0, name.length, ...name, level, options.clean === false ? 0 : 2, keepAlive >> 8, keepAlive & 0xff];
  if (level === 5) body.push(0); // no properties
  body.push(id.length >> 8, id.length & 0xff, ...id);
  return Buffer.from([0x10, body.length, ...body]);
}

/**
 * A raw client speaking through mqtt-packet (an encoder/parser independent of @hato/protocol):
 * send packet objects or bytes, await received packets one by one.
 */
export class RawClient {
  readonly packets: mqttPacket.Packet[] = [];
  private readIndex = 0;
  private readonly socket: Socket;
  private readonly version: 3 | 4 | 5;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: Socket, version: 3 | 4 | 5) {
    this.socket = socket;
    this.version = version;
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (packet: mqttPacket.Packet) => this.packets.push(packet));
    parser.on('error', () => {});
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static open(port: number, version: 3 | 4 | 5 = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawClient(socket, version)));
      socket.once('error', reject);
    });
  }

  /** Opens and sends CONNECT; resolves with the CONNACK. */
  static async connect(port: number, connect: Partial<mqttPacket.IConnectPacket> & { protocolVersion?: 3 | 4 | 5 } = {}): Promise<{ client: RawClient; connack: mqttPacket.IConnackPacket }> {
    const version = connect.protocolVersion ?? 4;
    const client = await RawClient.open(port, version);
    client.send({ cmd: 'connect', clientId: 'raw', protocolVersion: version, protocolId: version === 3 ? 'MQIsdp' : 'MQTT', clean: true, keepalive: 0, ...connect } as mqttPacket.IConnectPacket);
    const connack = (await client.next('connack')) as mqttPacket.IConnackPacket;
    return { client, connack };
  }

  send(packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: number[] | Buffer): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** The next received packet not read yet (optionally: the next one of `cmd`, skipping others). */
  async next(cmd?: mqttPacket.PacketCmd, ms = 3000): Promise<mqttPacket.Packet> {
    const start = Date.now();
    for (;;) {
      while (this.readIndex < this.packets.length) {
        const packet = this.packets[this.readIndex++]!;
        if (cmd === undefined || packet.cmd === cmd) return packet;
      }
      if (this.closed) throw new Error(`closed while waiting for ${cmd ?? 'a packet'}`);
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${cmd ?? 'a packet'}`);
      await delay(5);
    }
  }

  /** Waits for the socket to close (or throws after ms). */
  async waitClosed(ms = 3000): Promise<void> {
    await Promise.race([this.closedPromise, delay(ms).then(() => Promise.reject(new Error('socket did not close')))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
