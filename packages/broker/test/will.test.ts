import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, endClients, RawClient, startBroker, type TestBroker } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

async function watch(port: number, qos: 0 | 1 | 2 = 0): Promise<RawClient> {
  const { client } = await RawClient.connect(port, { clientId: `watch-${Math.random()}` });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos }] });
  await client.next('suback');
  return client;
}

const will = (topic = 'will/x', extra: Partial<{ qos: 0 | 1 | 2; retain: boolean; properties: object }> = {}) => ({ topic, payload: Buffer.from('bye'), qos: 0 as 0 | 1 | 2, retain: false, ...extra });

describe('will messages', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`[MQTT-3.1.2-8] the will is published when the connection ends without DISCONNECT (v${protocolVersion})`, async () => {
      b = await startBroker();
      const w = await watch(b.port);
      const { client } = await RawClient.connect(b.port, { clientId: 'dies', protocolVersion, will: will() });
      client.destroy();
      const p = (await w.next('publish')) as mqttPacket.IPublishPacket;
      expect(p.topic).toBe('will/x');
      expect(p.payload.toString()).toBe('bye');
      w.destroy();
    });

    it(`[MQTT-3.1.2-10] [MQTT-3.14.4-3] no will after a normal DISCONNECT (v${protocolVersion})`, async () => {
      b = await startBroker();
      const w = await watch(b.port);
      const { client } = await RawClient.connect(b.port, { clientId: 'polite', protocolVersion, will: will() });
      client.send({ cmd: 'disconnect' });
      await client.waitClosed();
      await delay(100);
      expect(w.packets.some((p) => p.cmd === 'publish')).toBe(false);
      w.destroy();
    });

    it(`the will is published on a protocol error (v${protocolVersion})`, async () => {
      b = await startBroker();
      const w = await watch(b.port);
      const { client } = await RawClient.connect(b.port, { clientId: 'rude', protocolVersion, will: will() });
      client.sendBytes([0x10, 0x00]); // a second CONNECT (and malformed)
      await client.waitClosed();
      const p = (await w.next('publish')) as mqttPacket.IPublishPacket;
      expect(p.topic).toBe('will/x');
      w.destroy();
    });
  }

  it('5.0 DISCONNECT 0x04 publishes the will', async () => {
    b = await startBroker();
    const w = await watch(b.port);
    const { client } = await RawClient.connect(b.port, { clientId: 'withwill', protocolVersion: 5, will: will() });
    client.send({ cmd: 'disconnect', reasonCode: 0x04 });
    const p = (await w.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('will/x');
    w.destroy();
  });

  it('the old connection\'s will is published on takeover', async () => {
    b = await startBroker();
    const w = await watch(b.port);
    await RawClient.connect(b.port, { clientId: 'twin', will: will('will/twin') });
    const second = await RawClient.connect(b.port, { clientId: 'twin' });
    const p = (await w.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('will/twin');
    second.client.destroy();
    w.destroy();
  });

  it('[MQTT-3.1.2-14..17] will QoS and will retain are honoured', async () => {
    b = await startBroker();
    const w = await watch(b.port, 2);
    const { client } = await RawClient.connect(b.port, { clientId: 'wq', will: will('will/kept', { qos: 2, retain: true }) });
    client.destroy();
    const p = (await w.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.qos).toBe(2);
    const late = await watch(b.port);
    const retained = (await late.next('publish')) as mqttPacket.IPublishPacket;
    expect(retained.topic).toBe('will/kept');
    expect(retained.retain).toBe(true);
    w.destroy();
    late.destroy();
  });

  it('[MQTT-3.1.3-9] 5.0 will delay: not sent if the client reconnects in time', async () => {
    b = await startBroker();
    const w = await watch(b.port);
    const opts = { clientId: 'delayed', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
    const { client } = await RawClient.connect(b.port, { ...opts, will: will('will/d', { properties: { willDelayInterval: 1 } }) });
    client.destroy();
    await delay(200);
    const again = await RawClient.connect(b.port, opts);
    await delay(1200);
    expect(w.packets.some((p) => p.cmd === 'publish')).toBe(false);
    again.client.destroy();
    w.destroy();
  });

  it('5.0 will delay: sent after the delay when the client stays away', async () => {
    b = await startBroker();
    const w = await watch(b.port);
    const start = Date.now();
    const { client } = await RawClient.connect(b.port, { clientId: 'late', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 }, will: will('will/late', { properties: { willDelayInterval: 1 } }) });
    client.destroy();
    const p = (await w.next('publish', 3000)) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('will/late');
    expect(Date.now() - start).toBeGreaterThanOrEqual(950);
    w.destroy();
  });

  it('5.0 will delay longer than the session expiry: the will goes when the session ends', async () => {
    b = await startBroker();
    const w = await watch(b.port);
    const { client } = await RawClient.connect(b.port, { clientId: 'short', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 }, will: will('will/short', { properties: { willDelayInterval: 100 } }) });
    client.destroy();
    const p = (await w.next('publish', 3000)) as mqttPacket.IPublishPacket;
    expect(p.topic).toBe('will/short');
    w.destroy();
  });

  it('broker.close() publishes no wills', async () => {
    b = await startBroker();
    const events: string[] = [];
    b.broker.on('published', (packet) => events.push(packet.topic));
    await RawClient.connect(b.port, { clientId: 'w1', will: will() });
    await b.close();
    expect(events).toEqual([]);
  });
});
