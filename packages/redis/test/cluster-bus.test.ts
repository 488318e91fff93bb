import { randomBytes } from 'node:crypto';
import { Broker } from '@hato/broker';
import { startRedisServer, useRedisServer } from '@hato/testkit';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisClusterBus, RedisPersistence } from '../src/index.js';

// Several brokers in this process joined through a real redis-server (the tests with real
// `hato broker` processes, kill -9 and Redis restarts are in interop/): the cluster's rules,
// each on a fresh key prefix.
const redis = useRedisServer();

interface Node {
  broker: Broker;
  port: number;
  bus: RedisClusterBus;
  store: RedisPersistence;
}

const nodes: Node[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.end(true);
  for (const node of nodes.splice(0)) {
    await node.broker.close();
  }
});

async function startNode(prefix: string, options: { deadAfterMs?: number; heartbeatMs?: number; url?: string } = {}): Promise<Node> {
  const url = options.url ?? redis().url;
  const store = await RedisPersistence.open(url, { prefix });
  const bus = new RedisClusterBus({ url, prefix, heartbeatMs: options.heartbeatMs ?? 200, deadAfterMs: options.deadAfterMs ?? 1000 });
  const broker = new Broker({ persistence: store, clusterBus: bus });
  await broker.whenReady();
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const node = { broker, port, bus, store };
  nodes.push(node);
  return node;
}

async function cluster(count: number, options?: { deadAfterMs?: number; heartbeatMs?: number; url?: string }): Promise<Node[]> {
  const prefix = `c${randomBytes(5).toString('hex')}:`;
  const started: Node[] = [];
  for (let i = 0; i < count; i++) started.push(await startNode(prefix, options));
  // Every node sees every other.
  await waitFor(() => started.every((node) => node.broker.cluster.nodes.length === count - 1));
  return started;
}

async function connect(node: Node, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.port}`, { reconnectPeriod: 0, protocolVersion: 5, ...options });
  clients.push(client);
  return client;
}

/** Connects without waiting for the CONNACK, so a listener added now sees what follows it at once. */
function connectListening(node: Node, options: mqtt.IClientOptions): MqttClient {
  const client = mqtt.connect(`mqtt://127.0.0.1:${node.port}`, { reconnectPeriod: 0, protocolVersion: 5, ...options });
  clients.push(client);
  return client;
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function collect(client: MqttClient): { topic: string; text: string; qos: number }[] {
  const got: { topic: string; text: string; qos: number }[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, text: payload.toString(), qos: packet.qos }));
  return got;
}

describe('cluster on Redis', () => {
  it('a publish on one node reaches the subscribers on every node once, at QoS 0, 1 and 2', async () => {
    const [a, b, c] = await cluster(3);
    const subB = await connect(b!, { clientId: 'sub-b' });
    const subC = await connect(c!, { clientId: 'sub-c' });
    await subB.subscribeAsync('x/#', { qos: 2 });
    await subC.subscribeAsync('x/+', { qos: 2 });
    const gotB = collect(subB);
    const gotC = collect(subC);
    const pub = await connect(a!, { clientId: 'pub' });
    for (const qos of [0, 1, 2] as const) await pub.publishAsync('x/1', `m${qos}`, { qos });
    await waitFor(() => gotB.length === 3 && gotC.length === 3);
    await delay(200);
    expect(gotB.map((m) => `${m.text}@${m.qos}`).sort()).toEqual(['m0@0', 'm1@1', 'm2@2']);
    expect(gotC.map((m) => `${m.text}@${m.qos}`).sort()).toEqual(['m0@0', 'm1@1', 'm2@2']);
  });

  it('a node gets only what its subscribers match', async () => {
    const [a, b, c] = await cluster(3);
    const sub = await connect(b!, { clientId: 'only-b' });
    await sub.subscribeAsync('only/b', { qos: 1 });
    const got = collect(sub);
    const pub = await connect(a!, { clientId: 'pub' });
    for (let i = 0; i < 20; i++) await pub.publishAsync('only/b', `m${i}`, { qos: 1 });
    await waitFor(() => got.length === 20);
    expect(c!.broker.clusterCore!.remote.keysOf(b!.bus.nodeId).has('only/b')).toBe(true);
    expect(c!.broker.metrics.clusterMessagesIn).toBe(0);
    expect(b!.broker.metrics.clusterMessagesIn).toBe(20);
  });

  it('a PUBACK or PUBREC for a message bound for another node leaves only once that node\'s inbox in Redis holds it', async () => {
    const [a, b] = await cluster(2);
    const sub = await connect(b!, { clientId: 'far-sub' });
    await sub.subscribeAsync('far/#', { qos: 2 });
    const got = collect(sub);
    const pub = await connect(a!, { clientId: 'far-pub' });
    const admin = new Redis(redis().url);
    try {
      // A first message makes B's inbox stream (its key is the bus's own business).
      await pub.publishAsync('far/0', 'm0', { qos: 1 });
      await waitFor(() => got.length === 1);
      const [inbox] = (await admin.keys(`*inbox:${b!.bus.nodeId}`)) as string[];
      expect(inbox).toBeDefined();
      for (const qos of [1, 2] as const) {
        // Redis takes no writes for 300 ms: the XADD that carries the message to B waits, and
        // so must the ack (reads go on: the check below is answered at once).
        await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
        await pub.publishAsync(`far/${qos}`, `m${qos}`, { qos });
        const entries = (await admin.xrange(inbox!, '-', '+')).map(([, fields]) => fields.join(' '));
        expect(entries.some((entry) => entry.includes(`far/${qos}`))).toBe(true);
        await admin.call('CLIENT', 'UNPAUSE');
      }
      await waitFor(() => got.length === 3);
      expect(got.map((m) => m.text)).toEqual(['m0', 'm1', 'm2']);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => {});
      admin.disconnect();
    }
  });

  it('takeover across nodes: the old connection gets DISCONNECT 0x8E', async () => {
    const [a, b] = await cluster(2);
    const first = await connect(a!, { clientId: 'dup', clean: false, properties: { sessionExpiryInterval: 300 } });
    let reason: number | undefined;
    first.on('disconnect', (packet) => {
      reason = packet.reasonCode;
    });
    const second = await connect(b!, { clientId: 'dup', clean: false, properties: { sessionExpiryInterval: 300 } });
    await waitFor(() => reason !== undefined);
    expect(reason).toBe(0x8e);
    expect(second.connected).toBe(true);
    await waitFor(() => a!.broker.sessions.get('dup') === undefined);
    expect(b!.broker.sessions.get('dup')?.connection).toBeDefined();
  });

  it('takeover across nodes: the messages queued for the session follow the client', async () => {
    const [a, b] = await cluster(2);
    const first = await connect(a!, { clientId: 'mover', clean: false, properties: { sessionExpiryInterval: 300 } });
    await first.subscribeAsync('mv/#', { qos: 1 });
    await first.endAsync();
    const pub = await connect(b!, { clientId: 'pub' });
    for (let i = 0; i < 5; i++) await pub.publishAsync('mv/q', `q${i}`, { qos: 1 });
    await waitFor(() => a!.broker.sessions.get('mover')?.queueLength === 5);
    // Listening before the CONNACK: the queued messages follow it at once.
    const moved = connectListening(b!, { clientId: 'mover', clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = collect(moved);
    await waitFor(() => got.length === 5);
    expect(got.map((m) => m.text)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(a!.broker.sessions.get('mover')).toBeUndefined();
    // Its subscription moved with it: a new message reaches it on B.
    await pub.publishAsync('mv/q', 'after', { qos: 1 });
    await waitFor(() => got.length === 6);
    await delay(200);
    expect(got.length).toBe(6);
  });

  it('a shared group with members on every node: each message goes to one member in total', async () => {
    const nodesUp = await cluster(3);
    const got: string[][] = [];
    for (const [i, node] of nodesUp.entries()) {
      const member = await connect(node, { clientId: `member-${i}` });
      await member.subscribeAsync('$share/g/s/#', { qos: 1 });
      const mine: string[] = [];
      member.on('message', (_t, payload) => mine.push(payload.toString()));
      got.push(mine);
    }
    await delay(200);
    const pub = await connect(nodesUp[0]!, { clientId: 'pub' });
    const N = 60;
    for (let i = 0; i < N; i++) await pub.publishAsync('s/x', `m${i}`, { qos: 1 });
    await waitFor(() => got.flat().length >= N);
    await delay(300);
    const all = got.flat();
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    for (const mine of got) expect(mine.length).toBeGreaterThan(0);
  });

  it('retained messages are cluster-wide', async () => {
    const [a, , c] = await cluster(3);
    const pub = await connect(a!, { clientId: 'pub' });
    await pub.publishAsync('r/state', 'on', { qos: 1, retain: true });
    await waitFor(() => c!.broker.retained.get('r/state') !== undefined);
    const sub = await connect(c!, { clientId: 'late' });
    const got = collect(sub);
    await sub.subscribeAsync('r/#', { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.text).toBe('on');
    await pub.publishAsync('r/state', '', { qos: 1, retain: true });
    await waitFor(() => c!.broker.retained.get('r/state') === undefined);
  });

  it('a will fires once cluster-wide when its client vanishes', async () => {
    const [a, b, c] = await cluster(3);
    const watchers = [await connect(b!, { clientId: 'w-b' }), await connect(c!, { clientId: 'w-c' })];
    const got = watchers.map(collect);
    for (const w of watchers) await w.subscribeAsync('will/#', { qos: 1 });
    const doomed = await connect(a!, { clientId: 'doomed', will: { topic: 'will/doomed', payload: Buffer.from('gone'), qos: 1, retain: false } });
    (doomed as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(() => got.every((g) => g.length === 1));
    await delay(300);
    expect(got.map((g) => g.length)).toEqual([1, 1]);
  });

  it('a node that stops beating is reaped once: its clients wills fire, its persistent sessions move', async () => {
    const [a, b, c] = await cluster(3, { heartbeatMs: 100, deadAfterMs: 600 });
    const watcher = await connect(b!, { clientId: 'watch' });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const got = collect(watcher);
    const victim = await connect(a!, { clientId: 'victim', clean: false, properties: { sessionExpiryInterval: 300 }, will: { topic: 'will/victim', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await victim.subscribeAsync('v/#', { qos: 1 });
    victim.on('error', () => {});
    // A dies without a word: its Redis links drop, its sockets with it.
    a!.bus.abandon();
    nodes.splice(nodes.indexOf(a!), 1);
    await a!.broker.close();
    await waitFor(() => got.length === 1, 15_000);
    await delay(500);
    expect(got.length).toBe(1);
    const owner = [b!, c!].find((node) => node.broker.sessions.get('victim') !== undefined);
    expect(owner).toBeDefined();
    // The adopted session collects what comes for it.
    const pub = await connect(c!, { clientId: 'pub' });
    await pub.publishAsync('v/1', 'kept', { qos: 1 });
    const back = connectListening(b!, { clientId: 'victim', clean: false, properties: { sessionExpiryInterval: 300 } });
    const mine = collect(back);
    await waitFor(() => mine.some((m) => m.text === 'kept'));
  });

  it('Redis down: each node serves its local clients and says so; back up: they rejoin and route across nodes again', async () => {
    const server = await startRedisServer();
    try {
      const [a, b] = await cluster(2, { url: server.url, heartbeatMs: 100, deadAfterMs: 1000 });
      const localSub = await connect(a!, { clientId: 'local-sub' });
      await localSub.subscribeAsync('o/#', { qos: 1 });
      const remoteSub = await connect(b!, { clientId: 'remote-sub' });
      await remoteSub.subscribeAsync('o/#', { qos: 1 });
      const local = collect(localSub);
      const remote = collect(remoteSub);
      const pub = await connect(a!, { clientId: 'pub' });
      await pub.publishAsync('o/1', 'before', { qos: 1 });
      await waitFor(() => local.length === 1 && remote.length === 1);
      const downs: unknown[] = [];
      a!.broker.on('clusterDown', (err) => downs.push(err));
      const { dir, port } = server;
      await server.kill();
      await waitFor(() => !a!.broker.cluster.up && !b!.broker.cluster.up);
      expect(downs.length).toBe(1);
      await pub.publishAsync('o/2', 'during', { qos: 1 });
      await waitFor(() => local.some((m) => m.text === 'during'));
      // A clean start is served alone; a session to resume is in Redis: 0x88, come back later.
      const fresh = await connect(a!, { clientId: 'fresh' });
      expect(fresh.connected).toBe(true);
      await expect(connect(a!, { clientId: 'resumer', clean: false, properties: { sessionExpiryInterval: 60 } })).rejects.toThrow();
      const again = await startRedisServer({ dir, port });
      try {
        await waitFor(() => a!.broker.cluster.up && b!.broker.cluster.up, 15_000);
        await waitFor(() => a!.broker.cluster.nodes.length === 1 && b!.broker.cluster.nodes.length === 1, 15_000);
        // Sent while Redis was down, it waited in A's outbox for B.
        await waitFor(() => remote.some((m) => m.text === 'during'), 15_000);
        await pub.publishAsync('o/3', 'after', { qos: 1 });
        await waitFor(() => remote.some((m) => m.text === 'after') && local.some((m) => m.text === 'after'));
        await delay(200);
        expect(remote.map((m) => m.text)).toEqual(['before', 'during', 'after']);
        for (const node of [a!, b!]) {
          nodes.splice(nodes.indexOf(node), 1);
          await node.broker.close();
        }
      } finally {
        await again.stop();
      }
    } finally {
      await server.stop().catch(() => {});
    }
  });
});
