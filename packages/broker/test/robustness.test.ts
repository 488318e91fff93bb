import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, delay, endClients, RawClient, rawConnect, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

describe('robustness', () => {
  it('malformed bytes close only that connection; others carry on', async () => {
    b = await startBroker();
    const errors: number[] = [];
    b.broker.on('clientError', (_c, e) => errors.push(e.reasonCode));
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await sub.subscribeAsync('alive');
    const bad = await RawClient.connect(b.port, { clientId: 'bad' });
    bad.client.sendBytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]); // remaining length of 5 bytes
    await bad.client.waitClosed();
    const bad5 = await RawClient.connect(b.port, { clientId: 'bad5', protocolVersion: 5 });
    bad5.client.sendBytes([0x60, 0x02, 0x00, 0x01]); // PUBREL with wrong flags → malformed
    const d = (await bad5.client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x81);
    await bad5.client.waitClosed();
    const pub = await connectClient(b.port);
    await pub.publishAsync('alive', 'yes');
    await waitFor(() => got.length === 1);
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });

  it('random garbage from many sockets never crashes the broker', async () => {
    b = await startBroker();
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 40; i++) {
      const raw = await rawConnect(b.port);
      const valid = i % 2 === 0 ? [0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00] : [];
      raw.send([...valid, ...Array.from({ length: 64 }, random)]);
      raw.socket.end();
    }
    await delay(200);
    const c = await connectClient(b.port);
    const got = collect(c);
    await c.subscribeAsync('ok');
    await c.publishAsync('ok', 'fine');
    await waitFor(() => got.length === 1);
  });

  it('a socket reset mid-packet is handled', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'half' });
    client.sendBytes([0x30, 0x10, 0x00]);
    client.destroy();
    await delay(50);
    const c = await connectClient(b.port);
    expect(c.connected).toBe(true);
  });

  it('slow consumer: a subscriber that stops reading does not slow others; its QoS 0 backlog is bounded', async () => {
    const maxBytes = 1024 * 1024;
    b = await startBroker({ maxWriteQueueBytes: maxBytes, maxWriteQueuePackets: 1000 });
    const { client: stuck } = await RawClient.connect(b.port, { clientId: 'stuck' });
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
    await stuck.next('suback');
    (stuck as unknown as { socket: import('node:net').Socket }).socket.pause();
    const fast = await connectClient(b.port, { clientId: 'fast' });
    let received = 0;
    fast.on('message', () => received++);
    await fast.subscribeAsync('flood', { qos: 0 });
    const pub = await connectClient(b.port, { clientId: 'pub' });
    const payload = Buffer.alloc(16 * 1024, 1);
    // Rounds of 32 messages (512 KiB, under the bound for a client that reads), 64 MiB in all:
    // far more than the stuck client's socket buffers hold.
    for (let round = 0; round < 128; round++) {
      for (let i = 0; i < 32; i++) pub.publish('flood', payload, { qos: 0 });
      await waitFor(() => received === (round + 1) * 32, 10_000);
    }
    const connections = (b.broker as unknown as { connections: Set<{ id: string; droppedMessages: number; stream: { writableLength: number } }> }).connections;
    const stuckClient = [...connections].find((c) => c.id === 'stuck')!;
    const fastClient = [...connections].find((c) => c.id === 'fast')!;
    expect(received).toBe(128 * 32);
    expect(fastClient.droppedMessages).toBe(0);
    expect(stuckClient.droppedMessages).toBeGreaterThan(0);
    expect(stuckClient.stream.writableLength).toBeLessThanOrEqual(maxBytes + payload.length + 64);
    stuck.destroy();
  });

  it('slow consumer: QoS 1 beyond the socket bound waits in the session queue and arrives once it reads', async () => {
    b = await startBroker({ maxWriteQueueBytes: 16 * 1024, maxInflightMessages: 1000, maxQueuedMessages: 10_000 });
    const { client: slow } = await RawClient.connect(b.port, { clientId: 'slow' });
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q1', qos: 1 }] });
    await slow.next('suback');
    const socket = (slow as unknown as { socket: import('node:net').Socket }).socket;
    socket.pause();
    const pub = await connectClient(b.port);
    const payload = Buffer.alloc(8192, 2);
    const total = 2000;
    for (let i = 0; i < total; i++) pub.publish('q1', payload, { qos: 1 });
    const session = b.broker.sessions.get('slow')!;
    await waitFor(() => session.queueLength + session.inflight.size === total, 10_000);
    expect(session.queueLength).toBeGreaterThan(0);
    socket.resume();
    let acked = 0;
    while (acked < total) {
      const p = (await slow.next('publish', 5000)) as mqttPacket.IPublishPacket;
      slow.send({ cmd: 'puback', messageId: p.messageId! });
      acked++;
    }
    expect(acked).toBe(total);
    slow.destroy();
  });
});
