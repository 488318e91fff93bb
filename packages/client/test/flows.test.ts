/**
 * QoS flows, keepalive, redirection and server DISCONNECT, driven by a scripted
 * server so each case is deterministic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectError,
  connect,
  DisconnectError,
  type MqttClient,
  PublishError,
  QueueFullError,
  SubscribeError,
  TimeoutError,
} from '../src/node.js';
import { FakeServer } from './helpers/fake-server.js';

const servers: FakeServer[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(): Promise<FakeServer> {
  const s = await new FakeServer().listen();
  servers.push(s);
  return s;
}
function client(url: string, options: Parameters<typeof connect>[1] = {}): MqttClient {
  const c = connect(url, { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 }, ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}
const bytes = (s: string) => new TextEncoder().encode(s);

describe('incoming QoS 2', () => {
  it('[MQTT-4.3.3-9] a re-sent QoS 2 PUBLISH is acknowledged again but delivered once', async () => {
    const s = await server();
    const c = client(s.url);
    const got: string[] = [];
    c.on('message', (topic) => got.push(topic));
    const conn = await s.connection(1);
    await conn.accept();
    await c.connected();
    const publish = { type: 'publish', topic: 'q2', payload: bytes('x'), qos: 2, retain: false, dup: false, packetId: 7 } as const;
    conn.send(publish);
    await conn.expect('pubrec', 1);
    conn.send({ ...publish, dup: true });
    const second = await conn.expect('pubrec', 2);
    expect(second.packetId).toBe(7);
    conn.send({ type: 'pubrel', packetId: 7 });
    expect((await conn.expect('pubcomp')).packetId).toBe(7);
    expect(got).toEqual(['q2']);
    expect(c.debugCounts().incomingQoS2).toBe(0);
    // After PUBREL the id is free again: a new message with id 7 is delivered.
    conn.send({ ...publish, topic: 'q2b' });
    await conn.expect('pubrec', 3);
    expect(got).toEqual(['q2', 'q2b']);
  });

  it('[MQTT-4.3.2-4] QoS 1 PUBLISH is answered with PUBACK of the same id', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept();
    await c.connected();
    conn.send({ type: 'publish', topic: 't', payload: bytes(''), qos: 1, retain: false, dup: false, packetId: 300 });
    expect((await conn.expect('puback')).packetId).toBe(300);
  });
});

describe('outgoing QoS 1/2 across reconnects', () => {
  it('[MQTT-4.4.0-1] unacknowledged PUBLISH re-sent with DUP and the same id, PUBREL re-sent', async () => {
    const s = await server();
    const c = client(s.url, { clean: false, clientId: 'dup' });
    const first = await s.connection(1);
    await first.accept();
    await c.connected();
    const p1 = c.publish('a', 'one', { qos: 1 });
    const p2 = c.publish('b', 'two', { qos: 2 });
    const pub1 = await first.expect('publish', 1);
    const pub2 = await first.expect('publish', 2);
    first.send({ type: 'pubrec', packetId: pub2.packetId! });
    await first.expect('pubrel');
    first.socket.destroy();
    const second = await s.connection(2);
    await second.accept(true);
    const again = await second.expect('publish');
    expect(again).toMatchObject({ topic: 'a', dup: true, packetId: pub1.packetId, qos: 1 });
    expect((await second.expect('pubrel')).packetId).toBe(pub2.packetId);
    expect(second.count('publish')).toBe(1);
    second.send({ type: 'puback', packetId: pub1.packetId! });
    second.send({ type: 'pubcomp', packetId: pub2.packetId! });
    expect((await p1)?.type).toBe('puback');
    expect((await p2)?.type).toBe('pubcomp');
    expect(c.debugCounts()).toMatchObject({ inflight: 0, packetIds: 0 });
  });

  it('[MQTT-3.2.2-5] without the session the messages go out again as new ones, subscriptions are replayed', async () => {
    const s = await server();
    const c = client(s.url, { clean: false, clientId: 'lost' });
    const first = await s.connection(1);
    await first.accept();
    await c.connected();
    const sub = c.subscribe('x/#', { qos: 1 });
    const subscribe = await first.expect('subscribe');
    first.send({ type: 'suback', packetId: subscribe.packetId, reasonCodes: [1] });
    await sub;
    const p = c.publish('a', 'one', { qos: 1 });
    await first.expect('publish');
    first.socket.destroy();
    const second = await s.connection(2);
    await second.accept(false);
    const replay = await second.expect('subscribe');
    expect(replay.subscriptions.map((x) => [x.topicFilter, x.qos])).toEqual([['x/#', 1]]);
    const again = await second.expect('publish');
    expect(again).toMatchObject({ topic: 'a', dup: false, qos: 1 });
    second.send({ type: 'puback', packetId: again.packetId! });
    await p;
  });

  it('[MQTT-4.9.0-2] never more unacknowledged QoS>0 PUBLISH than the Receive Maximum', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept(false, { receiveMaximum: 2 });
    await c.connected();
    const acks = [1, 2, 3, 4, 5].map((i) => c.publish('rm', `${i}`, { qos: i % 2 === 0 ? 2 : 1 }));
    await conn.expect('publish', 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(conn.count('publish')).toBe(2);
    expect(c.debugCounts()).toMatchObject({ inflight: 2, queued: 3 });
    const first = conn.packets.find((p) => p.type === 'publish')!;
    conn.send({ type: 'puback', packetId: (first as { packetId: number }).packetId });
    await conn.expect('publish', 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.count('publish')).toBe(3);
    // Acknowledge the rest as they come.
    for (let n = 2; n <= 5; n++) {
      const p = await conn.expect('publish', n);
      if (p.qos === 1) conn.send({ type: 'puback', packetId: p.packetId! });
      else {
        conn.send({ type: 'pubrec', packetId: p.packetId! });
        await conn.expect('pubrel', n / 2);
        conn.send({ type: 'pubcomp', packetId: p.packetId! });
      }
    }
    await Promise.all(acks);
    expect(c.debugCounts()).toMatchObject({ inflight: 0, queued: 0, packetIds: 0 });
  });

  it('end() waits for in-flight messages, then sends DISCONNECT', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept();
    await c.connected();
    const p = c.publish('e', 'x', { qos: 1 });
    const pub = await conn.expect('publish');
    let ended = false;
    const end = c.end().then(() => {
      ended = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(ended).toBe(false);
    expect(conn.count('disconnect')).toBe(0);
    conn.send({ type: 'puback', packetId: pub.packetId! });
    await p;
    await conn.expect('disconnect');
    await end;
    expect(c.state).toEqual({ status: 'closed' });
  });
});

describe('reason codes as typed errors', () => {
  it('PUBACK ≥ 0x80 rejects with PublishError; SUBACK failure rejects with SubscribeError', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept();
    await c.connected();
    const p = c.publish('deny', 'x', { qos: 1 });
    const pub = await conn.expect('publish');
    conn.send({ type: 'puback', packetId: pub.packetId!, reasonCode: 0x87 });
    const perr = await p.catch((e: unknown) => e);
    expect(perr).toBeInstanceOf(PublishError);
    expect((perr as PublishError).reasonCode).toBe(0x87);
    const sp = c.subscribe(['ok/#', 'no/#'], { qos: 1 });
    const sub = await conn.expect('subscribe');
    conn.send({ type: 'suback', packetId: sub.packetId, reasonCodes: [1, 0x87] });
    const serr = await sp.catch((e: unknown) => e);
    expect(serr).toBeInstanceOf(SubscribeError);
    expect((serr as SubscribeError).reasonCodes).toEqual([1, 0x87]);
    expect(c.debugCounts().packetIds).toBe(0);
  });

  it('CONNACK refusal rejects connected() with ConnectError and does not retry', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.expect('connect');
    conn.send({ type: 'connack', sessionPresent: false, reasonCode: 0x87 });
    const err = await c.connected().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toBe('Connection refused: Not authorized (0x87)');
    expect(c.state.status).toBe('closed');
    await new Promise((r) => setTimeout(r, 150));
    expect(s.connections.length).toBe(1);
  });

  it('3.1.1 CONNACK return code 5 reads as not authorized', async () => {
    const s = await server();
    const c = client(s.url, { protocolVersion: 4 });
    const conn = await s.connection(1);
    await conn.expect('connect');
    conn.send({ type: 'connack', sessionPresent: false, reasonCode: 5 });
    const err = (await c.connected().catch((e: unknown) => e)) as ConnectError;
    expect(err.message).toBe('Connection refused: not authorized (5)');
  });

  it('0x89 Server busy is retried', async () => {
    const s = await server();
    const c = client(s.url);
    const first = await s.connection(1);
    await first.expect('connect');
    first.send({ type: 'connack', sessionPresent: false, reasonCode: 0x89 });
    const second = await s.connection(2);
    await second.accept();
    await c.connected();
    expect(c.state.status).toBe('connected');
  });
});

describe('server DISCONNECT and redirection', () => {
  it('DISCONNECT is surfaced with its reason, then the client reconnects', async () => {
    const s = await server();
    const c = client(s.url);
    const seen: number[] = [];
    c.on('disconnect', (p) => seen.push(p.reasonCode ?? 0));
    const closes: (Error | undefined)[] = [];
    c.on('close', (e) => closes.push(e));
    const first = await s.connection(1);
    await first.accept();
    await c.connected();
    first.send({ type: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'bye' } });
    const second = await s.connection(2);
    await second.accept();
    await new Promise<void>((r) => c.once('connect', () => r()));
    expect(seen).toEqual([0x8b]);
    expect(closes[0]).toBeInstanceOf(DisconnectError);
    expect((closes[0] as DisconnectError).message).toContain('Server shutting down (0x8b): bye');
  });

  it('0x8E Session taken over closes the client for good', async () => {
    const s = await server();
    const c = client(s.url);
    const first = await s.connection(1);
    await first.accept();
    await c.connected();
    const ended = new Promise<void>((r) => c.once('end', r));
    first.send({ type: 'disconnect', reasonCode: 0x8e });
    await ended;
    expect(c.state).toMatchObject({ status: 'closed', error: { reasonCode: 0x8e } });
  });

  it('CONNACK 0x9C with a Server Reference is followed', async () => {
    const target = await server();
    const redirector = await server();
    const c = client(redirector.url);
    const r = await redirector.connection(1);
    await r.expect('connect');
    r.send({
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0x9c,
      properties: { serverReference: `127.0.0.1:${target.port}` },
    });
    const t = await target.connection(1);
    await t.accept();
    await c.connected();
    expect(redirector.connections.length).toBe(1);
  });

  it('DISCONNECT 0x9D Server moved is followed', async () => {
    const target = await server();
    const old = await server();
    const c = client(old.url);
    const o = await old.connection(1);
    await o.accept();
    await c.connected();
    o.send({ type: 'disconnect', reasonCode: 0x9d, properties: { serverReference: `127.0.0.1:${target.port}` } });
    const t = await target.connection(1);
    await t.accept();
    await new Promise<void>((r) => c.once('connect', () => r()));
    expect(c.state.status).toBe('connected');
  });
});

describe('keepalive and timeouts', () => {
  it('[MQTT-3.1.2-23] sends PINGREQ when idle; no answer → the link is dead and the client reconnects', async () => {
    const s = await server();
    const c = client(s.url, { keepalive: 1, pingTimeout: 300 });
    const closes: (Error | undefined)[] = [];
    c.on('close', (e) => closes.push(e));
    const first = await s.connection(1);
    await first.accept();
    await c.connected();
    await first.expect('pingreq', 1, 3000);
    const second = await s.connection(2, 5000);
    expect(closes[0]).toBeInstanceOf(TimeoutError);
    await second.accept();
    await second.expect('pingreq', 1, 3000);
    second.send({ type: 'pingresp' });
    await second.expect('pingreq', 2, 3000);
    expect(s.connections.length).toBe(2);
  });

  it('no CONNACK within connectTimeout: connected() rejects with TimeoutError when not reconnecting', async () => {
    const s = await server();
    const c = client(s.url, { connectTimeout: 200, reconnect: false });
    const err = await c.connected().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('the offline queue is bounded', async () => {
    const c = client('mqtt://127.0.0.1:1', { queueLimit: 3, reconnect: { initialDelay: 10_000 } });
    const accepted = [c.publish('q', '1'), c.publish('q', '2', { qos: 1 }), c.publish('q', '3')];
    const err = await c.publish('q', '4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect(c.debugCounts().queued).toBe(3);
    await c.end({ force: true });
    await Promise.allSettled(accepted);
  });
});

describe('server limits', () => {
  it('[MQTT-3.1.2-24] a PUBLISH above the server Maximum Packet Size is refused locally (0x95)', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept(false, { maximumPacketSize: 100 });
    await c.connected();
    await c.publish('big', 'x'.repeat(20));
    const err = await c.publish('big', 'x'.repeat(200)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).reasonCode).toBe(0x95);
    await conn.expect('publish');
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.count('publish')).toBe(1);
  });

  it('[MQTT-3.2.2-11] QoS above the server Maximum QoS is refused locally (0x9B)', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept(false, { maximumQoS: 1 });
    await c.connected();
    const err = await c.publish('q', 'x', { qos: 2 }).catch((e: unknown) => e);
    expect((err as PublishError).reasonCode).toBe(0x9b);
  });
});

describe('invalid input', () => {
  it('bad topics, filters, QoS and properties reject instead of throwing, and leave no state', async () => {
    const s = await server();
    const c = client(s.url);
    const conn = await s.connection(1);
    await conn.accept();
    await c.connected();
    await expect(c.publish('a/+', 'x')).rejects.toThrow(TypeError);
    await expect(c.publish('a', 'x', { qos: 3 as 0 })).rejects.toThrow(TypeError);
    await expect(c.subscribe('a/#/b')).rejects.toThrow(TypeError);
    const bad = { properties: { topicAlias: 0 } };
    await expect(c.publish('a', 'x', bad)).rejects.toThrow();
    await expect(c.publish('a', 'x', { qos: 1, ...bad })).rejects.toThrow();
    expect(c.debugCounts()).toMatchObject({ inflight: 0, queued: 0, packetIds: 0 });
    await c.publish('a', 'fine', { qos: 0 });
    expect((await conn.expect('publish')).topic).toBe('a');
  });
});
