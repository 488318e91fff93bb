/**
 * 09 — MQTT 5.0 basics: CONNACK properties, reason codes on acks, Receive Maximum both
 * ways, Maximum Packet Size both ways, topic aliases from the client, Server Keep Alive,
 * property forwarding, message expiry.
 */
import {
  getProp,
  getProps,
  Prop,
  publish,
  pubrel,
  sleep,
  supportsOption,
} from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, expectDisconnectAndClose, KEEPALIVE_SLACK_MS, persistent, target, uid, useBroker, useExtraBrokers } from './support.js';

const ctx = useBroker();

/** Brokers with special options, started by a test and stopped after it. */
const brokerWith = useExtraBrokers();

/** Properties a CONNACK may carry (5.0 §3.2.2.3). */
const CONNACK_PROPS = new Set<number>([
  Prop.SessionExpiryInterval,
  Prop.ReceiveMaximum,
  Prop.MaximumQoS,
  Prop.RetainAvailable,
  Prop.MaximumPacketSize,
  Prop.AssignedClientIdentifier,
  Prop.TopicAliasMaximum,
  Prop.ReasonString,
  Prop.UserProperty,
  Prop.WildcardSubscriptionAvailable,
  Prop.SubscriptionIdentifierAvailable,
  Prop.SharedSubscriptionAvailable,
  Prop.ServerKeepAlive,
  Prop.ResponseInformation,
  Prop.ServerReference,
  Prop.AuthenticationMethod,
  Prop.AuthenticationData,
]);

describe('09 MQTT 5.0 basics', () => {
  it('[§3.2.2.3][MQTT-3.2.2-9] CONNACK properties are CONNACK properties, each at most once, with a topic alias maximum', async () => {
    const c = await client(ctx.port, 5);
    const props = c.connack!.properties;
    const ids = props.map(([id]) => id);
    for (const id of ids) expect(CONNACK_PROPS.has(id), `property 0x${id.toString(16)}`).toBe(true);
    const single = ids.filter((id) => id !== Prop.UserProperty);
    expect(new Set(single).size).toBe(single.length);
    const aliasMax = getProp(props, Prop.TopicAliasMaximum);
    expect(typeof aliasMax === 'number' && aliasMax > 0).toBe(true);
    const maxQos = getProp(props, Prop.MaximumQoS);
    if (maxQos !== undefined) expect([0, 1]).toContain(maxQos); // [MQTT-3.2.2-9] absent means 2
  });

  describe('reason codes on acknowledgements', () => {
    it('[MQTT-3.4.2-1] PUBACK 0x10 (No matching subscribers) when nobody subscribes', async () => {
      const c = await client(ctx.port, 5);
      c.publish({ topic: uid('nobody'), payload: 'x', qos: 1, packetId: 1 });
      expect(await c.expectPacket('puback')).toMatchObject({ packetId: 1, reasonCode: 0x10 });
    });

    // 0x10 is a MAY; mosquitto answers QoS 2 with PUBREC 0x00 (it does use 0x10 in PUBACK).
    it.skipIf(target === 'mosquitto')('[MQTT-3.5.2-1] PUBREC 0x10 (No matching subscribers) for QoS 2', async () => {
      const c = await client(ctx.port, 5);
      c.publish({ topic: uid('nobody'), payload: 'x', qos: 2, packetId: 2 });
      expect(await c.expectPacket('pubrec')).toMatchObject({ packetId: 2, reasonCode: 0x10 });
      c.send(pubrel(2, { version: 5 }));
      expect(await c.expectPacket('pubcomp')).toMatchObject({ packetId: 2, reasonCode: 0 });
    });

    it('[MQTT-3.4.2-1] PUBACK 0x00 when a subscriber matches', async () => {
      const topic = uid('some');
      const sub = await client(ctx.port, 5);
      await sub.subscribe(topic);
      const c = await client(ctx.port, 5);
      c.publish({ topic, payload: 'x', qos: 1, packetId: 3 });
      expect(await c.expectPacket('puback')).toMatchObject({ packetId: 3, reasonCode: 0 });
    });

    // mosquitto 2.0.11 answers with PUBCOMP 0x00.
    it.skipIf(target === 'mosquitto')('[MQTT-3.7.2-1] PUBREL for an unknown packet id → PUBCOMP 0x92 (Packet Identifier not found)', async () => {
      const c = await client(ctx.port, 5);
      c.send(pubrel(999, { version: 5 }));
      expect(await c.expectPacket('pubcomp')).toMatchObject({ packetId: 999, reasonCode: 0x92 });
    });
  });

  describe('Receive Maximum', () => {
    // mosquitto 2.0.11 sends two more messages after the first PUBACK, 3 in flight with
    // Receive Maximum 2: a mosquitto bug against [MQTT-3.3.4-9].
    it.skipIf(target === 'mosquitto')('[MQTT-3.3.4-9] the broker sends at most the client Receive Maximum unacknowledged QoS 1 messages', async () => {
      const topic = uid('rmax');
      const sub = await client(ctx.port, 5, { properties: [[Prop.ReceiveMaximum, 2]] });
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, 5);
      for (let i = 0; i < 5; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      const first = await sub.expectPublishes(2);
      await sub.expectNoPacket(400);
      await sub.ack(first[0]!);
      const third = await sub.expectPacket('publish');
      expect(third.text).toBe('m2');
      await sub.expectNoPacket(300);
    });

    // mosquitto advertises max_inflight_messages as Receive Maximum but does not enforce it.
    it.skipIf(target === 'mosquitto')(
      '[MQTT-3.3.4-7] more QoS 2 publishes in flight than the server Receive Maximum → DISCONNECT 0x93',
      async () => {
        const broker = await brokerWith({ receiveMaximum: 2 });
        const c = await client(broker.port, 5);
        expect(getProp(c.connack!.properties, Prop.ReceiveMaximum)).toBe(2);
        const topic = uid('over');
        for (let id = 1; id <= 3; id++) c.publish({ topic, payload: 'x', qos: 2, packetId: id });
        await c.takePacket('disconnect', (d) => d.reasonCode === 0x93);
        await c.expectClose();
      },
    );
  });

  describe('Maximum Packet Size', () => {
    it.skipIf(!supportsOption('maximumPacketSize'))(
      '[MQTT-3.2.2-15] an announced Remaining Length above the server maximum is refused before the body arrives',
      async () => {
        const broker = await brokerWith({ maximumPacketSize: 1024 });
        const c = await client(broker.port, 5);
        c.send(Uint8Array.of(0x30, 0x80, 0x80, 0x40, 0x00)); // PUBLISH header: 1 MiB follows (never sent)
        await expectDisconnectAndClose(c, 5, [0x95]);
      },
    );

    it('[MQTT-3.1.2-24][MQTT-3.1.2-25] a message larger than the client Maximum Packet Size is not sent to it', async () => {
      const topic = uid('mps');
      const sub = await client(ctx.port, 5, { properties: [[Prop.MaximumPacketSize, 128]] });
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'small', qos: 1 });
      await pub.publishAcked({ topic, payload: 'L'.repeat(500), qos: 1 });
      await pub.publishAcked({ topic, payload: 'small again', qos: 1 });
      const got = await sub.expectPublishes(2);
      expect(got.map((p) => p.text)).toEqual(['small', 'small again']);
      for (const p of got) await sub.ack(p);
      await sub.expectNoPacket(300);
      expect(sub.closed).toBe(false);
    });

    it('[MQTT-3.1.2-24][MQTT-3.1.2-25] a retained message larger than the client Maximum Packet Size is not sent at subscribe', async () => {
      const topic = uid('mpsret');
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'R'.repeat(500), qos: 1, retain: true });
      const sub = await client(ctx.port, 5, { properties: [[Prop.MaximumPacketSize, 128]] });
      await sub.subscribe(topic, { qos: 1 });
      await sub.expectNoPacket(300);
      expect(sub.closed).toBe(false);
    });

    it.skipIf(!supportsOption('maximumPacketSize'))(
      '[MQTT-3.2.2-15] a packet larger than the server Maximum Packet Size → DISCONNECT 0x95',
      async () => {
        const broker = await brokerWith({ maximumPacketSize: 1024 });
        const c = await client(broker.port, 5);
        expect(getProp(c.connack!.properties, Prop.MaximumPacketSize)).toBe(1024);
        c.publish({ topic: uid('big'), payload: 'B'.repeat(4000), qos: 0 });
        await expectDisconnectAndClose(c, 5, [0x95]);
      },
    );
  });

  describe('topic aliases from the client', () => {
    it('[MQTT-3.3.2-12] an alias set with a topic is resolved in later PUBLISHes with an empty topic', async () => {
      const topic = uid('alias');
      const sub = await client(ctx.port, 5);
      await sub.subscribe(topic);
      const c = await client(ctx.port, 5);
      c.publish({ topic, payload: 'first', properties: [[Prop.TopicAlias, 1]] });
      c.publish({ topic: '', payload: 'second', properties: [[Prop.TopicAlias, 1]] });
      const got = await sub.expectPublishes(2);
      expect(got.map((p) => [p.topic, p.text])).toEqual([
        [topic, 'first'],
        [topic, 'second'],
      ]);
      for (const p of got) expect(getProp(p.properties, Prop.TopicAlias)).toBeUndefined();
    });

    it('[§3.3.4 topic alias 2b] sending an alias with a new topic remaps it', async () => {
      const a = uid('ta');
      const b = uid('tb');
      const sub = await client(ctx.port, 5);
      await sub.subscribe(a);
      await sub.subscribe(b);
      const c = await client(ctx.port, 5);
      c.publish({ topic: a, payload: '1', properties: [[Prop.TopicAlias, 2]] });
      c.publish({ topic: b, payload: '2', properties: [[Prop.TopicAlias, 2]] });
      c.publish({ topic: '', payload: '3', properties: [[Prop.TopicAlias, 2]] });
      const got = await sub.expectPublishes(3);
      expect(got.map((p) => `${p.topic === a ? 'a' : 'b'}${p.text}`)).toEqual(['a1', 'b2', 'b3']);
    });

    it('[MQTT-3.3.2-8] Topic Alias 0 → DISCONNECT 0x94', async () => {
      const c = await client(ctx.port, 5);
      c.publish({ topic: uid('a0'), payload: 'x', properties: [[Prop.TopicAlias, 0]] });
      // mosquitto treats alias 0 as a malformed packet (0x81); hato uses 0x94 (Topic Alias invalid).
      await expectDisconnectAndClose(c, 5, target === 'mosquitto' ? [0x81, 0x94] : [0x94]);
    });

    it('[MQTT-3.3.2-9][MQTT-3.2.2-17] Topic Alias above the server Topic Alias Maximum → DISCONNECT 0x94', async () => {
      const c = await client(ctx.port, 5);
      const max = getProp(c.connack!.properties, Prop.TopicAliasMaximum);
      const alias = (typeof max === 'number' ? max : 0) + 1;
      c.publish({ topic: uid('abig'), payload: 'x', properties: [[Prop.TopicAlias, alias]] });
      await expectDisconnectAndClose(c, 5, [0x94]);
    });

    it('[§3.3.4 topic alias 3a] an empty topic with an alias never set is a protocol error', async () => {
      const c = await client(ctx.port, 5);
      c.publish({ topic: '', payload: 'x', properties: [[Prop.TopicAlias, 1]] });
      await expectDisconnectAndClose(c, 5, [0x82, 0x94]);
    });
  });

  it.skipIf(!supportsOption('maxKeepAlive'))('[MQTT-3.2.2-21] Server Keep Alive is returned when the broker caps keep alive', async () => {
    const broker = await brokerWith({ maxKeepAlive: 10 });
    const c = await client(broker.port, 5, { keepAlive: 60 });
    expect(getProp(c.connack!.properties, Prop.ServerKeepAlive)).toBe(10);
  });

  // mosquitto only accepts max_keepalive >= 10, which would make this case take 15 s or more.
  it.skipIf(target === 'mosquitto')('[MQTT-3.2.2-21][MQTT-3.1.2-22] the broker enforces the Server Keep Alive it returned', async () => {
    const broker = await brokerWith({ maxKeepAlive: 1 });
    const c = await client(broker.port, 5, { keepAlive: 30 });
    expect(getProp(c.connack!.properties, Prop.ServerKeepAlive)).toBe(1);
    await expectDisconnectAndClose(c, 5, [0x8d], KEEPALIVE_SLACK_MS);
  });

  describe('PUBLISH properties', () => {
    it('[MQTT-3.3.2-4][MQTT-3.3.2-15][MQTT-3.3.2-16][MQTT-3.3.2-17][MQTT-3.3.2-18][MQTT-3.3.2-20] application properties are forwarded unaltered and in order', async () => {
      const topic = uid('props');
      const sub = await client(ctx.port, 5);
      await sub.subscribe(topic);
      const pub = await client(ctx.port, 5);
      const sent = [
        [Prop.PayloadFormatIndicator, 1],
        [Prop.ContentType, 'application/json'],
        [Prop.ResponseTopic, 'reply/here'],
        [Prop.CorrelationData, new Uint8Array([1, 2, 3])],
        [Prop.UserProperty, ['b', '2']],
        [Prop.UserProperty, ['a', '1']],
        [Prop.UserProperty, ['b', '3']],
      ] as const;
      pub.publish({ topic, payload: '{}', properties: sent });
      const msg = await sub.expectPacket('publish');
      expect(getProp(msg.properties, Prop.PayloadFormatIndicator)).toBe(1);
      expect(getProp(msg.properties, Prop.ContentType)).toBe('application/json');
      expect(getProp(msg.properties, Prop.ResponseTopic)).toBe('reply/here');
      expect(getProp(msg.properties, Prop.CorrelationData)).toEqual(new Uint8Array([1, 2, 3]));
      expect(getProps(msg.properties, Prop.UserProperty)).toEqual([
        ['b', '2'],
        ['a', '1'],
        ['b', '3'],
      ]);
    });

    it('[MQTT-3.3.2-5][MQTT-3.3.2-6] an expired message is not delivered to a returning session', async () => {
      const topic = uid('exp');
      const clientId = uid('exp-c');
      const sub = await client(ctx.port, 5, persistent(5, clientId));
      await sub.subscribe(topic, { qos: 1 });
      sub.disconnect();
      await sub.expectClose();
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'short', qos: 1, properties: [[Prop.MessageExpiryInterval, 1]] });
      await pub.publishAcked({ topic, payload: 'long', qos: 1, properties: [[Prop.MessageExpiryInterval, 100]] });
      await sleep(2200);
      const back = await client(ctx.port, 5, persistent(5, clientId));
      const msg = await back.expectPacket('publish');
      expect(msg.text).toBe('long');
      // [MQTT-3.3.2-6] the interval sent is the remaining lifetime.
      const left = getProp(msg.properties, Prop.MessageExpiryInterval);
      expect(typeof left === 'number' && left < 100 && left > 90).toBe(true);
      await back.ack(msg);
      await back.expectNoPacket(300);
    });
  });

  it('[MQTT-3.1.2-29] Request Problem Information 0: no Reason String or User Property on a PUBACK', async () => {
    const c = await client(ctx.port, 5, { properties: [[Prop.RequestProblemInformation, 0]] });
    c.publish({ topic: uid('rpi'), payload: 'x', qos: 1, packetId: 1 });
    const puback = await c.expectPacket('puback');
    expect(getProp(puback.properties, Prop.ReasonString)).toBeUndefined();
    expect(getProp(puback.properties, Prop.UserProperty)).toBeUndefined();
  });

  describe('mixed protocol versions', () => {
    it('[§3.3.4 comment] a 3.1.1 subscriber receives a 5.0 publication as a plain 3.1.1 PUBLISH', async () => {
      const topic = uid('mix');
      const old = await client(ctx.port, 4);
      await old.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'from v5', qos: 1, properties: [[Prop.UserProperty, ['k', 'v']], [Prop.ContentType, 'text/plain']] });
      // Parsed as 3.1.1: any property bytes would have ended up in the payload.
      expect(await old.expectPacket('publish')).toMatchObject({ topic, text: 'from v5', qos: 1 });
    });

    it('[§3.3.4 comment] a 5.0 subscriber receives a 3.1.1 publication (with retained flag handling)', async () => {
      const topic = uid('mix2');
      const pub = await client(ctx.port, 4);
      await pub.publishAcked({ topic, payload: 'from v3', qos: 1, retain: true });
      const sub = await client(ctx.port, 5);
      await sub.subscribe(topic, { qos: 1 });
      const msg = await sub.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'from v3', qos: 1, retain: true });
      expect(msg.properties).toEqual([]);
    });
  });

  it('[MQTT-3.1.2-27] a received PUBLISH carries no Topic Alias unless the client allowed aliases', async () => {
    const topic = uid('noalias');
    const sub = await client(ctx.port, 5);
    await sub.subscribe(topic);
    const pub = await client(ctx.port, 5);
    for (let i = 0; i < 3; i++) pub.send(publish({ version: 5, topic, payload: String(i) }));
    for (const p of await sub.expectPublishes(3)) {
      expect(p.topic).toBe(topic);
      expect(getProp(p.properties, Prop.TopicAlias)).toBeUndefined();
    }
  });
});
