import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, delay, endClients, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

describe('SUBSCRIBE and routing', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`[MQTT-4.7.1-2] [MQTT-4.7.1-3] + and # wildcards match (v${protocolVersion})`, async () => {
      b = await startBroker();
      const sub = await connectClient(b.port, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync(['sport/+/player1', 'finance/#']);
      const pub = await connectClient(b.port, { protocolVersion });
      for (const t of ['sport/tennis/player1', 'sport/tennis/player2', 'sport/player1', 'finance', 'finance/a/b', 'other']) await pub.publishAsync(t, t);
      await pub.publishAsync('done', 'x');
      await sub.subscribeAsync('done');
      await pub.publishAsync('done', 'x');
      await waitFor(() => got.some((m) => m.topic === 'done'));
      expect(got.map((m) => m.topic)).toEqual(['sport/tennis/player1', 'finance', 'finance/a/b', 'done']);
    });
  }

  it('[MQTT-4.7.2-1] wildcards at the first level do not match $ topics', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await sub.subscribeAsync(['#', '+/x', '$SYS/#']);
    const pub = await connectClient(b.port);
    await pub.publishAsync('$SYS/x', 'a');
    await pub.publishAsync('$other/x', 'b');
    await pub.publishAsync('plain/x', 'c');
    await waitFor(() => got.length >= 2);
    await delay(50);
    expect(got.map((m) => m.payload).sort()).toEqual(['a', 'c']);
  });

  it('[MQTT-3.3.4-2] overlapping subscriptions deliver one copy at the highest QoS (3.1.1)', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await sub.subscribeAsync({ 'a/+': { qos: 0 }, 'a/#': { qos: 2 }, 'a/b': { qos: 1 } });
    const pub = await connectClient(b.port);
    await pub.publishAsync('a/b', 'one', { qos: 2 });
    await waitFor(() => got.length >= 1);
    await delay(100);
    expect(got.length).toBe(1);
    expect(got[0]!.packet.qos).toBe(2);
  });

  it('[MQTT-3.3.4-3] 5.0 overlapping subscriptions list every Subscription Identifier', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('a/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await sub.subscribeAsync('a/#', { qos: 0, properties: { subscriptionIdentifier: 9 } });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('a/b', 'x', { qos: 1 });
    await waitFor(() => got.length >= 1);
    await delay(50);
    expect(got.length).toBe(1);
    const ids = got[0]!.packet.properties?.subscriptionIdentifier;
    expect([ids].flat().sort()).toEqual([7, 9]);
    expect(got[0]!.packet.qos).toBe(1);
  });

  it('[MQTT-3.8.4-7] messages are downgraded to the granted QoS', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await sub.subscribeAsync('q', { qos: 0 });
    const pub = await connectClient(b.port);
    await pub.publishAsync('q', 'x', { qos: 2 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.packet.qos).toBe(0);
  });

  it('SUBACK: 3.1.1 invalid filter → 0x80, valid ones granted, in order', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'subs' });
    client.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'ok/1', qos: 1 }, { topic: 'bad/#/x', qos: 1 }, { topic: 'ok/2', qos: 2 }] });
    const suback = (await client.next('suback')) as mqttPacket.ISubackPacket;
    expect(suback.messageId).toBe(5);
    expect(suback.granted).toEqual([1, 0x80, 2]);
    client.destroy();
  });

  it('SUBACK: 5.0 invalid filter → 0x8F, refused by the hook → 0x87', async () => {
    b = await startBroker({ hooks: { authorizeSubscribe: (_c, s) => !s.topicFilter.startsWith('secret') } });
    const { client } = await RawClient.connect(b.port, { clientId: 'subs5', protocolVersion: 5 });
    client.send({ cmd: 'subscribe', messageId: 6, subscriptions: [{ topic: 'a+', qos: 0 }, { topic: 'secret/x', qos: 0 }, { topic: 'open', qos: 1 }] });
    const suback = (await client.next('suback')) as mqttPacket.ISubackPacket;
    expect(suback.granted).toEqual([0x8f, 0x87, 1]);
    client.destroy();
  });

  it('authorizeSubscribe may grant a lower QoS', async () => {
    b = await startBroker({ hooks: { authorizeSubscribe: async () => 0 } });
    const { client } = await RawClient.connect(b.port, { clientId: 'low' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 2 }] });
    const suback = (await client.next('suback')) as mqttPacket.ISubackPacket;
    expect(suback.granted).toEqual([0]);
    client.destroy();
  });

  it('[MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE stops delivery; 5.0 UNSUBACK 0x11 when none existed', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'uns', protocolVersion: 5 });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'u/1', qos: 0 }] });
    await client.next('suback');
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u/1', 'u/none'] });
    const unsuback = (await client.next('unsuback')) as mqttPacket.IUnsubackPacket;
    expect(unsuback.messageId).toBe(2);
    expect(unsuback.granted).toEqual([0x00, 0x11]);
    const pub = await connectClient(b.port);
    await pub.publishAsync('u/1', 'x');
    await delay(100);
    expect(client.packets.filter((p) => p.cmd === 'publish').length).toBe(0);
    client.destroy();
  });

  it('[MQTT-3.8.3-3] 5.0 No Local: own messages are not delivered back', async () => {
    b = await startBroker();
    const c = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('nl/a', { qos: 0, nl: true });
    await c.subscribeAsync('nl/b', { qos: 0 });
    await c.publishAsync('nl/a', 'mine');
    await c.publishAsync('nl/b', 'marker');
    await waitFor(() => got.length >= 1);
    await delay(50);
    expect(got.map((m) => m.topic)).toEqual(['nl/b']);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] retain flag is 0 on normal delivery unless Retain As Published', async () => {
    b = await startBroker();
    const plain = await connectClient(b.port, { protocolVersion: 5 });
    const rap = await connectClient(b.port, { protocolVersion: 5 });
    const gotPlain = collect(plain);
    const gotRap = collect(rap);
    await plain.subscribeAsync('r/x', { qos: 0 });
    await rap.subscribeAsync('r/x', { qos: 0, rap: true });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('r/x', 'v', { retain: true });
    await waitFor(() => gotPlain.length === 1 && gotRap.length === 1);
    expect(gotPlain[0]!.packet.retain).toBe(false);
    expect(gotRap[0]!.packet.retain).toBe(true);
  });

  it('5.0 Retain Handling 1 sends retained only for a new subscription, 2 never', async () => {
    b = await startBroker();
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('rh/x', 'kept', { retain: true });
    const { client } = await RawClient.connect(b.port, { clientId: 'rh', protocolVersion: 5 });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rh/x', qos: 0, rh: 1 }] });
    await client.next('suback');
    await client.next('publish');
    client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'rh/x', qos: 0, rh: 1 }] });
    client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'rh/#', qos: 0, rh: 2 }] });
    await client.next('suback');
    await client.next('suback');
    await delay(100);
    expect(client.packets.filter((p) => p.cmd === 'publish').length).toBe(1);
    client.destroy();
  });

  it('$share/{group}/{filter}: each message goes to one member, round robin', async () => {
    b = await startBroker();
    const m1 = await connectClient(b.port, { protocolVersion: 5 });
    const m2 = await connectClient(b.port, { protocolVersion: 5 });
    const other = await connectClient(b.port, { protocolVersion: 5 });
    const g1 = collect(m1);
    const g2 = collect(m2);
    const go = collect(other);
    await m1.subscribeAsync('$share/g/work/+', { qos: 1 });
    await m2.subscribeAsync('$share/g/work/+', { qos: 1 });
    await other.subscribeAsync('work/#', { qos: 1 });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publishAsync('work/item', String(i), { qos: 1 });
    await waitFor(() => g1.length + g2.length === 10 && go.length === 10);
    expect(g1.length).toBe(5);
    expect(g2.length).toBe(5);
    expect([...g1, ...g2].map((m) => Number(m.payload)).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('emits subscribed and unsubscribed', async () => {
    b = await startBroker();
    const events: string[] = [];
    b.broker.on('subscribed', (subs, c) => events.push(`sub ${c.id} ${subs.map((s) => `${s.topicFilter}@${s.qos}`).join(',')}`));
    b.broker.on('unsubscribed', (filters, c) => events.push(`unsub ${c.id} ${filters.join(',')}`));
    const c = await connectClient(b.port, { clientId: 'evs' });
    await c.subscribeAsync({ 'e/1': { qos: 1 }, 'e/2': { qos: 0 } });
    await c.unsubscribeAsync('e/1');
    expect(events).toEqual(['sub evs e/1@1,e/2@0', 'unsub evs e/1']);
  });
});
