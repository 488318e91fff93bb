/**
 * In-flight stores: the contract every InFlightStore meets (MemoryStore, FileStore),
 * and QoS 1/2 state surviving a client "restart" through a FileStore.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PublishPacket } from '@hato/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, FileStore, type InFlightStore, MemoryStore, type MqttClient } from '../src/node.js';
import { FakeServer } from './helpers/fake-server.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hato-store-'));
  dirs.push(dir);
  return join(dir, 'inflight.json');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const packet = (topic: string, payload: string): PublishPacket => ({
  type: 'publish',
  topic,
  payload: new TextEncoder().encode(payload),
  qos: 1,
  retain: false,
  dup: false,
  properties: { correlationData: new Uint8Array([1, 2, 3]), userProperties: [['k', 'v']] },
});

function contract(name: string, make: () => { store: InFlightStore; reopen(): InFlightStore }) {
  describe(`${name} contract`, () => {
    it('keeps outgoing entries by packet id with their state, and incoming ids', async () => {
      const { store, reopen } = make();
      await store.load();
      store.putOutgoing({ packetId: 1, state: 'publish', packet: packet('a', 'x') });
      store.putOutgoing({ packetId: 2, state: 'publish', packet: packet('b', 'y') });
      store.putOutgoing({ packetId: 1, state: 'pubrel', packet: packet('a', 'x') });
      store.deleteOutgoing(2);
      store.putIncoming(7);
      store.putIncoming(8);
      store.deleteIncoming(8);
      await store.close();
      const loaded = await reopen().load();
      expect(loaded.incoming).toEqual([7]);
      expect(loaded.outgoing).toHaveLength(1);
      expect(loaded.outgoing[0]).toMatchObject({ packetId: 1, state: 'pubrel', packet: { topic: 'a', qos: 1 } });
      expect(new TextDecoder().decode(loaded.outgoing[0]!.packet.payload)).toBe('x');
      expect([...loaded.outgoing[0]!.packet.properties!.correlationData!]).toEqual([1, 2, 3]);
    });
    it('clear() forgets everything', async () => {
      const { store, reopen } = make();
      await store.load();
      store.putOutgoing({ packetId: 3, state: 'publish', packet: packet('c', 'z') });
      store.putIncoming(1);
      store.clear();
      await store.close();
      expect(await reopen().load()).toEqual({ outgoing: [], incoming: [] });
    });
  });
}

contract('MemoryStore', () => {
  const store = new MemoryStore();
  return { store, reopen: () => store };
});
contract('FileStore', () => {
  const path = tempFile();
  return { store: new FileStore(path), reopen: () => new FileStore(path) };
});

describe('FileStore across a client restart', () => {
  const clients: MqttClient[] = [];
  let server: FakeServer | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
    await server?.close();
  });

  it('an unacknowledged QoS 1 PUBLISH is re-sent with DUP by the next process', async () => {
    server = await new FakeServer().listen();
    const path = tempFile();
    const first = connect(server.url, { clientId: 'fs', clean: false, store: new FileStore(path) });
    first.on('error', () => {});
    clients.push(first);
    const c1 = await server.connection(1);
    await c1.accept();
    await first.connected();
    void first.publish('durable', 'survive me', { qos: 1 }).catch(() => {});
    const sent = await c1.expect('publish');
    await new Promise((r) => setTimeout(r, 20)); // the store writes once per tick
    expect(readFileSync(path, 'utf8')).toContain('durable');
    await first.end({ force: true }); // the "crash": no PUBACK ever came
    const second = connect(server.url, { clientId: 'fs', clean: false, store: new FileStore(path) });
    clients.push(second);
    const c2 = await server.connection(2);
    await c2.accept(true);
    const again = await c2.expect('publish');
    expect(again).toMatchObject({ topic: 'durable', dup: true, packetId: sent.packetId, qos: 1 });
    expect(new TextDecoder().decode(again.payload)).toBe('survive me');
    c2.send({ type: 'puback', packetId: again.packetId! });
    await new Promise((r) => setTimeout(r, 50));
    expect(second.debugCounts().inflight).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ outgoing: [], incoming: [] });
  });
});
