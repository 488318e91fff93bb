/**
 * Per-connection state is bounded by default (issue 8 §4): the server's Receive Maximum and
 * Topic Alias Maximum, the client-state budget (alias topics, subscriptions, the will,
 * unfinished incoming QoS 2 flows) and the WebSocket message size. Raw clients built with
 * the testkit's own packet builder.
 */
import { connect, connectAndHandshake, getProp, Prop, publish, pubrel, RawClient, unsubscribe } from '@hato/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { createWebSocketStream } from 'ws';
import type { Broker, BrokerOptions } from '../src/index.js';
import { WEBSOCKET_FRAME_SLACK } from '../src/listeners/websocket.js';
import { startBroker, type TestBroker } from './helpers.js';

const brokers: TestBroker[] = [];
async function brokerWith(options: BrokerOptions = {}): Promise<TestBroker> {
  const b = await startBroker(options);
  brokers.push(b);
  return b;
}
afterEach(async () => {
  RawClient.destroyAll();
  for (const b of brokers.splice(0)) await b.close();
});

/** Sends packets in one write (an open-loop burst: nothing waits for an ack). */
function burst(client: RawClient, packets: Uint8Array[]): void {
  client.send(Buffer.concat(packets));
}

/** The connection of a connected client, seen from inside the broker. */
function connectionOf(broker: Broker, clientId: string) {
  return broker.sessions.get(clientId)?.connection;
}

const BIG_TOPIC = (i: number) => `big/${i.toString().padStart(4, '0')}/${'x'.repeat(60_000)}`;

describe('defaults advertised in the 5.0 CONNACK', () => {
  it('[§3.2.2.3.3] [§3.2.2.3.8] Receive Maximum 32 and Topic Alias Maximum 10 by default', async () => {
    const { port } = await brokerWith();
    const c = await connectAndHandshake(port, { version: 5, clientId: 'defaults' });
    expect(getProp(c.connack!.properties, Prop.ReceiveMaximum)).toBe(32);
    expect(getProp(c.connack!.properties, Prop.TopicAliasMaximum)).toBe(10);
  });
});

describe('Receive Maximum is enforced [MQTT-3.3.4-7]', () => {
  it('[MQTT-3.3.4-7] [MQTT-4.3.3-9] v5: QoS 2 ids are held until PUBREL; the 33rd unfinished flow → DISCONNECT 0x93 (default 32)', async () => {
    const { port } = await brokerWith();
    const c = await connectAndHandshake(port, { version: 5, clientId: 'qos2-flows' });
    burst(
      c,
      Array.from({ length: 32 }, (_, i) => publish({ version: 5, topic: 'rm/q2', payload: 'x', qos: 2, packetId: i + 1 })),
    );
    for (let i = 1; i <= 32; i++) expect((await c.expectPacket('pubrec')).packetId).toBe(i);
    // PUBREL frees one slot: one more flow fits, the next does not.
    c.send(pubrel(1, { version: 5 }));
    expect((await c.expectPacket('pubcomp')).packetId).toBe(1);
    c.send(publish({ version: 5, topic: 'rm/q2', payload: 'x', qos: 2, packetId: 33 }));
    expect((await c.expectPacket('pubrec')).packetId).toBe(33);
    c.send(publish({ version: 5, topic: 'rm/q2', payload: 'x', qos: 2, packetId: 34 }));
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x93);
    await c.expectClose();
  });

  it('[MQTT-3.3.4-7] v5: QoS 1 whose PUBACK flow control holds back counts as unacknowledged → DISCONNECT 0x93', async () => {
    // A subscriber that never acknowledges (window 1) fills its queue past half of maxQueuedMessages:
    // the publisher's PUBACKs are then held, and a publisher ignoring Receive Maximum 4 is cut off.
    const { port } = await brokerWith({ receiveMaximum: 4, maxQueuedMessages: 4 });
    const sub = await connectAndHandshake(port, { version: 5, clientId: 'rm-sub', properties: [[Prop.ReceiveMaximum, 1]] });
    await sub.subscribe('rm/q1', { qos: 1 });
    const pub = await connectAndHandshake(port, { version: 5, clientId: 'rm-pub' });
    burst(
      pub,
      Array.from({ length: 7 }, (_, i) => publish({ version: 5, topic: 'rm/q1', payload: `${i}`, qos: 1, packetId: i + 1 })),
    );
    // m1 goes out, m2 is queued: acknowledged. m3..m6 are held (queue at its high-water mark); m7 is the fifth unacknowledged.
    expect((await pub.expectPacket('puback')).packetId).toBe(1);
    expect((await pub.expectPacket('puback')).packetId).toBe(2);
    expect((await pub.expectPacket('disconnect')).reasonCode).toBe(0x93);
    await pub.expectClose();
  });
});

describe('the client-state budget (maxClientStateBytes)', () => {
  it('[MQTT-3.3.2-9] default Topic Alias Maximum 10: ten 60 KB topics are registered, alias 11 → DISCONNECT 0x94', async () => {
    const { port, broker } = await brokerWith();
    const c = await connectAndHandshake(port, { version: 5, clientId: 'alias-default' });
    burst(
      c,
      Array.from({ length: 10 }, (_, i) => publish({ version: 5, topic: BIG_TOPIC(i), payload: 'x', qos: 1, packetId: i + 1, properties: [[Prop.TopicAlias, i + 1]] })),
    );
    for (let i = 1; i <= 10; i++) expect((await c.expectPacket('puback')).reasonCode).toBe(0x10); // no matching subscribers
    expect(connectionOf(broker, 'alias-default')!.aliasReceiver!.bytes).toBe(10 * BIG_TOPIC(0).length);
    // Re-registering an alias replaces its topic: the bytes held do not grow.
    burst(
      c,
      Array.from({ length: 30 }, (_, i) => publish({ version: 5, topic: BIG_TOPIC(100 + i), payload: 'x', properties: [[Prop.TopicAlias, 1]] })),
    );
    c.send(publish({ version: 5, topic: '', payload: 'x', qos: 1, packetId: 11, properties: [[Prop.TopicAlias, 1]] }));
    expect((await c.expectPacket('puback')).packetId).toBe(11);
    expect(connectionOf(broker, 'alias-default')!.aliasReceiver!.bytes).toBe(10 * BIG_TOPIC(0).length);
    c.send(publish({ version: 5, topic: BIG_TOPIC(11), payload: 'x', properties: [[Prop.TopicAlias, 11]] }));
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x94);
    await c.expectClose();
  });

  it('aliases allowed up to 65535: registering 60 KB topics stops at the budget with DISCONNECT 0x97; what the broker held stayed within it', async () => {
    const { port, broker } = await brokerWith({ topicAliasMaximum: 65535 });
    const budget = broker.options.maxClientStateBytes;
    let accepted = 0;
    let largestHeld = 0;
    broker.on('published', (_packet, client) => {
      accepted++;
      largestHeld = Math.max(largestHeld, (client as { aliasReceiver?: { bytes: number } }).aliasReceiver?.bytes ?? 0);
    });
    const c = await connectAndHandshake(port, { version: 5, clientId: 'alias-flood' });
    // 100 registrations (6 MB) in one burst: the old defaults would have kept all of them.
    burst(
      c,
      Array.from({ length: 100 }, (_, i) => publish({ version: 5, topic: BIG_TOPIC(i), payload: 'x', properties: [[Prop.TopicAlias, i + 1]] })),
    );
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x97);
    await c.expectClose();
    const topicBytes = BIG_TOPIC(0).length;
    expect(accepted).toBe(Math.floor(budget / topicBytes));
    expect(largestHeld).toBeLessThanOrEqual(budget);
  });

  for (const version of [4, 5] as const) {
    it(`v${version}: subscriptions are charged filter + 128 bytes; beyond the budget → SUBACK ${version === 5 ? '0x97' : '0x80'}; unsubscribing frees room`, async () => {
      const { port, broker } = await brokerWith();
      const budget = broker.options.maxClientStateBytes;
      const c = await connectAndHandshake(port, { version, clientId: `subs-${version}` });
      const filter = (i: number) => `subs/${i.toString().padStart(6, '0')}/${'f'.repeat(88)}`; // 100 characters
      const cost = filter(0).length + 128;
      const fit = Math.floor(budget / cost);
      const codes: number[] = [];
      for (let start = 0; start < fit + 100; start += 500) {
        const list = Array.from({ length: 500 }, (_, i) => ({ filter: filter(start + i), qos: 1 }));
        codes.push(...(await c.subscribe(list)).reasonCodes);
      }
      const refused = version === 5 ? 0x97 : 0x80;
      expect(codes.filter((code) => code === 1).length).toBe(fit);
      expect(codes.slice(fit).every((code) => code === refused)).toBe(true);
      const session = broker.sessions.get(`subs-${version}`)!;
      expect(session.subscriptions.size).toBe(fit);
      expect(session.subscriptionBytes).toBeLessThanOrEqual(budget);
      // Replacing an existing subscription costs nothing; removing one makes room for another.
      expect((await c.subscribe([{ filter: filter(0), qos: 0 }])).reasonCodes).toEqual([0]);
      expect((await c.subscribe([{ filter: filter(fit), qos: 0 }])).reasonCodes).toEqual([refused]);
      c.send(unsubscribe({ version, packetId: c.nextId(), filters: [filter(1)] }));
      await c.expectPacket('unsuback');
      expect((await c.subscribe([{ filter: filter(fit), qos: 0 }])).reasonCodes).toEqual([0]);
    });
  }

  for (const version of [4, 5] as const) {
    it(`v${version}: a will larger than the budget → CONNACK ${version === 5 ? '0x97' : '3'}`, async () => {
      const { port } = await brokerWith({ maxClientStateBytes: 32 * 1024 });
      const c = await RawClient.connect(port, { version });
      c.send(connect({ version, clientId: `will-${version}`, will: { topic: 'w', payload: new Uint8Array(40_000) } }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(version === 5 ? 0x97 : 3);
      await c.expectClose();
      const ok = await RawClient.connect(port, { version });
      ok.send(connect({ version, clientId: `will-ok-${version}`, will: { topic: 'w', payload: new Uint8Array(30_000) } }));
      expect((await ok.expectPacket('connack')).reasonCode).toBe(0);
    });
  }

  it('v3.1.1 (no Receive Maximum): unfinished QoS 2 flows are charged 16 bytes each; over the budget the connection is closed', async () => {
    const { port } = await brokerWith({ maxClientStateBytes: 8 * 16 });
    const c = await connectAndHandshake(port, { version: 4, clientId: 'qos2-v4' });
    burst(
      c,
      Array.from({ length: 9 }, (_, i) => publish({ topic: 'q2/v4', payload: 'x', qos: 2, packetId: i + 1 })),
    );
    for (let i = 1; i <= 8; i++) expect((await c.expectPacket('pubrec')).packetId).toBe(i);
    expect(await c.expectClose()).toEqual([]);
  });

  it('v5 with a Receive Maximum above the budget: the unfinished QoS 2 flow over it → DISCONNECT 0x97', async () => {
    const { port } = await brokerWith({ maxClientStateBytes: 8 * 16, receiveMaximum: 100 });
    const c = await connectAndHandshake(port, { version: 5, clientId: 'qos2-v5' });
    burst(
      c,
      Array.from({ length: 9 }, (_, i) => publish({ version: 5, topic: 'q2/v5', payload: 'x', qos: 2, packetId: i + 1 })),
    );
    for (let i = 1; i <= 8; i++) expect((await c.expectPacket('pubrec')).packetId).toBe(i);
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x97);
  });
});

describe('WebSocket message size follows maximumPacketSize', () => {
  function wsRawClient(port: number): Promise<{ ws: WebSocket; client: RawClient; closeCode: Promise<number> }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
      const closeCode = new Promise<number>((done) => ws.once('close', (code) => done(code)));
      ws.once('error', reject);
      ws.once('open', () => resolve({ ws, client: new RawClient(createWebSocketStream(ws), 4), closeCode }));
    });
  }

  it('[MQTT-6.0.0-2] a message over maximumPacketSize + slack closes that connection only (1009), before it is buffered', async () => {
    const broker = (await brokerWith({ maximumPacketSize: 1000 })).broker;
    const { port } = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
    const big = await wsRawClient(port);
    const other = await wsRawClient(port);
    await big.client.handshake({ clientId: 'ws-big' });
    await other.client.handshake({ clientId: 'ws-other' });
    // A frame of many small packets up to the slack is fine ([MQTT-6.0.0-2]: frames need not align with packets).
    const pings = Buffer.alloc(1000 + WEBSOCKET_FRAME_SLACK);
    for (let i = 0; i < pings.length; i += 2) pings[i] = 0xc0;
    big.ws.send(pings);
    await big.client.expectPacket('pingresp');
    big.ws.send(Buffer.alloc(1000 + WEBSOCKET_FRAME_SLACK + 1));
    expect(await big.closeCode).toBe(1009);
    other.client.send(Uint8Array.of(0xc0, 0x00));
    await other.client.expectPacket('pingresp');
    expect(broker.connectedCount).toBe(1);
  });
});
