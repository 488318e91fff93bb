import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, endClients, RawClient, rawConnect, rawConnectPacket, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

describe('CONNECT', () => {
  it('[MQTT-3.1.0-1] a first packet other than CONNECT closes the connection', async () => {
    b = await startBroker();
    const raw = await rawConnect(b.port);
    raw.send([0xc0, 0x00]); // PINGREQ
    await raw.closed;
    expect(raw.received().length).toBe(0);
  });

  it('[MQTT-3.1.0-2] a second CONNECT closes the connection', async () => {
    b = await startBroker();
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'twice' });
    expect(connack.returnCode).toBe(0);
    client.send({ cmd: 'connect', clientId: 'twice', protocolVersion: 4, protocolId: 'MQTT', clean: true, keepalive: 0 });
    await client.waitClosed();
  });

  it('[MQTT-3.1.2-2] an unsupported protocol level gets CONNACK 0x01 and is closed', async () => {
    b = await startBroker();
    const raw = await rawConnect(b.port);
    raw.send(rawConnectPacket('old', { level: 2 }));
    await raw.closed;
    expect([...raw.received()]).toEqual([0x20, 0x02, 0x00, 0x01]);
  });

  it('a level above 5 gets a 5.0 CONNACK 0x84', async () => {
    b = await startBroker();
    const raw = await rawConnect(b.port);
    raw.send(rawConnectPacket('future', { level: 6 }));
    await raw.closed;
    expect([...raw.received().subarray(0, 4)]).toEqual([0x20, 0x03, 0x00, 0x84]);
  });

  it('accepts MQTT 3.1 (MQIsdp), 3.1.1 and 5.0 side by side', async () => {
    b = await startBroker();
    const v3 = await RawClient.connect(b.port, { clientId: 'v31', protocolVersion: 3 });
    const v4 = await RawClient.connect(b.port, { clientId: 'v311', protocolVersion: 4 });
    const v5 = await RawClient.connect(b.port, { clientId: 'v5', protocolVersion: 5 });
    expect(v3.connack.returnCode).toBe(0);
    expect(v4.connack.returnCode).toBe(0);
    expect(v5.connack.reasonCode).toBe(0);
    for (const c of [v3, v4, v5]) c.client.destroy();
  });

  it('MQTT 3.1 client ids longer than 23 characters are rejected with 0x02', async () => {
    b = await startBroker();
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'x'.repeat(24), protocolVersion: 3 });
    expect(connack.returnCode).toBe(2);
    await client.waitClosed();
  });

  it('MQTT 3.1 client ids up to maxClientIdLengthV31 when configured longer', async () => {
    b = await startBroker({ maxClientIdLengthV31: 64 });
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'x'.repeat(40), protocolVersion: 3 });
    expect(connack.returnCode).toBe(0);
    client.destroy();
  });

  it('[MQTT-3.1.3-8] 3.1.1 zero-length client id with clean session 0 → CONNACK 0x02', async () => {
    b = await startBroker();
    const raw = await rawConnect(b.port);
    raw.send(rawConnectPacket('', { clean: false }));
    await raw.closed;
    expect([...raw.received()]).toEqual([0x20, 0x02, 0x00, 0x02]);
  });

  it('[MQTT-3.1.3-6] 3.1.1 zero-length client id with clean session 1 is accepted', async () => {
    b = await startBroker();
    const { client, connack } = await RawClient.connect(b.port, { clientId: '', clean: true });
    expect(connack.returnCode).toBe(0);
    client.destroy();
  });

  it('[MQTT-3.2.2-16] 5.0 zero-length client id gets an Assigned Client Identifier', async () => {
    b = await startBroker();
    const seen: string[] = [];
    b.broker.on('clientConnected', (c) => seen.push(c.id));
    const { client, connack } = await RawClient.connect(b.port, { clientId: '', protocolVersion: 5 });
    expect(connack.reasonCode).toBe(0);
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^hato-/);
    expect(seen).toEqual([assigned]);
    client.destroy();
  });

  it('5.0 CONNACK announces the broker limits and features', async () => {
    b = await startBroker({ receiveMaximum: 10, maximumPacketSize: 1000, topicAliasMaximum: 5 });
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'props', protocolVersion: 5 });
    expect(connack.properties).toMatchObject({
      receiveMaximum: 10,
      maximumPacketSize: 1000,
      topicAliasMaximum: 5,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    });
    client.destroy();
  });

  it('drops sockets that never send CONNECT after connectTimeoutMs', async () => {
    b = await startBroker({ connectTimeoutMs: 100 });
    const raw = await rawConnect(b.port);
    await raw.closed;
    expect(raw.received().length).toBe(0);
  });

  it('connectTimeoutMs also bounds an authenticate hook that never answers', async () => {
    b = await startBroker({ connectTimeoutMs: 150, hooks: { authenticate: () => new Promise<boolean>(() => {}) } });
    const raw = await rawConnect(b.port);
    raw.send(rawConnectPacket('stuck'));
    await raw.closed;
    expect(raw.received().length).toBe(0);
    expect(b.broker.connectionCount).toBe(0);
  });

  it('[MQTT-3.1.4-3] a second connection with the same id takes over (3.1.1: old one closed)', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'same' });
    const second = await RawClient.connect(b.port, { clientId: 'same' });
    expect(second.connack.returnCode).toBe(0);
    await first.client.waitClosed();
    expect(second.client.closed).toBe(false);
    second.client.destroy();
  });

  it('[MQTT-3.1.4-3] 5.0 takeover sends DISCONNECT 0x8E to the old connection', async () => {
    b = await startBroker();
    const first = await RawClient.connect(b.port, { clientId: 'same5', protocolVersion: 5 });
    const second = await RawClient.connect(b.port, { clientId: 'same5', protocolVersion: 5 });
    const disconnect = (await first.client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x8e);
    await first.client.waitClosed();
    second.client.destroy();
  });

  it('the authenticate hook refuses bad credentials (3.1.1: 4, 5.0: 0x86) and accepts good ones', async () => {
    b = await startBroker({
      hooks: { authenticate: (_c, user, pass) => user === 'u' && Buffer.from(pass ?? []).toString() === 'p' },
    });
    const bad4 = await RawClient.connect(b.port, { clientId: 'a', username: 'u', password: Buffer.from('x') });
    expect(bad4.connack.returnCode).toBe(4);
    await bad4.client.waitClosed();
    const bad5 = await RawClient.connect(b.port, { clientId: 'a', username: 'u', password: Buffer.from('x'), protocolVersion: 5 });
    expect(bad5.connack.reasonCode).toBe(0x86);
    await bad5.client.waitClosed();
    const good = await connectClient(b.port, { username: 'u', password: 'p' });
    expect(good.connected).toBe(true);
  });

  it('an async authenticate hook may return a reason code (3.1.1 not authorized → 5)', async () => {
    b = await startBroker({ hooks: { authenticate: async (c) => (c.id === 'banned' ? 0x87 : true) } });
    const bad = await RawClient.connect(b.port, { clientId: 'banned' });
    expect(bad.connack.returnCode).toBe(5);
    const good = await RawClient.connect(b.port, { clientId: 'fine', protocolVersion: 5 });
    expect(good.connack.reasonCode).toBe(0);
    good.client.destroy();
  });

  it('5.0 enhanced authentication is refused with 0x8C', async () => {
    b = await startBroker();
    const { connack } = await RawClient.connect(b.port, { clientId: 'e', protocolVersion: 5, properties: { authenticationMethod: 'SCRAM' } });
    expect(connack.reasonCode).toBe(0x8c);
  });

  it('[MQTT-3.2.2-21] 5.0: a keep alive above maxKeepAlive is answered with Server Keep Alive', async () => {
    b = await startBroker({ maxKeepAlive: 30 });
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'ka', protocolVersion: 5, keepalive: 600 });
    expect(connack.properties?.serverKeepAlive).toBe(30);
    client.destroy();
  });

  it('emits clientConnected and clientDisconnected', async () => {
    b = await startBroker();
    const events: string[] = [];
    b.broker.on('clientConnected', (c) => events.push(`+${c.id}`));
    b.broker.on('clientDisconnected', (c, reason) => events.push(`-${c.id}:${reason === undefined ? 'normal' : 'lost'}`));
    const c = await connectClient(b.port, { clientId: 'ev' });
    await c.endAsync();
    await waitFor(() => events.length === 2);
    expect(events).toEqual(['+ev', '-ev:normal']);
  });
});

describe('keep alive', () => {
  it('[MQTT-3.1.2-24] a silent 3.1.1 client is disconnected after 1.5 × keep alive and its will published', async () => {
    b = await startBroker();
    const watcher = await RawClient.connect(b.port, { clientId: 'watcher' });
    watcher.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 0 }] });
    await watcher.client.next('suback');
    const start = Date.now();
    const silent = await RawClient.connect(b.port, { clientId: 'silent', keepalive: 1, will: { topic: 'wills/silent', payload: Buffer.from('gone'), qos: 0, retain: false } });
    await silent.client.waitClosed(4000);
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    const will = (await watcher.client.next('publish')) as mqttPacket.IPublishPacket;
    expect(will.topic).toBe('wills/silent');
    expect(will.payload.toString()).toBe('gone');
    watcher.client.destroy();
  });

  it('a 5.0 client gets DISCONNECT 0x8D on keep alive timeout', async () => {
    b = await startBroker();
    const silent = await RawClient.connect(b.port, { clientId: 'silent5', keepalive: 1, protocolVersion: 5 });
    const disconnect = (await silent.client.next('disconnect', 4000)) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x8d);
    await silent.client.waitClosed();
  });

  it('[MQTT-3.12.4-1] PINGREQ keeps the connection alive and gets PINGRESP', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'pinger', keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      client.send({ cmd: 'pingreq' });
      await client.next('pingresp');
    }
    expect(client.closed).toBe(false);
    client.destroy();
  });
});
