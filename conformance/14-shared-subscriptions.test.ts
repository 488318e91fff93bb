/**
 * 14 — shared subscriptions `$share/{group}/{filter}` (MQTT 5.0 §4.8.2), for 5.0 clients and,
 * as other brokers do, 3.1.1 clients: one member of a group gets each message, spread
 * round robin; members that left, are offline or whose in-flight window is full are
 * skipped; QoS 1 in flight and queued messages of a member that goes away are redelivered to
 * another member, QoS 2 in flight are not [MQTT-4.8.2-4] [MQTT-4.8.2-5]; the
 * chooseSharedMember hook (hato only).
 */
import type { SharedMember } from '@hato/broker';
import { getProp, Prop, puback, type RawClient, unsubscribe } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, persistent, target, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

/** Members a, b (and c) subscribed to `$share/{group}/{topic}` in that order. */
async function members(version: 4 | 5, topic: string, count: number, qos = 1, options: Parameters<typeof client>[2][] = []) {
  const group = uid('g');
  const out: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const c = await client(ctx.port, version, options[i] ?? {});
    const suback = await c.subscribe(`$share/${group}/${topic}`, { qos });
    expect(suback.reasonCodes).toEqual([qos]);
    out.push(c);
  }
  return { group, clients: out };
}

describe('14 shared subscriptions', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[§4.8.2] messages are spread evenly (round robin): 9 messages, 3 members, 3 each, each message once', async () => {
      const topic = uid('rr');
      const { clients } = await members(version, topic, 3, 0);
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 9; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      const got = await Promise.all(clients.map((c) => c.expectPublishes(3)));
      for (const c of clients) await c.expectNoPacket(200);
      const all = got.flat().map((p) => p.text);
      expect(all.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `m${i}`).sort());
      for (const list of got) expect(list.every((p) => p.topic === topic)).toBe(true);
    });

    it('[§4.8.2] a member that unsubscribed (left the group) gets nothing more', async () => {
      const topic = uid('left');
      const { group, clients } = await members(version, topic, 2);
      const [a, b] = clients as [RawClient, RawClient];
      const id = a.nextId();
      a.send(unsubscribe({ version, packetId: id, filters: [`$share/${group}/${topic}`] }));
      await a.expectPacket('unsuback');
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 3; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      const got = await b.expectPublishes(3);
      expect(got.map((p) => p.text)).toEqual(['m0', 'm1', 'm2']);
      for (const p of got) await b.ack(p);
      await a.expectNoPacket(200);
    });

    // mosquitto 2.0.11 keeps dealing messages to an offline member (queued for it): a choice the spec leaves open.
    it.skipIf(target === 'mosquitto')('[§4.8.2] an offline member (persistent session) is skipped while another member is connected', async () => {
      const topic = uid('offline');
      const aId = uid('a');
      const { clients } = await members(version, topic, 2, 1, [persistent(version, aId)]);
      const [a, b] = clients as [RawClient, RawClient];
      a.disconnect();
      await a.expectClose();
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 4; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      const got = await b.expectPublishes(4);
      expect(got.map((p) => p.text)).toEqual(['m0', 'm1', 'm2', 'm3']);
      for (const p of got) await b.ack(p);
      const back = await client(ctx.port, version, persistent(version, aId));
      expect(back.connack?.sessionPresent).toBe(true);
      await back.expectNoPacket(300);
    });

    // mosquitto 2.0.11 keeps it for the member that went away (the spec's MAY), or drops it with the session.
    it.skipIf(target === 'mosquitto')('[§4.8.2] a QoS 1 message in flight to a member that disconnects is redelivered to another member', async () => {
      const topic = uid('redeliver');
      const { clients } = await members(version, topic, 2);
      const [a, b] = clients as [RawClient, RawClient];
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'first', qos: 1 });
      const toA = await a.expectPacket('publish');
      expect(toA.text).toBe('first');
      a.destroy(); // never acknowledged
      const toB = await b.expectPacket('publish');
      expect(toB).toMatchObject({ text: 'first', qos: 1, topic });
      await b.ack(toB);
      await b.expectNoPacket(200);
    });

    it.skipIf(target === 'mosquitto')('[§4.8.2] QoS 1 in flight to a disconnecting member with a persistent session goes to another member, not again to it', async () => {
      const topic = uid('redeliver-p');
      const aId = uid('a');
      const { clients } = await members(version, topic, 2, 1, [persistent(version, aId)]);
      const [a, b] = clients as [RawClient, RawClient];
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'first', qos: 1 });
      expect((await a.expectPacket('publish')).text).toBe('first');
      a.destroy();
      const toB = await b.expectPacket('publish');
      expect(toB.text).toBe('first');
      await b.ack(toB);
      const back = await client(ctx.port, version, persistent(version, aId));
      await back.expectNoPacket(300);
    });

    it('[MQTT-4.8.2-4][MQTT-4.8.2-5] a QoS 2 message in flight stays with its member: completed when it reconnects, never sent to another', async () => {
      const topic = uid('qos2');
      const aId = uid('a');
      const { clients } = await members(version, topic, 2, 2, [persistent(version, aId)]);
      const [a, b] = clients as [RawClient, RawClient];
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'exactly-once', qos: 2 });
      const first = await a.expectPacket('publish');
      expect(first.qos).toBe(2);
      a.destroy();
      await b.expectNoPacket(400);
      const back = await client(ctx.port, version, persistent(version, aId));
      const again = await back.expectPacket('publish');
      expect(again).toMatchObject({ text: 'exactly-once', dup: true, packetId: first.packetId });
      await back.ack(again);
    });

    // mosquitto 2.0.11 sends retained messages on a shared subscribe (see 02-subscribe).
    it.skipIf(target === 'mosquitto')('[§4.8.2] retained messages are not sent on a shared subscribe', async () => {
      const topic = uid('ret');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'kept', qos: 1, retain: true });
      const { clients } = await members(version, topic, 1);
      await clients[0]!.expectNoPacket(300);
      await pub.publishAcked({ topic, payload: '', qos: 1, retain: true });
    });
  });

  describe('MQTT 5.0', () => {
    it.skipIf(target === 'mosquitto')('[§4.8.2][MQTT-3.3.4-9] a member whose in-flight window (Receive Maximum) is full is skipped', async () => {
      const topic = uid('full');
      const { clients } = await members(5, topic, 2, 1, [{ properties: [[Prop.ReceiveMaximum, 1]] }, { properties: [[Prop.ReceiveMaximum, 10]] }]);
      const [a, b] = clients as [RawClient, RawClient];
      const pub = await client(ctx.port, 5);
      for (let i = 0; i < 4; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      expect((await a.expectPacket('publish')).text).toBe('m0');
      const toB = await b.expectPublishes(3);
      expect(toB.map((p) => p.text)).toEqual(['m1', 'm2', 'm3']);
      await a.expectNoPacket(300);
    });

    it('[MQTT-4.8.2-6] a message a member refused (PUBACK 0x80) is not sent to another member', async () => {
      const topic = uid('refused');
      const { clients } = await members(5, topic, 2);
      const [a, b] = clients as [RawClient, RawClient];
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'no thanks', qos: 1 });
      const toA = await a.expectPacket('publish');
      a.send(puback(toA.packetId!, { version: 5, reasonCode: 0x80 }));
      await pub.publishAcked({ topic, payload: 'marker', qos: 1 }); // round robin: to b
      expect((await b.expectPacket('publish')).text).toBe('marker');
      a.destroy();
      await b.expectNoPacket(400);
    });

    it('[MQTT-3.3.4-3] a Subscription Identifier of a shared subscription is sent with its messages', async () => {
      const topic = uid('sid');
      const c = await client(ctx.port, 5);
      await c.subscribe(`$share/${uid('g')}/${topic}`, { properties: [[Prop.SubscriptionIdentifier, 42]] });
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'x', qos: 1 });
      expect(getProp((await c.expectPacket('publish')).properties, Prop.SubscriptionIdentifier)).toBe(42);
    });
  });

  describe.skipIf(target === 'mosquitto')('the chooseSharedMember hook', () => {
    const seen: { candidates: SharedMember[]; group: string; topic: string }[] = [];
    const hooked = useBroker({
      hato: {
        hooks: {
          chooseSharedMember(candidates: readonly SharedMember[], message: { topic: string }, group: string) {
            seen.push({ candidates: [...candidates], group, topic: message.topic });
            const index = candidates.findIndex((member) => member.clientId.startsWith('favourite'));
            return index === -1 ? 0 : index;
          },
        },
      },
    });

    it('[§4.8.2] the hook picks the member; it sees the group name and the members able to take the message', async () => {
      const topic = uid('hook');
      const group = uid('grp');
      const other = await client(hooked.port, 5);
      await other.subscribe(`$share/${group}/${topic}`, { qos: 1 });
      const favourite = await client(hooked.port, 5, { clientId: uid('favourite') });
      await favourite.subscribe(`$share/${group}/${topic}`, { qos: 1 });
      const pub = await client(hooked.port, 5);
      for (let i = 0; i < 3; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
      const got = await favourite.expectPublishes(3);
      expect(got.map((p) => p.text)).toEqual(['m0', 'm1', 'm2']);
      await other.expectNoPacket(200);
      const mine = seen.filter((entry) => entry.topic === topic);
      expect(mine.length).toBe(3);
      expect(mine[0]!.group).toBe(group);
      expect(mine[0]!.candidates.map((m) => m.connected)).toEqual([true, true]);
      expect(mine[0]!.candidates[0]!.window).toBeGreaterThan(0);
    });
  });
});
