/**
 * Publisher back-pressure for QoS 0 (README "Slow-consumer policy"): a fast publisher is paced
 * to the subscribers that read (no loss), a subscriber that stops reading holds it back for a
 * bounded time only, then loses QoS 0 beyond the socket bound. Raw sockets on both sides, so
 * the publisher really is faster than any library. Assertions are counts and order, no timings.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Decoder, encode, type Packet } from '@hato/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, startBroker, type TestBroker, waitFor } from './helpers.js';

/** A raw 3.1.1 client: counts PUBLISH packets and checks the sequence number in their payload. */
class RawClient {
  readonly socket: Socket;
  private readonly decoder = new Decoder({ protocolVersion: 4 });
  publishes = 0;
  /** Index of the first PUBLISH whose sequence number was not the expected one, or -1. */
  firstOutOfOrder = -1;
  /** False once a sequence number was not above the previous one (gaps are allowed here). */
  increasing = true;
  private lastSeq = -1;
  readonly seen = new Set<string>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
  }

  static async connect(port: number, clientId: string): Promise<RawClient> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    socket.write(encode({ type: 'connect', protocolVersion: 4, clientId, cleanStart: true, keepAlive: 0 }, 4));
    await waitFor(() => client.seen.has('connack'));
    return client;
  }

  async subscribe(topic: string): Promise<void> {
    this.socket.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: 0 }] }, 4));
    await waitFor(() => this.seen.has('suback'));
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let packet: Packet | null = this.decoder.next(); packet !== null; packet = this.decoder.next()) {
      this.seen.add(packet.type);
      if (packet.type !== 'publish') continue;
      const p = packet.payload;
      const seq = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
      if (seq !== this.publishes && this.firstOutOfOrder === -1) this.firstOutOfOrder = this.publishes;
      if (seq <= this.lastSeq) this.increasing = false;
      this.lastSeq = seq;
      this.publishes++;
    }
  }
}

/** `count` QoS 0 PUBLISH packets to `topic`, payload `size` bytes starting with the sequence number, in chunks of 1000. */
function burst(topic: string, count: number, size: number): Buffer[] {
  const template = Buffer.from(encode({ type: 'publish', topic, payload: new Uint8Array(size).fill(0x61), qos: 0, retain: false, dup: false }, 4));
  const at = template.length - size;
  const chunks: Buffer[] = [];
  for (let start = 0; start < count; start += 1000) {
    const n = Math.min(1000, count - start);
    const chunk = Buffer.allocUnsafe(n * template.length);
    for (let i = 0; i < n; i++) {
      template.copy(chunk, i * template.length);
      chunk.writeUInt32BE(start + i, i * template.length + at);
    }
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Waits until `client` got `total` PUBLISH packets, or until none came for 3 s (the broker has
 * nothing more for it: the count assertion that follows then says how many were lost).
 */
async function receiveAll(client: RawClient, total: number): Promise<void> {
  let last = -1;
  let idle = 0;
  while (client.publishes < total && idle < 30) {
    idle = client.publishes === last ? idle + 1 : 0;
    last = client.publishes;
    await delay(100);
  }
}

type BrokerConnection = { id: string; droppedMessages: number; stream: { writableLength: number } };

function connectionOf(b: TestBroker, id: string): BrokerConnection {
  const connections = (b.broker as unknown as { connections: Set<BrokerConnection> }).connections;
  return [...connections].find((c) => c.id === id)!;
}

let b: TestBroker | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await b?.close();
  b = undefined;
});

async function client(port: number, id: string): Promise<RawClient> {
  const c = await RawClient.connect(port, id);
  sockets.push(c.socket);
  return c;
}

describe('QoS 0 publisher back-pressure', () => {
  it('[non-normative] a reading subscriber gets every message of a 100k QoS 0 burst, in order', async () => {
    b = await startBroker();
    const sub = await client(b.port, 'sub');
    await sub.subscribe('burst');
    const pub = await client(b.port, 'pub');
    const total = 100_000;
    for (const chunk of burst('burst', total, 64)) pub.socket.write(chunk);
    await receiveAll(sub, total);
    expect(sub.publishes).toBe(total);
    expect(sub.firstOutOfOrder).toBe(-1);
    expect(connectionOf(b, 'sub').droppedMessages).toBe(0);
    expect(b.broker.delivery.dropped).toBe(0);
  }, 90_000);

  it('[non-normative] a subscriber that stops reading holds the publisher for a bounded time only: the reading one gets everything, the stalled one loses QoS 0 beyond the bound', async () => {
    const maxBytes = 1024 * 1024;
    b = await startBroker({ maxWriteQueueBytes: maxBytes });
    const stuck = await client(b.port, 'stuck');
    await stuck.subscribe('flood');
    stuck.socket.pause();
    const reader = await client(b.port, 'reader');
    await reader.subscribe('flood');
    const pub = await client(b.port, 'pub');
    // 50k × 512 B ≈ 26 MB: far more than the stuck client's socket buffers and the bound hold.
    const total = 50_000;
    for (const chunk of burst('flood', total, 512)) pub.socket.write(chunk);
    await receiveAll(reader, total);
    expect(reader.publishes).toBe(total);
    expect(reader.firstOutOfOrder).toBe(-1);
    expect(connectionOf(b, 'reader').droppedMessages).toBe(0);
    const stuckConnection = connectionOf(b, 'stuck');
    expect(stuckConnection.droppedMessages).toBeGreaterThan(0);
    expect(b.broker.delivery.dropped).toBe(stuckConnection.droppedMessages);
    // Memory stays bounded: what waits for the stuck client is within the bound plus one message.
    expect(stuckConnection.stream.writableLength).toBeLessThanOrEqual(maxBytes + 600);
  }, 90_000);

  it('[non-normative] two clients flooding each other that read only once their own write is out do not deadlock', async () => {
    b = await startBroker({ maxWriteQueueBytes: 1024 * 1024 });
    const a = await client(b.port, 'a');
    await a.subscribe('to-a');
    const c = await client(b.port, 'c');
    await c.subscribe('to-c');
    // Like a client with blocking writes: no reading until its whole burst has been written.
    a.socket.pause();
    c.socket.pause();
    const ping = Buffer.from(encode({ type: 'pingreq' }, 4));
    const floods = [
      { from: a, chunks: burst('to-c', 20_000, 512) },
      { from: c, chunks: burst('to-a', 20_000, 512) },
    ];
    for (const { from, chunks } of floods) {
      for (const chunk of chunks) from.socket.write(chunk);
      from.socket.write(ping, () => from.socket.resume());
    }
    // PINGRESP comes after each burst was read in full: neither stayed paused for the other.
    await waitFor(() => a.seen.has('pingresp') && c.seen.has('pingresp'), 60_000);
    expect(a.publishes).toBeGreaterThan(0);
    expect(c.publishes).toBeGreaterThan(0);
    expect(a.increasing && c.increasing).toBe(true);
  }, 90_000);
});
