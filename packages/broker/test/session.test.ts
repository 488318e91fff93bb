import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, MemoryPersistence } from '../src/index.js';
import { connectClient, delay, endClients, RawClient, startBroker, type TestBroker } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

describe('sessions', () => {
  it('[MQTT-3.2.2-2] [MQTT-3.2.2-3] 3.1.1 session present: 0 first, 1 when resuming with clean session 0', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'sp', clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    first.client.send({ cmd: 'disconnect' });
    await first.client.waitClosed();
    const second = await RawClient.connect(b.port, { clientId: 'sp', clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    second.client.destroy();
  });

  it('[MQTT-3.1.2-6] [MQTT-3.2.2-1] a clean session is discarded at disconnect and on connect', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'cs', clean: false });
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cs', qos: 1 }] });
    await first.client.next('suback');
    first.client.destroy();
    await delay(50);
    const clean = await RawClient.connect(b.port, { clientId: 'cs', clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    clean.client.send({ cmd: 'disconnect' });
    await clean.client.waitClosed();
    const again = await RawClient.connect(b.port, { clientId: 'cs', clean: false });
    expect(again.connack.sessionPresent).toBe(false);
    // The old subscription is gone: nothing is delivered.
    const pub = await connectClient(b.port);
    await pub.publishAsync('cs', 'x', { qos: 1 });
    await delay(100);
    expect(again.client.packets.some((p) => p.cmd === 'publish')).toBe(false);
    again.client.destroy();
  });

  it('subscriptions survive a reconnect of a persistent session', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'keep', clean: false });
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'keep/#', qos: 1 }] });
    await first.client.next('suback');
    first.client.destroy();
    await delay(50);
    const again = await RawClient.connect(b.port, { clientId: 'keep', clean: false });
    const pub = await connectClient(b.port);
    await pub.publishAsync('keep/1', 'x', { qos: 1 });
    const p = (await again.client.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('keep/1');
    again.client.destroy();
  });

  it('5.0: Session Expiry Interval 0 (default) ends the session at disconnect', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'e0', protocolVersion: 5, clean: false });
    first.client.destroy();
    await delay(50);
    const second = await RawClient.connect(b.port, { clientId: 'e0', protocolVersion: 5, clean: false });
    expect(second.connack.sessionPresent).toBe(false);
    second.client.destroy();
  });

  it('5.0: a session expires after its Session Expiry Interval', async () => {
    b = await startBroker();
    const opts = { clientId: 'e1', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 1 } };
    const first = await RawClient.connect(b.port, opts);
    first.client.destroy();
    await delay(300);
    const soon = await RawClient.connect(b.port, opts);
    expect(soon.connack.sessionPresent).toBe(true);
    soon.client.destroy();
    await delay(1300);
    expect(b.broker.sessions.get('e1')).toBeUndefined();
    const late = await RawClient.connect(b.port, opts);
    expect(late.connack.sessionPresent).toBe(false);
    late.client.destroy();
  });

  it('5.0: DISCONNECT may extend the session expiry', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'ext', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } });
    first.client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 600 } });
    await first.client.waitClosed();
    await delay(1300);
    const second = await RawClient.connect(b.port, { clientId: 'ext', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } });
    expect(second.connack.sessionPresent).toBe(true);
    second.client.destroy();
  });

  it('[MQTT-3.14.2-2] 5.0: DISCONNECT setting a Session Expiry when CONNECT had 0 is a protocol error', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'zero', protocolVersion: 5 });
    client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const d = (await client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x82);
    await client.waitClosed();
  });

  it('5.0 clean start 1 discards an existing session', async () => {
    b = await startBroker();
    const opts = { clientId: 'cs5', protocolVersion: 5 as const, properties: { sessionExpiryInterval: 60 } };
    const first = await RawClient.connect(b.port, { ...opts, clean: false });
    first.client.destroy();
    await delay(50);
    const second = await RawClient.connect(b.port, { ...opts, clean: true });
    expect(second.connack.sessionPresent).toBe(false);
    second.client.destroy();
  });

  it('sessions and retained messages are restored from the Persistence by a new Broker', async () => {
    const persistence = new MemoryPersistence();
    const one = new Broker({ persistence });
    const l1 = await one.listen({ port: 0, host: '127.0.0.1' });
    const sub = await RawClient.connect(l1.port, { clientId: 'durable', clean: false });
    sub.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] });
    await sub.client.next('suback');
    sub.client.destroy();
    const pub = await connectClient(l1.port);
    await pub.publishAsync('d/queued', 'q', { qos: 1 });
    await pub.publishAsync('d/ret', 'r', { qos: 1, retain: true });
    await endClients();
    await one.close();
    b = await startBroker({ persistence });
    const again = await RawClient.connect(b.port, { clientId: 'durable', clean: false });
    expect(again.connack.sessionPresent).toBe(true);
    const p = (await again.client.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('d/queued');
    expect(Buffer.from(b.broker.retained.get('d/ret')!.payload).toString()).toBe('r');
    again.client.destroy();
  });
});

describe('broker.close()', () => {
  it('sends 5.0 clients DISCONNECT 0x8B, closes 3.1.1 clients, and refuses new streams', async () => {
    const t = await startBroker();
    const v5 = await RawClient.connect(t.port, { clientId: 'c5', protocolVersion: 5 });
    const v4 = await RawClient.connect(t.port, { clientId: 'c4' });
    await t.close();
    const d = (await v5.client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x8b);
    await v5.client.waitClosed();
    await v4.client.waitClosed();
    expect(t.broker.connectionCount).toBe(0);
  });
});
