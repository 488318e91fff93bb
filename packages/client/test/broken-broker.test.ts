/**
 * Issue 12, library side: every operation that waits on the broker settles (answer,
 * end(), timeout, AbortSignal), and a broker that breaks the protocol gets a typed
 * 'error' event, the DISCONNECT reason code the spec asks for (5.0), and a reconnect,
 * never an exception. Driven by a scripted server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  connect,
  DisconnectError,
  type MqttClient,
  ServerProtocolError,
  TimeoutError,
  UnexpectedPacketError,
} from '../src/node.js';
import { type FakeConnection, FakeServer } from './helpers/fake-server.js';

const servers: FakeServer[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(options: Parameters<typeof connect>[1] = {}) {
  const s = await new FakeServer().listen();
  servers.push(s);
  const c = connect(s.url, { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 }, ...options });
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  clients.push(c);
  const conn = await s.connection(1);
  await conn.accept();
  await c.connected();
  return { s, c, conn, errors };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const raw = (conn: FakeConnection, hex: string) => conn.socket.write(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

describe('every wait on the broker settles', () => {
  it('a SUBSCRIBE cut off by a lost connection is re-sent after the reconnect and settles with that SUBACK', async () => {
    const { s, c, conn } = await setup();
    const sub = c.subscribe('a/#', { qos: 1 });
    const first = await conn.expect('subscribe');
    conn.socket.destroy(); // no SUBACK on the first connection
    const second = await s.connection(2);
    await second.accept();
    const again = await second.expect('subscribe');
    expect(again.subscriptions).toEqual(first.subscriptions);
    second.send({ type: 'suback', packetId: again.packetId, reasonCodes: [1] });
    expect(await sub).toEqual([{ filter: 'a/#', qos: 1 }]);
    expect(c.debugCounts().subscribeRequests).toBe(0);
  });

  it('subscribe, unsubscribe, QoS 1/2 publish and request() reject with ClientClosedError when end() comes first', async () => {
    const { c, conn } = await setup();
    const waits = [
      c.subscribe('a'),
      c.unsubscribe('b'),
      c.publish('t', 'x', { qos: 1 }),
      c.publish('t', 'y', { qos: 2 }),
      c.request('svc', 'q'),
    ];
    await conn.expect('publish', 2);
    await c.end({ timeout: 10 });
    const results = await Promise.allSettled(waits);
    for (const r of results) expect(r.status === 'rejected' && r.reason).toBeInstanceOf(ClientClosedError);
    expect(c.debugCounts()).toMatchObject({ inflight: 0, packetIds: 0, subscribeRequests: 0, requests: 0 });
  });

  it('a timeout rejects subscribe with TimeoutError; the late SUBACK is then only recorded', async () => {
    const { c, conn, errors } = await setup();
    const sub = c.subscribe('a/#', { timeout: 30 });
    const packet = await conn.expect('subscribe');
    await expect(sub).rejects.toBeInstanceOf(TimeoutError);
    conn.send({ type: 'suback', packetId: packet.packetId, reasonCodes: [0] });
    // Packets are handled in order: once this PUBLISH is acknowledged, the SUBACK was handled.
    conn.send({ type: 'publish', topic: 'm', payload: bytes(''), qos: 1, retain: false, dup: false, packetId: 5 });
    await conn.expect('puback');
    expect(c.debugCounts().subscribeRequests).toBe(0);
    expect(errors).toEqual([]);
  });

  it('an AbortSignal rejects a QoS 1 publish queued while offline, and drops it from the queue', async () => {
    const { s, c, conn } = await setup();
    conn.socket.destroy();
    await new Promise<void>((resolve) => c.once('offline', resolve));
    const controller = new AbortController();
    const pub = c.publish('t', 'x', { qos: 1, signal: controller.signal });
    expect(c.debugCounts().queued).toBe(1);
    controller.abort(new Error('changed my mind'));
    await expect(pub).rejects.toThrow('changed my mind');
    expect(c.debugCounts().queued).toBe(0);
    const second = await s.connection(2);
    await second.accept();
    await c.connected();
    c.publish('t', 'after', { qos: 0 });
    const sent = await second.expect('publish');
    expect(new TextDecoder().decode(sent.payload)).toBe('after'); // the aborted message was never sent
  });

  it('an already aborted signal rejects at once and sends nothing', async () => {
    const { c, conn } = await setup();
    const controller = new AbortController();
    controller.abort();
    await expect(c.subscribe('a', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    c.publish('marker', '');
    await conn.expect('publish');
    expect(conn.count('subscribe')).toBe(0);
  });

  it('connected() settles at its timeout while the broker never answers CONNECT; the client keeps trying', async () => {
    const s = await new FakeServer().listen();
    servers.push(s);
    const c = connect(s.url, { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 } });
    clients.push(c);
    await expect(c.connected({ timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    expect(c.state.status).toBe('connecting');
    expect(c.debugCounts().waiters).toBe(0);
    const later = c.connected();
    await (await s.connection(1)).accept();
    expect((await later).reasonCode).toBe(0);
  });

  it('request() settles at its timeout even when the SUBACK for its response topic never comes', async () => {
    const { c, conn } = await setup();
    const req = c.request('svc', 'q', { timeout: 40 });
    await conn.expect('subscribe');
    await expect(req).rejects.toBeInstanceOf(TimeoutError);
    expect(c.debugCounts().requests).toBe(0);
  });
});

describe('a broker that breaks the protocol never breaks the client', () => {
  it('a PUBACK for an unknown id: UnexpectedPacketError, the connection goes on', async () => {
    const { c, conn, errors } = await setup();
    conn.send({ type: 'puback', packetId: 77 });
    const pub = c.publish('t', 'x', { qos: 1 });
    const p = await conn.expect('publish');
    conn.send({ type: 'puback', packetId: p.packetId! });
    await pub;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UnexpectedPacketError);
    expect(errors[0]).toMatchObject({ reasonCode: 0x92, packetType: 'puback', packetId: 77 });
    expect(c.isConnected).toBe(true);
  });

  it('PUBCOMP before PUBREC is out of order: reported, the exchange still completes', async () => {
    const { c, conn, errors } = await setup();
    const pub = c.publish('t', 'x', { qos: 2 });
    const p = await conn.expect('publish');
    conn.send({ type: 'pubcomp', packetId: p.packetId! });
    conn.send({ type: 'pubrec', packetId: p.packetId! });
    await conn.expect('pubrel');
    conn.send({ type: 'pubcomp', packetId: p.packetId! });
    await pub;
    expect(errors.map((e) => [e.name, (e as UnexpectedPacketError).reasonCode])).toEqual([['UnexpectedPacketError', 0x82]]);
  });

  const violations: { name: string; send: (conn: FakeConnection) => void; code: number }[] = [
    { name: 'a second CONNACK', send: (conn) => conn.send({ type: 'connack', sessionPresent: false, reasonCode: 0 }), code: 0x82 },
    { name: 'AUTH without authentication', send: (conn) => conn.send({ type: 'auth', reasonCode: 0x18 }), code: 0x82 },
    // PUBLISH QoS 0, topic "a" + 0xC0 0x80 (overlong NUL): not UTF-8 [MQTT-1.5.4-1].
    { name: 'a topic that is not valid UTF-8', send: (conn) => raw(conn, '30 06 00 03 61 c0 80 00'), code: 0x81 },
    // Fuzz finding (seed 4242): the codec's reason for this is 0x84, which a client may not put in DISCONNECT.
    { name: 'a CONNECT with protocol level 9', send: (conn) => raw(conn, '10 0c 00 04 4d 51 54 54 09 02 00 3c 00 00'), code: 0x82 },
    {
      name: 'a topic alias above our Topic Alias Maximum',
      send: (conn) =>
        conn.send({ type: 'publish', topic: 'a', payload: bytes(''), qos: 0, retain: false, dup: false, properties: { topicAlias: 9 } }),
      code: 0x94,
    },
    {
      name: 'a packet over our Maximum Packet Size',
      send: (conn) =>
        conn.send({ type: 'publish', topic: 'a', payload: new Uint8Array(300), qos: 0, retain: false, dup: false }),
      code: 0x95,
    },
  ];
  for (const v of violations) {
    it(`${v.name}: ServerProtocolError, DISCONNECT 0x${v.code.toString(16)}, then a reconnect`, async () => {
      const { s, c, conn, errors } = await setup({ properties: { topicAliasMaximum: 2, maximumPacketSize: 256 } });
      v.send(conn);
      const d = await conn.expect('disconnect');
      expect(d.reasonCode).toBe(v.code);
      const second = await s.connection(2);
      await second.accept();
      await c.connected();
      expect(errors[0]).toBeInstanceOf(ServerProtocolError);
      expect((errors[0] as ServerProtocolError).reasonCode).toBe(v.code);
    });
  }

  it('3.1.1: a server DISCONNECT is a protocol error; the client closes without a DISCONNECT of its own', async () => {
    const { s, c, conn, errors } = await setup({ protocolVersion: 4 });
    raw(conn, 'e0 00');
    await s.connection(2);
    expect(conn.count('disconnect')).toBe(0);
    expect(errors[0]).toBeInstanceOf(ServerProtocolError);
    expect(c.state.status).not.toBe('closed');
  });

  it('5.0: a server DISCONNECT with any reason code gives DisconnectError and a reconnect', async () => {
    for (const code of [0x00, 0x04, 0x81, 0x89, 0xa2]) {
      const { s, errors } = await setup();
      const conn = await s.connection(1);
      conn.send({ type: 'disconnect', reasonCode: code as 0x00 });
      await s.connection(2);
      expect(errors[0]).toBeInstanceOf(DisconnectError);
      expect((errors[0] as DisconnectError).reasonCode).toBe(code);
    }
  });

  it('DISCONNECT 0x9C with a Server Reference whose port is out of range: not followed, the client reconnects (fuzz finding)', async () => {
    const { s, c, errors } = await setup();
    const conn = await s.connection(1);
    conn.send({ type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: '127.0.0.1:74639' } });
    const second = await s.connection(2);
    await second.accept();
    await c.connected();
    expect(errors.map((e) => e.name)).toEqual(['DisconnectError']);
  });

  it('a broker that accepts and drops at once is retried with growing delays, not in a loop', async () => {
    const s = await new FakeServer().listen();
    servers.push(s);
    const c = connect(s.url, { reconnect: { initialDelay: 40, factor: 2, jitter: 0, maxDelay: 10_000 } });
    c.on('error', () => {});
    clients.push(c);
    const times: number[] = [];
    for (let n = 1; n <= 4; n++) {
      const conn = await s.connection(n);
      times.push(Date.now());
      await conn.accept();
      await c.connected();
      conn.socket.destroy();
    }
    // A lower bound only (timers never fire early): delays of 40, 80 and 160 ms at least,
    // where a backoff that restarts on every CONNACK would allow 3 × 40.
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(280);
  });
});
