import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, delay, endClients, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

describe('retained messages', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] the last retained message is sent to new subscribers with retain=1 (v${protocolVersion})`, async () => {
      b = await startBroker();
      const pub = await connectClient(b.port, { protocolVersion });
      await pub.publishAsync('ret/a', 'old', { retain: true, qos: 1 });
      await pub.publishAsync('ret/a', 'new', { retain: true, qos: 1 });
      await pub.publishAsync('ret/b', 'b', { retain: true, qos: 0 });
      const sub = await connectClient(b.port, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync('ret/+', { qos: 1 });
      await waitFor(() => got.length === 2);
      await delay(50);
      const byTopic = Object.fromEntries(got.map((m) => [m.topic, m]));
      expect(byTopic['ret/a']!.payload).toBe('new');
      expect(byTopic['ret/a']!.packet.retain).toBe(true);
      expect(byTopic['ret/a']!.packet.qos).toBe(1);
      expect(byTopic['ret/b']!.packet.qos).toBe(0);
      expect(got.length).toBe(2);
    });
  }

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload deletes the retained message and is not stored', async () => {
    b = await startBroker();
    const pub = await connectClient(b.port);
    await pub.publishAsync('gone', 'x', { retain: true, qos: 1 });
    expect(b.broker.retained.size).toBe(1);
    await pub.publishAsync('gone', '', { retain: true, qos: 1 });
    expect(b.broker.retained.size).toBe(0);
    const { client } = await RawClient.connect(b.port, { clientId: 'late' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gone', qos: 0 }] });
    await client.next('suback');
    await delay(100);
    expect(client.packets.some((p) => p.cmd === 'publish')).toBe(false);
    client.destroy();
  });

  it('retained messages are sent after the SUBACK', async () => {
    b = await startBroker();
    const pub = await connectClient(b.port);
    await pub.publishAsync('order', 'x', { retain: true });
    const { client } = await RawClient.connect(b.port, { clientId: 'ord' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
    await client.next('publish');
    expect(client.packets.map((p) => p.cmd)).toEqual(['connack', 'suback', 'publish']);
    client.destroy();
  });

  it('[MQTT-4.8.2] shared subscriptions get no retained messages', async () => {
    b = await startBroker();
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('sh/x', 'x', { retain: true });
    const { client } = await RawClient.connect(b.port, { clientId: 'sh', protocolVersion: 5 });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/sh/#', qos: 0 }] });
    await client.next('suback');
    await delay(100);
    expect(client.packets.some((p) => p.cmd === 'publish')).toBe(false);
    client.destroy();
  });

  it('[MQTT-3.3.2-5] an expired retained message is not sent (5.0 Message Expiry Interval)', async () => {
    b = await startBroker();
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('exp', 'x', { retain: true, properties: { messageExpiryInterval: 1 } });
    await delay(1100);
    const { client } = await RawClient.connect(b.port, { clientId: 'exp', protocolVersion: 5 });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'exp', qos: 0 }] });
    await client.next('suback');
    await delay(100);
    expect(client.packets.some((p) => p.cmd === 'publish')).toBe(false);
    client.destroy();
  });

  it('retained payload survives later reuse of the socket buffer (copied)', async () => {
    b = await startBroker();
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'rp' });
    pub.send({ cmd: 'publish', topic: 'copy', payload: Buffer.from('keep-me'), qos: 0, retain: true, dup: false });
    pub.send({ cmd: 'publish', topic: 'other', payload: Buffer.from('zzzzzzz'), qos: 0, retain: false, dup: false });
    await delay(50);
    const { client } = await RawClient.connect(b.port, { clientId: 'rs' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'copy', qos: 0 }] });
    const p = (await client.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.payload.toString()).toBe('keep-me');
    pub.destroy();
    client.destroy();
  });
});

describe('broker.publish', () => {
  it('publishes from the application, retained too', async () => {
    const t = await startBroker();
    try {
      const sub = await connectClient(t.port);
      const got = collect(sub);
      await sub.subscribeAsync('app/#', { qos: 1 });
      expect(t.broker.publish({ topic: 'app/hello', payload: 'from app', qos: 1, retain: true })).toBe(1);
      await waitFor(() => got.length === 1);
      expect(got[0]!.payload).toBe('from app');
      expect(got[0]!.packet.retain).toBe(false);
      expect(t.broker.retained.get('app/hello')).toBeDefined();
      expect(() => t.broker.publish({ topic: 'bad/#', payload: '' })).toThrow(TypeError);
    } finally {
      await endClients();
      await t.close();
    }
  });
});
