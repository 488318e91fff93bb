/**
 * Back-pressure at QoS 0 (back-pressure.ts): a QoS 0 publish resolves once its bytes are
 * handed to the transport under `writeHighWaterMark`; past the mark it resolves at the
 * next 'drain'. A tight loop of awaited publishes against a server that stops reading
 * therefore stalls with a bounded amount buffered instead of growing without end, and
 * goes on when the server reads again. Checked for TCP (a loopback server that pauses)
 * and for the WebSocket transport (a fake WebSocket whose `bufferedAmount` the test sets).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAsync, MqttClient, type WebSocketConstructor, type WebSocketLike, webSocketTransport } from '../src/node.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MARK = 64 * 1024;
/** The write buffer hands at most 64 KiB at once to the transport, plus the message being written. */
const SLACK = 64 * 1024 + 2048;

/** A TCP server that accepts one client (5.0 CONNACK), then reads nothing until `resume()`. */
class StallingServer {
  private readonly server: Server;
  socket: Socket | undefined;
  received = 0;
  port = 0;

  constructor() {
    this.server = createServer((socket) => {
      this.socket = socket;
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(Uint8Array.of(0x20, 0x03, 0x00, 0x00, 0x00)); // CONNACK, 5.0, accepted
        socket.pause();
        socket.on('data', (chunk: Uint8Array) => {
          this.received += chunk.length;
        });
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  resume(): void {
    this.socket?.resume();
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Resolves once `promise` has settled, or reports that it is still pending after the queues ran. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

describe('QoS 0 back-pressure over TCP', () => {
  let server: StallingServer | undefined;
  let client: MqttClient | undefined;
  afterEach(async () => {
    await client?.end({ force: true });
    await server?.close();
    client = undefined;
    server = undefined;
  });

  it('a tight loop of awaited publishes stalls with a bounded buffer while the server does not read, then finishes after drain', { timeout: 60_000 }, async () => {
    server = await new StallingServer().listen();
    client = await connectAsync(`mqtt://127.0.0.1:${server.port}`, { reconnect: false, writeHighWaterMark: MARK });
    const c = client;
    let drains = 0;
    c.on('drain', () => drains++);
    const payload = new Uint8Array(1024);
    const total = 100_000; // 100 MiB: far beyond what the kernel and the mark can hold
    let published = 0;
    let maxBuffered = 0;
    const loop = (async () => {
      for (; published < total; published++) {
        const p = c.publish('bp/t', payload);
        maxBuffered = Math.max(maxBuffered, c.debugCounts().writeBuffered!);
        await p;
      }
    })();
    // Wait until the loop is blocked on a drain: no progress over a few timer turns (the
    // kernel's socket buffers are full by then; they are finite, so this always comes).
    let last = -1;
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      quiet = published === last && !c.writable ? quiet + 1 : 0;
      last = published;
    }
    // The loop waits: the client holds at most the mark (plus one write buffer's worth).
    expect(published).toBeLessThan(total);
    expect(c.debugCounts().writeBuffered).toBeGreaterThanOrEqual(MARK);
    expect(c.debugCounts().writeBuffered).toBeLessThanOrEqual(MARK + SLACK);
    server.resume();
    await loop;
    expect(published).toBe(total);
    expect(drains).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(MARK + SLACK);
  });

  it('memory stays bounded: the heap after 100k awaited 1 KiB publishes (100 MiB) is near where it started', { timeout: 60_000 }, async () => {
    server = await new StallingServer().listen();
    client = await connectAsync(`mqtt://127.0.0.1:${server.port}`, { reconnect: false, writeHighWaterMark: MARK });
    const c = client;
    server.resume();
    gc();
    const before = process.memoryUsage();
    const payload = new Uint8Array(1024);
    let maxHeap = 0;
    for (let i = 0; i < 100_000; i++) {
      await c.publish('bp/m', payload);
      if (i % 10_000 === 0) {
        gc(); // live memory only, while the loop runs
        const m = process.memoryUsage();
        maxHeap = Math.max(maxHeap, m.heapUsed + m.arrayBuffers);
      }
    }
    // Array buffers are freed by a background sweeper after a GC: collect a few times.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const after = process.memoryUsage();
    // 100 MiB went through; without back-pressure the socket's queue holds most of it
    // (writeHighWaterMark Infinity: 110 MiB and more).
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    expect(maxHeap - (before.heapUsed + before.arrayBuffers)).toBeLessThan(24 * 1024 * 1024);
  });

  it('publishes waiting for a drain resolve when the connection is gone (end({ force }))', async () => {
    server = await new StallingServer().listen();
    client = await connectAsync(`mqtt://127.0.0.1:${server.port}`, { reconnect: false, writeHighWaterMark: MARK });
    const payload = new Uint8Array(4096);
    let waiting: Promise<unknown> | undefined;
    for (let i = 0; i < 100_000 && waiting === undefined; i++) {
      const p = client.publish('bp/e', payload);
      if (!client.writable) waiting = p;
      else await p;
    }
    expect(waiting).toBeDefined();
    expect(await isPending(waiting!)).toBe(true);
    await client.end({ force: true });
    await expect(waiting).resolves.toBeUndefined();
  });

  it('under the mark every QoS 0 publish returns the same resolved promise (nothing per message)', async () => {
    server = await new StallingServer().listen();
    server.resume();
    client = await connectAsync(`mqtt://127.0.0.1:${server.port}`, { reconnect: false });
    const first = client.publish('bp/s', 'x');
    for (let i = 0; i < 100; i++) expect(client.publish('bp/s', 'x')).toBe(first);
    await first;
    expect(client.writable).toBe(true);
  });
});

/** A WebSocket double: open at once, CONNACK for the CONNECT, then every send stays in `bufferedAmount`. */
class FakeWebSocket implements WebSocketLike {
  static last: FakeWebSocket | undefined;
  binaryType = 'arraybuffer';
  bufferedAmount = 0;
  sent = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor() {
    FakeWebSocket.last = this;
    setImmediate(() => this.onopen?.({}));
  }

  send(data: Uint8Array): void {
    if (this.sent++ === 0) {
      setImmediate(() => this.onmessage?.({ data: Uint8Array.of(0x20, 0x03, 0x00, 0x00, 0x00).buffer }));
      return;
    }
    this.bufferedAmount += data.length;
  }

  close(): void {
    setImmediate(() => this.onclose?.({ code: 1000, reason: '' }));
  }
}

describe('QoS 0 back-pressure over WebSocket (bufferedAmount)', () => {
  it('past the mark publish waits; once bufferedAmount is 0 again, drain fires and it resolves', async () => {
    const ws = webSocketTransport(FakeWebSocket as unknown as WebSocketConstructor);
    const client = new MqttClient('ws://127.0.0.1:1/mqtt', { reconnect: false, writeHighWaterMark: 10_000 }, { ws });
    try {
      await client.connected();
      const fake = FakeWebSocket.last!;
      let drains = 0;
      client.on('drain', () => drains++);
      const payload = new Uint8Array(1000);
      const under = client.publish('ws/t', payload);
      await under;
      expect(client.writable).toBe(true);
      let waiting: Promise<unknown> | undefined;
      for (let i = 0; i < 20 && waiting === undefined; i++) {
        const p = client.publish('ws/t', payload);
        await new Promise((resolve) => setImmediate(resolve)); // the write buffer hands it to send()
        if (!client.writable) waiting = p;
      }
      expect(waiting).toBeDefined();
      expect(fake.bufferedAmount).toBeGreaterThanOrEqual(10_000 - 1100);
      expect(await isPending(waiting!)).toBe(true);
      // Every publish while not writable shares the one drain promise.
      expect(client.publish('ws/t', payload)).toBe(waiting);
      expect(drains).toBe(0);
      await new Promise((resolve) => setImmediate(resolve)); // that one is handed to send() too
      expect(await isPending(waiting!)).toBe(true);
      fake.bufferedAmount = 0; // the browser sent it all
      await waiting;
      expect(drains).toBe(1);
      expect(client.writable).toBe(true);
    } finally {
      await client.end({ force: true });
    }
  });
});

describe('write coalescing', () => {
  it('a loop of awaited QoS 0 publishes hands the transport a few large writes, not one per message', async () => {
    const ws = webSocketTransport(FakeWebSocket as unknown as WebSocketConstructor);
    const client = new MqttClient('ws://127.0.0.1:1/mqtt', { reconnect: false }, { ws });
    try {
      await client.connected();
      const fake = FakeWebSocket.last!;
      const before = fake.sent;
      for (let i = 0; i < 1000; i++) await client.publish('ws/c', 'x');
      await new Promise((resolve) => setImmediate(resolve));
      // The first of a turn goes out in a microtask (no added latency), the rest together in
      // the next turn (one more if the turn had flushed already): 1000 messages, <= 3 sends.
      expect(fake.sent - before).toBeLessThanOrEqual(3);
      expect(fake.bufferedAmount).toBeGreaterThan(1000 * 8);
    } finally {
      await client.end({ force: true });
    }
  });
});
