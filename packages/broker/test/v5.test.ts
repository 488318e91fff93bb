import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, delay, endClients, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await endClients();
  await b?.close();
  b = undefined;
});

const publish = (topic: string, payload: string | Buffer, extra: Partial<mqttPacket.IPublishPacket> = {}): mqttPacket.IPublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  qos: 0,
  retain: false,
  dup: false,
  ...extra,
});

describe('MQTT 5.0', () => {
  it('[MQTT-3.2.2-15] an incoming packet above maximumPacketSize → DISCONNECT 0x95', async () => {
    b = await startBroker({ maximumPacketSize: 200 });
    const { client } = await RawClient.connect(b.port, { clientId: 'big', protocolVersion: 5 });
    client.send(publish('t', Buffer.alloc(500)));
    const d = (await client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x95);
    await client.waitClosed();
  });

  it('[MQTT-3.1.2-25] never sends a packet larger than the client Maximum Packet Size', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'small', protocolVersion: 5, properties: { maximumPacketSize: 100 } });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'sz', qos: 1 }] });
    await client.next('suback');
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('sz', Buffer.alloc(300), { qos: 1 });
    await pub.publishAsync('sz', 'small', { qos: 1 });
    const p = (await client.next('publish')) as mqttPacket.IPublishPacket;
    expect(p.payload.toString()).toBe('small');
    await delay(50);
    expect(client.packets.filter((x) => x.cmd === 'publish').length).toBe(1);
    client.destroy();
  });

  it('[MQTT-3.3.2-12] topic aliases from the client are resolved', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('alias/#');
    const { client } = await RawClient.connect(b.port, { clientId: 'al', protocolVersion: 5 });
    client.send(publish('alias/long/topic', 'one', { properties: { topicAlias: 3 } }));
    client.send(publish('', 'two', { properties: { topicAlias: 3 } }));
    await waitFor(() => got.length === 2);
    expect(got.map((m) => `${m.topic}:${m.payload}`)).toEqual(['alias/long/topic:one', 'alias/long/topic:two']);
    expect(got[1]!.packet.properties?.topicAlias).toBeUndefined();
    client.destroy();
  });

  it('[MQTT-3.3.2-9] a topic alias above topicAliasMaximum → DISCONNECT 0x94', async () => {
    b = await startBroker({ topicAliasMaximum: 2 });
    const { client } = await RawClient.connect(b.port, { clientId: 'al2', protocolVersion: 5 });
    client.send(publish('x', 'y', { properties: { topicAlias: 5 } }));
    const d = (await client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x94);
    await client.waitClosed();
  });

  it('an unknown topic alias with an empty topic → DISCONNECT (0x82 or 0x94)', async () => {
    b = await startBroker();
    const { client } = await RawClient.connect(b.port, { clientId: 'al3', protocolVersion: 5 });
    client.send(publish('', 'y', { properties: { topicAlias: 1 } }));
    const d = (await client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect([0x82, 0x94]).toContain(d.reasonCode);
    await client.waitClosed();
  });

  it('[MQTT-3.3.4-7] more unacknowledged QoS 2 than our Receive Maximum → DISCONNECT 0x93', async () => {
    b = await startBroker({ receiveMaximum: 2 });
    const { client } = await RawClient.connect(b.port, { clientId: 'flood', protocolVersion: 5 });
    for (let id = 1; id <= 3; id++) client.send(publish('rm', 'x', { qos: 2, messageId: id }));
    const d = (await client.next('disconnect')) as mqttPacket.IDisconnectPacket;
    expect(d.reasonCode).toBe(0x93);
    await client.waitClosed();
  });

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-6] properties are forwarded; message expiry is the time remaining', async () => {
    b = await startBroker();
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('props', { qos: 1 });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await pub.publishAsync('props', 'x', {
      qos: 1,
      properties: {
        userProperties: { a: '1' },
        contentType: 'text/plain',
        responseTopic: 'reply/here',
        correlationData: Buffer.from('cid'),
        payloadFormatIndicator: true,
        messageExpiryInterval: 100,
      },
    });
    await waitFor(() => got.length === 1);
    const props = got[0]!.packet.properties!;
    expect(props.userProperties).toEqual({ a: '1' });
    expect(props.contentType).toBe('text/plain');
    expect(props.responseTopic).toBe('reply/here');
    expect(Buffer.from(props.correlationData!).toString()).toBe('cid');
    expect(props.payloadFormatIndicator).toBe(true);
    expect(props.messageExpiryInterval).toBeLessThanOrEqual(100);
    expect(props.messageExpiryInterval).toBeGreaterThan(95);
  });

  it('3.1.1 and 5.0 subscribers both receive a 5.0 publisher\'s message', async () => {
    b = await startBroker();
    const s4 = await connectClient(b.port, { protocolVersion: 4 });
    const s5 = await connectClient(b.port, { protocolVersion: 5 });
    const g4 = collect(s4);
    const g5 = collect(s5);
    await s4.subscribeAsync('mix', { qos: 1 });
    await s5.subscribeAsync('mix', { qos: 1 });
    const p = await connectClient(b.port, { protocolVersion: 5 });
    await p.publishAsync('mix', 'both', { qos: 1, properties: { userProperties: { k: 'v' } } });
    await waitFor(() => g4.length === 1 && g5.length === 1);
    expect(g4[0]!.payload).toBe('both');
    expect(g5[0]!.packet.properties?.userProperties).toEqual({ k: 'v' });
  });

  it('features can be switched off: CONNACK says so, SUBACK 0xA2 / 0x9E, DISCONNECT 0xA1 / 0x9A', async () => {
    b = await startBroker({ wildcardSubscriptions: false, sharedSubscriptions: false, subscriptionIdentifiers: false, retainAvailable: false });
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'nofeat', protocolVersion: 5 });
    expect(connack.properties).toMatchObject({ retainAvailable: false, wildcardSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }, { topic: '$share/g/a', qos: 0 }, { topic: 'a/b', qos: 1 }] });
    expect(((await client.next('suback')) as mqttPacket.ISubackPacket).granted).toEqual([0xa2, 0x9e, 1]);
    client.send({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 3 }, subscriptions: [{ topic: 'x', qos: 0 }] });
    expect(((await client.next('disconnect')) as mqttPacket.IDisconnectPacket).reasonCode).toBe(0xa1);
    const other = await RawClient.connect(b.port, { clientId: 'ret', protocolVersion: 5 });
    other.client.send(publish('r', 'x', { retain: true }));
    expect(((await other.client.next('disconnect')) as mqttPacket.IDisconnectPacket).reasonCode).toBe(0x9a);
  });
});
