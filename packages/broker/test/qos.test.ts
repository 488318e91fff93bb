import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, delay, endClients, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

async function subscriber(port: number, clientId: string, topic: string, qos: 0 | 1 | 2, version: 4 | 5 = 4, clean = true): Promise<RawClient> {
  const { client } = await RawClient.connect(port, { clientId, protocolVersion: version, clean, ...(version === 5 && !clean ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  await client.next('suback');
  return client;
}

describe('QoS 1 and 2', () => {
  for (const version of [4, 5] as const) {
    it(`[MQTT-4.3.2-2] QoS 1 PUBLISH is answered with PUBACK and delivered with a packet id (v${version})`, async () => {
      b = await startBroker();
      const sub = await subscriber(b.port, 's', 't', 1, version);
      const { client: pub } = await RawClient.connect(b.port, { clientId: 'p', protocolVersion: version });
      pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('m1'), qos: 1, messageId: 42, retain: false, dup: false });
      const puback = (await pub.next('puback')) as mqttPacket.IPubackPacket;
      expect(puback.messageId).toBe(42);
      const delivered = (await sub.next('publish')) as mqttPacket.IPublishPacket;
      expect(delivered.qos).toBe(1);
      expect(delivered.messageId).toBeGreaterThan(0);
      expect(delivered.payload.toString()).toBe('m1');
      sub.send({ cmd: 'puback', messageId: delivered.messageId! });
      pub.destroy();
      sub.destroy();
    });

    it(`[MQTT-4.3.3-9] a re-sent QoS 2 PUBLISH before PUBREL is not delivered twice (v${version})`, async () => {
      b = await startBroker();
      const sub = await subscriber(b.port, 's2', 't2', 2, version);
      const { client: pub } = await RawClient.connect(b.port, { clientId: 'p2', protocolVersion: version });
      const publish: mqttPacket.IPublishPacket = { cmd: 'publish', topic: 't2', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false };
      pub.send(publish);
      expect(((await pub.next('pubrec')) as mqttPacket.IPubrecPacket).messageId).toBe(7);
      pub.send({ ...publish, dup: true });
      expect(((await pub.next('pubrec')) as mqttPacket.IPubrecPacket).messageId).toBe(7);
      pub.send({ cmd: 'pubrel', messageId: 7 });
      expect(((await pub.next('pubcomp')) as mqttPacket.IPubcompPacket).messageId).toBe(7);
      // After PUBREL the id is free: the same id now carries a new message.
      pub.send({ ...publish, payload: Buffer.from('twice') });
      await pub.next('pubrec');
      pub.send({ cmd: 'pubrel', messageId: 7 });
      await pub.next('pubcomp');
      const first = (await sub.next('publish')) as mqttPacket.IPublishPacket;
      const second = (await sub.next('publish')) as mqttPacket.IPublishPacket;
      sub.send({ cmd: 'pubrec', messageId: first.messageId! });
      expect(((await sub.next('pubrel')) as mqttPacket.IPubrelPacket).messageId).toBe(first.messageId);
      sub.send({ cmd: 'pubcomp', messageId: first.messageId! });
      await delay(50);
      expect([first.payload.toString(), second.payload.toString()]).toEqual(['once', 'twice']);
      expect(sub.packets.filter((p) => p.cmd === 'publish').length).toBe(2);
      pub.destroy();
      sub.destroy();
    });
  }

  it('QoS 2 end to end with MQTT.js in both directions', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('q2/#', { qos: 2 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 20; i++) await pub.publishAsync(`q2/${i}`, String(i), { qos: 2 });
    await waitFor(() => got.length === 20);
    expect(got.map((m) => m.payload)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(got.every((m) => m.packet.qos === 2)).toBe(true);
  });

  it('5.0 PUBACK/PUBREC carry 0x10 No matching subscribers when nobody matched', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'nobody', protocolVersion: 5 });
    client.send({ cmd: 'publish', topic: 'void', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    expect(((await client.next('puback')) as mqttPacket.IPubackPacket).reasonCode).toBe(0x10);
    client.send({ cmd: 'publish', topic: 'void', payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: false });
    expect(((await client.next('pubrec')) as mqttPacket.IPubrecPacket).reasonCode).toBe(0x10);
    client.destroy();
  });

  it('5.0 PUBREL for an unknown packet id gets PUBCOMP 0x92', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'rel', protocolVersion: 5 });
    client.send({ cmd: 'pubrel', messageId: 99 });
    const pubcomp = (await client.next('pubcomp')) as mqttPacket.IPubcompPacket;
    expect(pubcomp.messageId).toBe(99);
    expect(pubcomp.reasonCode).toBe(0x92);
    client.destroy();
  });

  it('authorizePublish: a refused QoS 1 message is not routed (5.0 PUBACK 0x87, 3.1.1 positive PUBACK)', async () => {
    b = await startBroker({ hooks: { authorizePublish: (_c, p) => !p.topic.startsWith('deny') } });
    const sub = await subscriber(b.port, 'watch', '#', 1);
    const { client: v5 } = await RawClient.connect(b.port, { clientId: 'p5', protocolVersion: 5 });
    v5.send({ cmd: 'publish', topic: 'deny/x', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false });
    expect(((await v5.next('puback')) as mqttPacket.IPubackPacket).reasonCode).toBe(0x87);
    const { client: v4 } = await RawClient.connect(b.port, { clientId: 'p4' });
    v4.send({ cmd: 'publish', topic: 'deny/y', payload: Buffer.from('y'), qos: 1, messageId: 4, retain: false, dup: false });
    expect(((await v4.next('puback')) as mqttPacket.IPubackPacket).messageId).toBe(4);
    v4.send({ cmd: 'publish', topic: 'allow', payload: Buffer.from('ok'), qos: 1, messageId: 5, retain: false, dup: false });
    const delivered = (await sub.next('publish')) as mqttPacket.IPublishPacket;
    expect(delivered.topic).toBe('allow');
    for (const c of [sub, v4, v5]) c.destroy();
  });

  it('an async authorizePublish keeps the order of a client\'s messages', async () => {
    b = await startBroker({ hooks: { authorizePublish: (_c, p) => new Promise((r) => setTimeout(() => r(true), p.payload[0]! % 3)) } });
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await sub.subscribeAsync('ord', { qos: 1 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 30; i++) pub.publish('ord', Buffer.from([i]), { qos: i % 2 === 0 ? 1 : 0 });
    await waitFor(() => got.length === 30);
    expect(got.map((m) => m.packet.payload[0])).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('in-flight window: at most maxInflightMessages unacknowledged, the rest queued and sent on PUBACK', async () => {
    b = await startBroker({ maxInflightMessages: 3 });
    const sub = await subscriber(b.port, 'slow', 'w', 1);
    const pub = await connectClient(b.port);
    for (let i = 0; i < 6; i++) await pub.publishAsync('w', String(i), { qos: 1 });
    await delay(100);
    const first = sub.packets.filter((p) => p.cmd === 'publish') as mqttPacket.IPublishPacket[];
    expect(first.map((p) => p.payload.toString())).toEqual(['0', '1', '2']);
    sub.send({ cmd: 'puback', messageId: first[0]!.messageId! });
    await delay(100);
    const after = sub.packets.filter((p) => p.cmd === 'publish') as mqttPacket.IPublishPacket[];
    expect(after.map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3']);
    sub.destroy();
  });

  it('[MQTT-3.3.4-9] a 5.0 client\'s Receive Maximum bounds the outgoing window', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'rm', protocolVersion: 5, properties: { receiveMaximum: 2 } });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm', qos: 2 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    for (let i = 0; i < 5; i++) await pub.publishAsync('rm', String(i), { qos: 2 });
    await delay(100);
    expect(client.packets.filter((p) => p.cmd === 'publish').length).toBe(2);
    client.destroy();
  });
});

describe('persistent sessions: queueing and retransmission', () => {
  for (const version of [4, 5] as const) {
    it(`[MQTT-4.4.0-1] unacknowledged PUBLISH is re-sent with DUP=1 and the same id on reconnect; PUBREL too (v${version})`, async () => {
      b = await startBroker();
      const sub = await subscriber(b.port, 'persist', 'p/#', 2, version, false);
      const pub = await connectClient(b.port);
      await pub.publishAsync('p/1', 'a', { qos: 1 });
      await pub.publishAsync('p/2', 'b', { qos: 2 });
      const m1 = (await sub.next('publish')) as mqttPacket.IPublishPacket;
      const m2 = (await sub.next('publish')) as mqttPacket.IPublishPacket;
      sub.send({ cmd: 'pubrec', messageId: m2.messageId! });
      await sub.next('pubrel');
      sub.destroy();
      await delay(50);
      const { client: again, connack } = await RawClient.connect(b.port, { clientId: 'persist', protocolVersion: version, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
      expect(connack.sessionPresent).toBe(true);
      const re1 = (await again.next('publish')) as mqttPacket.IPublishPacket;
      expect(re1.dup).toBe(true);
      expect(re1.messageId).toBe(m1.messageId);
      expect(re1.payload.toString()).toBe('a');
      const rel = (await again.next('pubrel')) as mqttPacket.IPubrelPacket;
      expect(rel.messageId).toBe(m2.messageId);
      again.destroy();
    });

    it(`messages for an offline persistent session are queued and delivered in order on reconnect (v${version})`, async () => {
      b = await startBroker();
      const sub = await subscriber(b.port, 'offline', 'o', 1, version, false);
      sub.send({ cmd: 'disconnect' });
      await sub.waitClosed();
      const pub = await connectClient(b.port);
      for (let i = 0; i < 5; i++) await pub.publishAsync('o', String(i), { qos: 1 });
      await pub.publishAsync('o', 'qos0-not-queued', { qos: 0 });
      const { client: again, connack } = await RawClient.connect(b.port, { clientId: 'offline', protocolVersion: version, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
      expect(connack.sessionPresent).toBe(true);
      const got: string[] = [];
      for (let i = 0; i < 5; i++) {
        const p = (await again.next('publish')) as mqttPacket.IPublishPacket;
        got.push(p.payload.toString());
        again.send({ cmd: 'puback', messageId: p.messageId! });
      }
      await delay(50);
      expect(got).toEqual(['0', '1', '2', '3', '4']);
      expect(again.packets.filter((p) => p.cmd === 'publish').length).toBe(5);
      again.destroy();
    });
  }

  it('the offline queue is bounded by maxQueuedMessages', async () => {
    b = await startBroker({ maxQueuedMessages: 3 });
    const sub = await subscriber(b.port, 'bounded', 'bq', 1, 4, false);
    sub.destroy();
    await delay(50);
    const pub = await connectClient(b.port);
    for (let i = 0; i < 10; i++) await pub.publishAsync('bq', String(i), { qos: 1 });
    const { client: again } = await RawClient.connect(b.port, { clientId: 'bounded', clean: false });
    await delay(150);
    const got = (again.packets.filter((p) => p.cmd === 'publish') as mqttPacket.IPublishPacket[]).map((p) => p.payload.toString());
    expect(got).toEqual(['0', '1', '2']);
    again.destroy();
  });
});
