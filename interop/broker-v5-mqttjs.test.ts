// Interop: MQTT.js (protocolVersion 5) against hato's broker, for the 5.0 features: shared
// subscriptions, No Local, Retain Handling, message expiry, user properties and the other
// forwarded properties, request/response (Response Information, Response Topic,
// Correlation Data), topic aliases in both directions, Payload Format Indicator 0x99.
import { type BrokerUnderTest, startBroker } from '@hato/testkit';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

function collect(client: MqttClient) {
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString('utf8'), packet }));
  const waitFor = async (n: number, ms = 10_000) => {
    const end = Date.now() + ms;
    while (got.length < n) {
      if (Date.now() > end) throw new Error(`got ${got.length}/${n}: ${JSON.stringify(got.map((m) => [m.topic, m.payload]))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return got;
  };
  return { got, waitFor };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe('MQTT.js protocolVersion 5 against hato: 5.0 features', () => {
  let broker: BrokerUnderTest;
  const clients: MqttClient[] = [];
  const url = () => `mqtt://127.0.0.1:${broker.port}`;
  const open = async (opts: IClientOptions = {}) => {
    const c = await mqtt.connectAsync(url(), { protocolVersion: 5, reconnectPeriod: 0, ...opts });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    broker = await startBroker({ websocket: false });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker.close();
  });

  it('shared subscription: each message goes to one member, spread evenly', async () => {
    const members = await Promise.all([1, 2].map(() => open()));
    const inboxes = members.map((m) => collect(m));
    for (const m of members) await m.subscribeAsync('$share/workers/js/jobs', { qos: 1 });
    const pub = await open();
    for (let i = 0; i < 6; i++) await pub.publishAsync('js/jobs', `job${i}`, { qos: 1 });
    await Promise.all(inboxes.map((inbox) => inbox.waitFor(3)));
    await settle();
    expect(inboxes.map((inbox) => inbox.got.length)).toEqual([3, 3]);
    const all = inboxes.flatMap((inbox) => inbox.got.map((m) => m.payload)).sort();
    expect(all).toEqual(['job0', 'job1', 'job2', 'job3', 'job4', 'job5']);
    for (const inbox of inboxes) for (const m of inbox.got) expect(m.topic).toBe('js/jobs');
  });

  it('No Local: a client does not get its own messages, others do', async () => {
    const me = await open();
    const mine = collect(me);
    await me.subscribeAsync('js/chat', { qos: 1, nl: true });
    const other = await open();
    const theirs = collect(other);
    await other.subscribeAsync('js/chat', { qos: 1 });
    await me.publishAsync('js/chat', 'hello', { qos: 1 });
    await theirs.waitFor(1);
    await settle();
    expect(mine.got).toEqual([]);
    expect(theirs.got.map((m) => m.payload)).toEqual(['hello']);
  });

  it('Retain Handling 0, 1 and 2 (and Retain As Published)', async () => {
    const pub = await open();
    await pub.publishAsync('js/rh/state', 'on', { qos: 1, retain: true });
    const c = await open();
    const { got } = collect(c);
    await c.subscribeAsync('js/rh/+', { qos: 1, rh: 2 });
    await settle();
    expect(got.length).toBe(0); // 2: never at subscribe
    await c.unsubscribeAsync('js/rh/+');
    await c.subscribeAsync('js/rh/+', { qos: 1, rh: 1 });
    await settle();
    expect(got.map((m) => [m.payload, m.packet.retain])).toEqual([['on', true]]); // 1: new subscription
    await c.subscribeAsync('js/rh/+', { qos: 1, rh: 1 });
    await settle();
    expect(got.length).toBe(1); // 1: not for an existing one
    await c.subscribeAsync('js/rh/+', { qos: 1, rh: 0, rap: true });
    await settle();
    expect(got.length).toBe(2); // 0: at every subscribe
    await pub.publishAsync('js/rh/state', 'off', { qos: 1, retain: true });
    await settle();
    expect(got[2]).toMatchObject({ payload: 'off' });
    expect(got[2]!.packet.retain).toBe(true); // Retain As Published
  });

  it('message expiry: an expired message is not delivered to a returning session; the other carries the remaining interval', async () => {
    const session = { clientId: 'js-v5-expiry', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await open(session);
    await first.subscribeAsync('js/expiry', { qos: 1 });
    await first.endAsync();
    const pub = await open();
    await pub.publishAsync('js/expiry', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('js/expiry', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await settle(1600);
    const again = mqtt.connect(url(), { protocolVersion: 5, reconnectPeriod: 0, ...session });
    clients.push(again);
    const { got, waitFor } = collect(again);
    await waitFor(1);
    await settle();
    expect(got.map((m) => m.payload)).toEqual(['long']);
    const left = got[0]!.packet.properties?.messageExpiryInterval ?? 0;
    expect(left).toBeGreaterThan(90);
    expect(left).toBeLessThan(100);
  });

  it('user properties and the other application properties pass through unchanged', async () => {
    const sub = await open();
    const { waitFor } = collect(sub);
    await sub.subscribeAsync('js/props', { qos: 1 });
    const pub = await open();
    await pub.publishAsync('js/props', '{"a":1}', {
      qos: 1,
      properties: {
        userProperties: { region: 'eu', tag: ['x', 'y'] },
        contentType: 'application/json',
        payloadFormatIndicator: true,
      },
    });
    const [m] = await waitFor(1);
    expect(m!.packet.properties?.userProperties).toEqual({ region: 'eu', tag: ['x', 'y'] });
    expect(m!.packet.properties?.contentType).toBe('application/json');
    expect(m!.packet.properties?.payloadFormatIndicator).toBe(true);
  });

  it('request/response: Response Information on request, Response Topic and Correlation Data carried both ways', async () => {
    const responder = await open();
    await responder.subscribeAsync('js/service/time', { qos: 1 });
    responder.on('message', (_topic, payload, packet) => {
      const replyTo = packet.properties?.responseTopic;
      if (replyTo === undefined) return;
      responder.publish(replyTo, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: packet.properties?.correlationData } });
    });
    const requester = mqtt.connect(url(), { protocolVersion: 5, reconnectPeriod: 0, properties: { requestResponseInformation: true } });
    clients.push(requester);
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => requester.once('connect', resolve));
    const base = connack.properties?.responseInformation;
    expect(typeof base).toBe('string');
    const replyTo = `${base}/time`;
    const { waitFor } = collect(requester);
    await requester.subscribeAsync(replyTo, { qos: 1 });
    const correlation = Buffer.from([1, 2, 3, 4]);
    await requester.publishAsync('js/service/time', 'now?', { qos: 1, properties: { responseTopic: replyTo, correlationData: correlation } });
    const [reply] = await waitFor(1);
    expect(reply!.topic).toBe(replyTo);
    expect(reply!.payload).toBe('re:now?');
    expect(Buffer.from(reply!.packet.properties?.correlationData ?? [])).toEqual(correlation);
  });

  it('topic aliases: MQTT.js assigns its own toward hato, hato assigns its own toward MQTT.js (within its maximum)', async () => {
    const sub = await open({ properties: { topicAliasMaximum: 2 } });
    const wire: string[] = [];
    const aliases: number[] = [];
    sub.on('packetreceive', (packet) => {
      if (packet.cmd !== 'publish') return;
      wire.push(String(packet.topic));
      aliases.push(packet.properties?.topicAlias ?? 0);
    });
    const { waitFor } = collect(sub);
    await sub.subscribeAsync('js/alias/#', { qos: 1 });
    const pub = await open({ autoAssignTopicAlias: true });
    const topics = ['js/alias/a', 'js/alias/a', 'js/alias/b', 'js/alias/b', 'js/alias/c', 'js/alias/a'];
    for (const [i, topic] of topics.entries()) await pub.publishAsync(topic, `${i}`, { qos: 1 });
    const got = await waitFor(6);
    expect(got.map((m) => m.topic)).toEqual(topics);
    expect(got.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4', '5']);
    // On the wire toward MQTT.js: topic + alias first, then only the alias; never above 2.
    expect(wire).toEqual(['js/alias/a', '', 'js/alias/b', '', 'js/alias/c', 'js/alias/a']);
    for (const alias of aliases) expect(alias === 1 || alias === 2).toBe(true);
  });

  it('Payload Format Indicator 1 with invalid UTF-8 is refused with 0x99', async () => {
    const pub = await open();
    const invalid = Buffer.from([0x66, 0x6f, 0xff, 0xfe]);
    const error = await pub.publishAsync('js/pfi', invalid, { qos: 1, properties: { payloadFormatIndicator: true } }).then(
      () => undefined,
      (err: unknown) => err as { code?: number; message?: string },
    );
    expect(error?.code).toBe(0x99);
    expect(error?.message).toMatch(/Payload format invalid/);
  });
});
