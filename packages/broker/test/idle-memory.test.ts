/**
 * Idle connections must not pin their read chunks [DESIGN: idle costs almost nothing].
 *
 * Each client sends, in one write, a CONNECT whose 60 KiB password fills most of the broker's
 * 64 KiB read chunk, with a will, followed by a QoS 1 PUBLISH that an offline session queues
 * and a retained PUBLISH. Then it stays idle. Whatever the broker keeps from that chunk (the
 * will, the queued and the retained message, the decoder between packets) must be a copy of
 * its own: a single view kept into the chunk keeps all 64 KiB alive, per connection.
 *
 * The bound is on memory, measured after forced garbage collection: ArrayBuffer bytes per idle
 * connection, far below the 60 KiB a pinned chunk costs and above what the connection
 * legitimately keeps (its will and messages, a few hundred bytes).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, publish, RawClient, subscribe, waitUntil } from '@hato/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/connection.js';
import type { Message } from '../src/message.js';
import { startBroker, type TestBroker } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const COUNT = 600;
const PASSWORD_BYTES = 60 * 1024;
/** A connection pinning its chunk would cost ~64 KiB here; what it keeps on purpose is < 1 KiB. */
const MAX_ARRAY_BUFFER_BYTES_PER_CONNECTION = 8 * 1024;

let b: TestBroker;
const clients: RawClient[] = [];

async function collectGarbage(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  return process.memoryUsage();
}

/** One idle client: its whole session in a single write (one read chunk at the broker). */
async function idleClient(i: number): Promise<RawClient> {
  const version = i % 2 === 0 ? 4 : 5;
  const client = await RawClient.connect(b.port, { version });
  const password = new Uint8Array(PASSWORD_BYTES).fill(0x70);
  const will = { topic: `idle/will/${i}`, payload: `will of ${i}`.padEnd(100, '.'), qos: 1, ...(version === 5 ? { properties: [[0x09, 'correlation'] as const] } : {}) };
  client.send(
    Buffer.concat([
      connect({ version, clientId: `idle-${i}`, keepAlive: 60, username: 'u', password, will }),
      publish({ version, topic: `idle/queued/${i}`, payload: 'q'.repeat(32), qos: 1, packetId: 1 }),
      publish({ version, topic: `idle/retained/${i}`, payload: 'r'.repeat(32), retain: true }),
    ]),
  );
  await client.expectPacket('connack');
  await client.expectPacket('puback');
  return client;
}

beforeAll(async () => {
  b = await startBroker({ maxQueuedMessages: 10 * COUNT });
  // An offline session that queues every QoS 1 message the idle clients publish.
  const sink = await RawClient.connect(b.port, { version: 4 });
  await sink.handshake({ clientId: 'sink', clean: false });
  sink.send(subscribe({ version: 4, packetId: 1, subscriptions: [{ filter: 'idle/queued/#', qos: 1 }] }));
  await sink.expectPacket('suback');
  sink.destroy();
  // Warm-up: code, pools and slabs allocated once are not per connection.
  for (let i = 0; i < 20; i++) clients.push(await idleClient(COUNT + i));
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await b?.close();
});

describe('idle connections', () => {
  it('[non-normative] do not pin their 64 KiB read chunks (ArrayBuffer bytes per idle connection, after GC)', async () => {
    const before = await collectGarbage();
    const batch: Promise<RawClient>[] = [];
    for (let i = 0; i < COUNT; i++) {
      batch.push(idleClient(i));
      if (batch.length === 50) clients.push(...(await Promise.all(batch.splice(0))));
    }
    clients.push(...(await Promise.all(batch)));
    expect(b.broker.connectedCount).toBe(COUNT + 20);
    const after = await collectGarbage();
    const perConnection = (after.arrayBuffers - before.arrayBuffers) / COUNT;
    expect(perConnection).toBeLessThan(MAX_ARRAY_BUFFER_BYTES_PER_CONNECTION);
  });

  it('keep exact-size copies of what outlives the packet: will, queued and retained messages', async () => {
    const exact = (bytes: Uint8Array | undefined) => bytes !== undefined && bytes.buffer.byteLength === bytes.byteLength;
    let wills = 0;
    for (const connection of (b.broker as unknown as { connections: Set<Connection> }).connections) {
      const will = connection.will;
      if (will === undefined) continue;
      wills++;
      expect(exact(will.payload)).toBe(true);
      if (connection.protocolVersion === 5) expect(exact(will.properties?.correlationData)).toBe(true);
    }
    expect(wills).toBe(COUNT + 20);
    const queued = b.broker.sessions.get('sink')!.queuedEntries();
    expect(queued.length).toBe(COUNT + 20);
    // Queued messages are kept by the sweep a tick after they were queued (session/keep-later.ts):
    // the last ones may have arrived less than a tick ago.
    await waitUntil(() => queued.every((entry) => entry.message.isKept), 3000);
    for (const entry of queued) expect(exact(entry.message.payload)).toBe(true);
    const retained: Message[] = b.broker.retained.match('idle/retained/#');
    expect(retained.length).toBe(COUNT + 20);
    for (const message of retained) expect(exact(message.payload)).toBe(true);
  });

  it('in-flight messages to a subscriber that never acknowledges become exact-size copies a tick later', async () => {
    const stuck = await RawClient.connect(b.port, { version: 4 });
    await stuck.handshake({ clientId: 'stuck' });
    stuck.send(subscribe({ version: 4, packetId: 1, subscriptions: [{ filter: 'stuck/#', qos: 1 }] }));
    await stuck.expectPacket('suback');
    const pub = await RawClient.connect(b.port, { version: 4 });
    await pub.handshake({ clientId: 'stuck-pub' });
    // Several PUBLISH packets in one write: one read chunk at the broker, shared by all of them.
    pub.send(Buffer.concat(Array.from({ length: 5 }, (_, i) => publish({ version: 4, topic: `stuck/${i}`, payload: 'x'.repeat(40), qos: 1, packetId: i + 1 }))));
    for (let i = 0; i < 5; i++) await stuck.expectPacket('publish');
    const session = b.broker.sessions.get('stuck')!;
    expect(session.inflight.size).toBe(5);
    await waitUntil(() => [...session.inflight.values()].every((entry) => entry.message.isKept), 3000);
    for (const entry of session.inflight.values()) expect(entry.message.payload.buffer.byteLength).toBe(entry.message.payload.byteLength);
    stuck.destroy();
    pub.destroy();
  });
});
