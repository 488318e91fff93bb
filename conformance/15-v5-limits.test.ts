/**
 * 15 — what a 5.0 CONNACK advertises (§3.2.2.3), each limit configurable and enforced;
 * Quota exceeded (0x97); server-initiated DISCONNECT on shutdown (0x8B); server
 * redirection (§4.11: Server Reference with 0x9C / 0x9D on CONNACK, and on DISCONNECT
 * through `broker.redirectClient`). hato-only: every case sets broker options.
 */
import { Broker, type BrokerOptions } from '@hato/broker';
import { connect, getProp, Prop, RawClient, subscribe } from '@hato/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { client, expectDisconnectAndClose, target, uid } from './support.js';

/** Embeds a broker (the testkit's handle does not expose the Broker, which redirectClient needs). */
const brokers: Broker[] = [];
async function startHato(options: BrokerOptions = {}): Promise<{ broker: Broker; port: number }> {
  const broker = new Broker(options);
  brokers.push(broker);
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  return { broker, port };
}
afterEach(async () => {
  RawClient.destroyAll();
  for (const broker of brokers.splice(0)) await broker.close();
});

describe.skipIf(target === 'mosquitto')('15 MQTT 5.0 limits, quotas, server DISCONNECT and redirection', () => {
  describe('CONNACK advertises the configured limits', () => {
    it('[§3.2.2.3] every limit set in the options is in the CONNACK', async () => {
      const { port } = await startHato({
        maximumQoS: 1,
        retainAvailable: false,
        wildcardSubscriptions: false,
        subscriptionIdentifiers: false,
        sharedSubscriptions: false,
        receiveMaximum: 5,
        maximumPacketSize: 2048,
        topicAliasMaximum: 3,
        maxKeepAlive: 30,
      });
      const c = await client(port, 5, { keepAlive: 60 });
      const props = c.connack!.properties;
      expect(getProp(props, Prop.MaximumQoS)).toBe(1);
      expect(getProp(props, Prop.RetainAvailable)).toBe(0);
      expect(getProp(props, Prop.WildcardSubscriptionAvailable)).toBe(0);
      expect(getProp(props, Prop.SubscriptionIdentifierAvailable)).toBe(0);
      expect(getProp(props, Prop.SharedSubscriptionAvailable)).toBe(0);
      expect(getProp(props, Prop.ReceiveMaximum)).toBe(5);
      expect(getProp(props, Prop.MaximumPacketSize)).toBe(2048);
      expect(getProp(props, Prop.TopicAliasMaximum)).toBe(3);
      expect(getProp(props, Prop.ServerKeepAlive)).toBe(30);
    });

    it('[MQTT-3.2.2-9] by default Maximum QoS is absent (QoS 2 supported) and the features are available', async () => {
      const { port } = await startHato();
      const props = (await client(port, 5)).connack!.properties;
      expect(getProp(props, Prop.MaximumQoS)).toBeUndefined();
      for (const id of [Prop.RetainAvailable, Prop.WildcardSubscriptionAvailable, Prop.SubscriptionIdentifierAvailable, Prop.SharedSubscriptionAvailable]) {
        expect(getProp(props, id) ?? 1).toBe(1);
      }
    });
  });

  describe('the broker enforces what it advertised', () => {
    it('[MQTT-3.2.2-11] a PUBLISH above Maximum QoS → DISCONNECT 0x9B', async () => {
      const { port } = await startHato({ maximumQoS: 1 });
      const c = await client(port, 5);
      c.publish({ topic: uid('q'), payload: 'x', qos: 2, packetId: 1 });
      await expectDisconnectAndClose(c, 5, [0x9b]);
    });

    it('[MQTT-3.2.2-12] a will QoS above Maximum QoS → CONNACK 0x9B', async () => {
      const { port } = await startHato({ maximumQoS: 0 });
      const c = await RawClient.connect(port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('w'), will: { topic: uid('wt'), payload: 'x', qos: 1 } }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x9b);
      await c.expectClose();
    });

    for (const version of [4, 5] as const) {
      it(`[§3.2.2.3.4] v${version}: a subscription is granted at most the Maximum QoS, and delivered at it`, async () => {
        const { port } = await startHato({ maximumQoS: 1 });
        const topic = uid('grant');
        const c = await client(port, version);
        expect((await c.subscribe(topic, { qos: 2 })).reasonCodes).toEqual([1]);
        const pub = await client(port, version);
        await pub.publishAcked({ topic, payload: 'x', qos: 1 });
        expect((await c.expectPacket('publish')).qos).toBe(1);
      });
    }

    it('[§3.2.2.3.5] retain not available: a retained PUBLISH → DISCONNECT 0x9A', async () => {
      const { port } = await startHato({ retainAvailable: false });
      const c = await client(port, 5);
      c.publish({ topic: uid('r'), payload: 'x', retain: true });
      await expectDisconnectAndClose(c, 5, [0x9a]);
    });

    it('[§3.2.2.3.11][§3.2.2.3.13] wildcard / shared subscriptions not available: SUBACK 0xA2 / 0x9E per filter', async () => {
      const { port } = await startHato({ wildcardSubscriptions: false, sharedSubscriptions: false });
      const c = await client(port, 5);
      const suback = await c.subscribe([{ filter: 'a/+' }, { filter: `$share/g/${uid('s')}` }, { filter: uid('plain') }]);
      expect(suback.reasonCodes).toEqual([0xa2, 0x9e, 0]);
    });

    it('[§3.2.2.3.12] subscription identifiers not available: a SUBSCRIBE with one → DISCONNECT 0xA1', async () => {
      const { port } = await startHato({ subscriptionIdentifiers: false });
      const c = await client(port, 5);
      c.send(subscribe({ version: 5, packetId: 1, subscriptions: [{ filter: uid('t') }], properties: [[Prop.SubscriptionIdentifier, 3]] }));
      await expectDisconnectAndClose(c, 5, [0xa1]);
    });

    it('[MQTT-3.3.2-9] an alias above the configured Topic Alias Maximum (3) → DISCONNECT 0x94; one within it works', async () => {
      const { port } = await startHato({ topicAliasMaximum: 3 });
      const c = await client(port, 5);
      c.publish({ topic: uid('ok'), payload: 'x', properties: [[Prop.TopicAlias, 3]] });
      c.publish({ topic: uid('no'), payload: 'x', properties: [[Prop.TopicAlias, 4]] });
      await expectDisconnectAndClose(c, 5, [0x94]);
    });
  });

  describe('Quota exceeded (0x97)', () => {
    for (const version of [4, 5] as const) {
      it(`[§3.9.3] v${version}: maxSubscriptionsPerClient: a new filter beyond it → SUBACK ${version === 5 ? '0x97' : '0x80'}; replacing one is fine`, async () => {
        const { port } = await startHato({ maxSubscriptionsPerClient: 2 });
        const c = await client(port, version);
        const [a, b, d] = [uid('a'), uid('b'), uid('d')];
        expect((await c.subscribe([{ filter: a }, { filter: b }, { filter: d }])).reasonCodes).toEqual([0, 0, version === 5 ? 0x97 : 0x80]);
        expect((await c.subscribe(a, { qos: 1 })).reasonCodes).toEqual([1]);
      });
    }

    it('[§3.4.2.1] maxRetainedMessages: a retained PUBLISH for a new topic beyond it → PUBACK 0x97, not routed; replacing and deleting work', async () => {
      const { port } = await startHato({ maxRetainedMessages: 1 });
      const [t1, t2] = [uid('r1'), uid('r2')];
      const sub = await client(port, 5);
      await sub.subscribe(t2);
      const c = await client(port, 5);
      expect((await c.publishAcked({ topic: t1, payload: 'one', qos: 1, retain: true }))?.reasonCode).toBe(0x10);
      expect((await c.publishAcked({ topic: t2, payload: 'two', qos: 1, retain: true }))?.reasonCode).toBe(0x97);
      await sub.expectNoPacket(200);
      expect((await c.publishAcked({ topic: t1, payload: 'one again', qos: 1, retain: true }))?.reasonCode).toBe(0x10);
      expect((await c.publishAcked({ topic: t1, payload: '', qos: 1, retain: true }))?.reasonCode).toBe(0x10);
      expect((await c.publishAcked({ topic: t2, payload: 'now fits', qos: 1, retain: true }))?.reasonCode).toBe(0);
      expect((await sub.expectPacket('publish')).text).toBe('now fits');
    });

    for (const version of [4, 5] as const) {
      it(`[§3.2.2.2] v${version}: maxConnections: one client too many → CONNACK ${version === 5 ? '0x97' : '3'}; a takeover is not a new client`, async () => {
        const { port } = await startHato({ maxConnections: 1 });
        const id = uid('only');
        await client(port, version, { clientId: id });
        const second = await RawClient.connect(port, { version });
        second.send(connect({ version, clientId: uid('second') }));
        expect((await second.expectPacket('connack')).reasonCode).toBe(version === 5 ? 0x97 : 3);
        await second.expectClose();
        const takeover = await client(port, version, { clientId: id });
        expect(takeover.connack?.reasonCode).toBe(0);
      });
    }
  });

  describe('server-initiated DISCONNECT and redirection', () => {
    it('[MQTT-4.13.1-1] shutting the broker down sends DISCONNECT 0x8B (Server shutting down)', async () => {
      const { broker, port } = await startHato();
      const c = await client(port, 5);
      await broker.close();
      await expectDisconnectAndClose(c, 5, [0x8b]);
    });

    it('[§4.11] serverRedirect: CONNACK 0x9C (Use another server) with the Server Reference', async () => {
      const { port } = await startHato({ serverRedirect: { serverReference: 'other.example:1883' } });
      const c = await RawClient.connect(port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('r') }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0x9c);
      expect(getProp(connack.properties, Prop.ServerReference)).toBe('other.example:1883');
      await c.expectClose();
    });

    it('[§4.11] serverRedirect as a function: only chosen clients go, permanent → 0x9D (Server moved); 3.1.1 gets return code 3', async () => {
      const { port } = await startHato({
        serverRedirect: (c) => (c.id.startsWith('move') ? { serverReference: 'new.example', permanent: true } : undefined),
      });
      const stays = await client(port, 5, { clientId: uid('stay') });
      expect(stays.connack?.reasonCode).toBe(0);
      const moved = await RawClient.connect(port, { version: 5 });
      moved.send(connect({ version: 5, clientId: uid('move') }));
      const connack = await moved.expectPacket('connack');
      expect(connack.reasonCode).toBe(0x9d);
      expect(getProp(connack.properties, Prop.ServerReference)).toBe('new.example');
      const old = await RawClient.connect(port, { version: 4 });
      old.send(connect({ version: 4, clientId: uid('move') }));
      expect((await old.expectPacket('connack')).reasonCode).toBe(3);
    });

    it('[§4.11][MQTT-4.13.1-1] broker.redirectClient moves a connected client: DISCONNECT 0x9C/0x9D with the Server Reference, its will goes', async () => {
      const { broker, port } = await startHato();
      const willTopic = uid('will');
      const watcher = await client(port, 5);
      await watcher.subscribe(willTopic);
      const id = uid('moving');
      const c = await client(port, 5, { clientId: id, will: { topic: willTopic, payload: 'moved away' } });
      expect(broker.redirectClient(uid('nobody'), 'x')).toBe(false);
      expect(broker.redirectClient(id, 'other.example:8883', { permanent: true })).toBe(true);
      const leftover = await c.expectClose();
      const disconnect = leftover.find((p) => p.type === 'disconnect');
      expect(disconnect?.type).toBe('disconnect');
      if (disconnect?.type === 'disconnect') {
        expect(disconnect.reasonCode).toBe(0x9d);
        expect(getProp(disconnect.properties, Prop.ServerReference)).toBe('other.example:8883');
      }
      expect((await watcher.expectPacket('publish')).text).toBe('moved away');
      expect(broker.redirectClient(id, 'y'), 'the client is gone').toBe(false);
    });
  });
});
