/**
 * A raw MQTT client for black-box tests: sends bytes exactly as given and parses what
 * the broker sends back into a queue that tests read with expectPacket().
 */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { concat, toHex } from './bytes.js';
import * as build from './builder.js';
import { type ConnackIn, describePacket, PACKET_TYPES, type PacketOf, type PacketTypeName, type ParsedPacket, parsePacket, splitPackets } from './parser.js';

export interface RawClientOptions {
  host?: string;
  /** Protocol level used to parse incoming packets; otherwise taken from the first CONNECT sent. */
  version?: build.MqttVersion;
}

const DEFAULT_TIMEOUT = 3000;

export class RawClient {
  private static readonly open = new Set<RawClient>();
  /** Destroys every client still open (for afterEach hooks). */
  static destroyAll(): void {
    for (const client of RawClient.open) client.destroy();
  }

  static connect(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: options.host ?? '127.0.0.1' });
      socket.setNoDelay(true);
      const onError = (error: Error) => reject(error);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new RawClient(socket, options.version));
      });
    });
  }

  version: build.MqttVersion | undefined;
  /** CONNACK of the last successful handshake(). */
  connack: ConnackIn | undefined;
  closed = false;
  /** Every packet received so far, in order (also those already consumed). */
  readonly history: ParsedPacket[] = [];
  private readonly queue: Array<ParsedPacket | Error> = [];
  private buffer: Uint8Array = new Uint8Array(0);
  private readonly listeners = new Set<() => void>();
  private packetId = 0;
  /** Packet types (by number) counted in `counts` instead of being parsed and queued. */
  private readonly countedTypes = new Set<number>();
  /** Per type name: how many packets of a counted type arrived. */
  readonly counts = new Map<PacketTypeName, number>();

  constructor(
    readonly stream: Duplex,
    version?: build.MqttVersion,
  ) {
    this.version = version;
    RawClient.open.add(this);
    stream.on('data', (chunk: Uint8Array) => this.onData(chunk));
    stream.on('error', () => {});
    // 'end' too: the peer's FIN ends the connection for a test, and a ws stream
    // (createWebSocketStream) emits 'end' but no 'close' when the server drops it.
    const onClosed = () => {
      this.closed = true;
      RawClient.open.delete(this);
      this.notify();
    };
    stream.on('close', onClosed);
    stream.on('end', onClosed);
  }

  /** Next packet id for this client: 1, 2, 3, ... */
  nextId(): number {
    this.packetId = (this.packetId % 0xffff) + 1;
    return this.packetId;
  }

  send(bytes: Uint8Array): void {
    if (this.version === undefined) this.version = sniffVersion(bytes);
    if (!this.closed) this.stream.write(bytes);
  }

  /** Resolves with the next packet; fails on timeout, close, or a different type. */
  async expectPacket<T extends PacketTypeName>(type: T, timeoutMs?: number): Promise<PacketOf<T>>;
  async expectPacket(type?: undefined, timeoutMs?: number): Promise<ParsedPacket>;
  async expectPacket(type?: PacketTypeName, timeoutMs = DEFAULT_TIMEOUT): Promise<ParsedPacket> {
    const what = type ?? 'a packet';
    const ok = await this.waitFor(() => this.queue.length > 0 || this.closed, timeoutMs);
    if (!ok) throw new Error(`expected ${what} within ${timeoutMs} ms, got nothing`);
    const next = this.queue.shift();
    if (next === undefined) throw new Error(`expected ${what}, but the connection was closed`);
    if (next instanceof Error) throw next;
    if (type !== undefined && next.type !== type) throw new Error(`expected ${type}, got ${describePacket(next)}`);
    return next;
  }

  /**
   * Resolves with the first queued packet of `type` matching `match`, leaving other
   * packets queued in order (for flows where unrelated packets may interleave).
   */
  async takePacket<T extends PacketTypeName>(
    type: T,
    match: (packet: PacketOf<T>) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT,
  ): Promise<PacketOf<T>> {
    const find = () =>
      this.queue.findIndex((p) => !(p instanceof Error) && p.type === type && match(p as PacketOf<T>));
    const ok = await this.waitFor(() => find() >= 0 || this.closed, timeoutMs);
    const index = find();
    if (index < 0) throw new Error(`expected ${type} ${ok ? 'before the close' : `within ${timeoutMs} ms`}`);
    return this.queue.splice(index, 1)[0] as PacketOf<T>;
  }

  /** Fails if any packet arrives within `ms`. */
  async expectNoPacket(ms = 300): Promise<void> {
    await this.waitFor(() => this.queue.length > 0, ms);
    const next = this.queue[0];
    if (next instanceof Error) throw next;
    if (next !== undefined) throw new Error(`expected no packet, got ${describePacket(next)}`);
  }

  /** Resolves when the connection is closed; returns the packets still unread. */
  async expectClose(timeoutMs = DEFAULT_TIMEOUT): Promise<ParsedPacket[]> {
    const ok = await this.waitFor(() => this.closed, timeoutMs);
    if (!ok) throw new Error(`expected the connection to close within ${timeoutMs} ms`);
    return this.queue.splice(0).filter((p): p is ParsedPacket => !(p instanceof Error));
  }

  /** Packets received and not yet consumed. */
  get pending(): readonly ParsedPacket[] {
    return this.queue.filter((p): p is ParsedPacket => !(p instanceof Error));
  }

  /** Sends CONNECT and expects a successful CONNACK (return/reason code 0). */
  async handshake(options: build.ConnectOptions = {}, timeoutMs?: number): Promise<ConnackIn> {
    this.version = options.version ?? 4;
    this.send(build.connect(options));
    const connack = await this.expectPacket('connack', timeoutMs);
    if (connack.reasonCode !== 0) throw new Error(`CONNACK refused: ${describePacket(connack)}`);
    this.connack = connack;
    return connack;
  }

  /** SUBSCRIBE and wait for its SUBACK (checks the packet id). */
  async subscribe(
    subscriptions: string | ReadonlyArray<build.Subscription>,
    options: { qos?: number; properties?: build.SubscribeOptions['properties'] } = {},
  ): Promise<PacketOf<'suback'>> {
    const list = typeof subscriptions === 'string' ? [{ filter: subscriptions, qos: options.qos ?? 0 }] : subscriptions;
    const packetId = this.nextId();
    this.send(build.subscribe({ version: this.version, packetId, subscriptions: list, properties: options.properties }));
    const suback = await this.expectPacket('suback');
    if (suback.packetId !== packetId) throw new Error(`SUBACK id ${suback.packetId}, expected ${packetId}`);
    return suback;
  }

  /** Sends a PUBLISH with this client's version (no acknowledgement handling). */
  publish(options: Omit<build.PublishOptions, 'version'>): void {
    this.send(build.publish({ ...options, version: this.version }));
  }

  /** Publishes and completes the QoS 1/2 flow as sender; returns the last ack. */
  async publishAcked(options: Omit<build.PublishOptions, 'version' | 'packetId'>): Promise<PacketOf<'puback' | 'pubcomp'> | undefined> {
    const qos = options.qos ?? 0;
    const packetId = qos > 0 ? this.nextId() : undefined;
    this.publish({ ...options, packetId });
    if (qos === 0 || packetId === undefined) return undefined;
    // Acks are matched by id: PUBLISHes to this client may interleave with them.
    const same = (ack: { packetId: number }) => ack.packetId === packetId;
    if (qos === 1) return this.takePacket('puback', same);
    await this.takePacket('pubrec', same);
    this.send(build.pubrel(packetId));
    return this.takePacket('pubcomp', same);
  }

  /** Acknowledges a received PUBLISH as receiver (QoS 2: PUBREC, wait PUBREL, PUBCOMP). */
  async ack(packet: PacketOf<'publish'>): Promise<void> {
    if (packet.qos === 0 || packet.packetId === undefined) return;
    if (packet.qos === 1) return this.send(build.puback(packet.packetId));
    const id = packet.packetId;
    this.send(build.pubrec(id));
    await this.takePacket('pubrel', (rel) => rel.packetId === id);
    this.send(build.pubcomp(id));
  }

  /** Expects `count` PUBLISH packets in a row. */
  async expectPublishes(count: number, timeoutMs = DEFAULT_TIMEOUT): Promise<PacketOf<'publish'>[]> {
    const out: PacketOf<'publish'>[] = [];
    for (let i = 0; i < count; i++) out.push(await this.expectPacket('publish', timeoutMs));
    return out;
  }

  /** Sends DISCONNECT and ends the stream. */
  disconnect(options: Omit<build.DisconnectOptions, 'version'> = {}): void {
    this.send(build.disconnect({ ...options, version: this.version }));
    this.close();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Half-closes (FIN) the connection. */
  close(): void {
    this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
    RawClient.open.delete(this);
  }

  private onData(chunk: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? new Uint8Array(chunk) : concat([this.buffer, chunk]);
    try {
      const { packets, rest } = splitPackets(this.buffer);
      this.buffer = rest;
      for (const raw of packets) this.enqueue(raw);
    } catch (error) {
      this.queue.push(error as Error);
      this.buffer = new Uint8Array(0);
    }
    this.notify();
  }

  /**
   * From now on, packets of `type` are only counted (see `counts`), not parsed or queued:
   * for floods where keeping every packet would distort memory measurements.
   */
  countOnly(type: PacketTypeName): void {
    this.countedTypes.add(PACKET_TYPES.indexOf(type));
  }

  private enqueue(raw: Uint8Array): void {
    const typeNumber = raw[0]! >> 4;
    if (this.countedTypes.has(typeNumber)) {
      const name = PACKET_TYPES[typeNumber]!;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      return;
    }
    try {
      const packet = parsePacket(raw, this.version ?? 4);
      this.history.push(packet);
      this.queue.push(packet);
    } catch (error) {
      this.queue.push(new Error(`unparsable packet from broker (${toHex(raw)}): ${(error as Error).message}`));
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolves true once `done()` holds (checked on every event), false after timeoutMs. */
  private waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(result);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.listeners.add(check);
    });
  }
}

/** Reads the protocol level of a CONNECT packet, if `bytes` starts with one. */
function sniffVersion(bytes: Uint8Array): build.MqttVersion | undefined {
  if (bytes[0] !== 0x10) return undefined;
  let pos = 1;
  while (pos < 5 && (bytes[pos] ?? 0) & 0x80) pos++;
  pos++;
  const nameLength = ((bytes[pos] ?? 0) << 8) | (bytes[pos + 1] ?? 0);
  const level = bytes[pos + 2 + nameLength];
  return level === 3 || level === 4 || level === 5 ? level : undefined;
}

/** Opens a TCP client and completes a CONNECT/CONNACK handshake (CONNACK must succeed). */
export async function connectAndHandshake(port: number, options: build.ConnectOptions = {}): Promise<RawClient> {
  const client = await RawClient.connect(port, { version: options.version ?? 4 });
  try {
    await client.handshake(options);
  } catch (error) {
    client.destroy();
    throw error;
  }
  return client;
}
