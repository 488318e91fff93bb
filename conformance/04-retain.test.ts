/**
 * 04 — Retained messages: one per topic, sent to new subscribers with RETAIN=1, empty
 * payload deletes, wildcard matching, live delivery has RETAIN=0, 5.0 retain options.
 */
import { Prop, type RawClient, sleep } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

async function drain(c: RawClient, ms = 400): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const next = await c.expectPacket('publish', ms).catch(() => undefined);
    if (!next) return out;
    out.push(`${next.topic}=${next.text}`);
  }
}

describe('04 retain', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[MQTT-3.3.1-5][MQTT-3.3.1-6][MQTT-3.3.1-8] a retained message is sent to a new subscriber with RETAIN=1', async () => {
      const topic = uid('ret');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'kept', qos: 1, retain: true });
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 1 });
      const msg = await sub.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'kept', retain: true, qos: 1 });
    });

    it('[MQTT-3.3.1-5][MQTT-3.3.1-7] only the last retained message per topic is kept', async () => {
      const topic = uid('last');
      const pub = await client(ctx.port, version);
      for (const v of ['v1', 'v2', 'v3']) await pub.publishAcked({ topic, payload: v, qos: 1, retain: true });
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic);
      expect(await drain(sub)).toEqual([`${topic}=v3`]);
    });

    it('[MQTT-3.3.1-9] (5.0: [MQTT-3.3.1-12]) live delivery to an existing subscriber has RETAIN=0', async () => {
      const topic = uid('live');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic);
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'now', qos: 1, retain: true });
      expect(await sub.expectPacket('publish')).toMatchObject({ text: 'now', retain: false });
    });

    it('[MQTT-3.3.1-10][MQTT-3.3.1-11] (5.0: -6, -7) an empty retained payload deletes the retained message', async () => {
      const topic = uid('del');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'x', qos: 1, retain: true });
      const live = await client(ctx.port, version);
      await live.subscribe(topic);
      expect((await live.expectPacket('publish')).retain).toBe(true);
      await pub.publishAcked({ topic, payload: '', qos: 1, retain: true });
      // Delivered as normal to current subscribers [MQTT-3.3.1-10].
      expect(await live.expectPacket('publish')).toMatchObject({ topic, payload: new Uint8Array(0) });
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic);
      expect(await drain(sub)).toEqual([]);
    });

    it('[MQTT-3.3.1-12] (5.0: [MQTT-3.3.1-8]) a non-retained publish neither replaces nor removes the retained message', async () => {
      const topic = uid('keep');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'stay', qos: 1, retain: true });
      await pub.publishAcked({ topic, payload: 'passing', qos: 1, retain: false });
      await pub.publishAcked({ topic, payload: '', qos: 1, retain: false });
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic);
      expect(await drain(sub)).toEqual([`${topic}=stay`]);
    });

    it('[MQTT-3.3.1-6] retained messages matching a wildcard filter are all sent', async () => {
      const base = uid('wild');
      const pub = await client(ctx.port, version);
      for (const t of ['a/1', 'a/2', 'a/2/deep', 'b/1']) await pub.publishAcked({ topic: `${base}/${t}`, payload: t, qos: 1, retain: true });
      const plus = await client(ctx.port, version);
      await plus.subscribe(`${base}/a/+`);
      expect((await drain(plus)).sort()).toEqual([`${base}/a/1=a/1`, `${base}/a/2=a/2`]);
      const hash = await client(ctx.port, version);
      await hash.subscribe(`${base}/#`);
      expect((await drain(hash)).length).toBe(4);
    });

    it('[MQTT-3.3.1-6][MQTT-3.8.4-6] a retained message is sent at min(stored QoS, granted QoS)', async () => {
      const topic = uid('rq');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'q', qos: 1, retain: true });
      const sub0 = await client(ctx.port, version);
      await sub0.subscribe(topic, { qos: 0 });
      expect(await sub0.expectPacket('publish')).toMatchObject({ qos: 0, retain: true });
      const sub2 = await client(ctx.port, version);
      await sub2.subscribe(topic, { qos: 2 });
      const msg = await sub2.expectPacket('publish');
      expect(msg).toMatchObject({ qos: 1, retain: true });
      await sub2.ack(msg);
    });

    it('[MQTT-3.8.4-3] re-subscribing re-sends the retained message', async () => {
      const topic = uid('resub');
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'again', qos: 1, retain: true });
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic);
      expect((await sub.expectPacket('publish')).retain).toBe(true);
      await sub.subscribe(topic);
      expect(await sub.expectPacket('publish')).toMatchObject({ text: 'again', retain: true });
    });
  });

  describe('MQTT 5.0 retain options', () => {
    it('[MQTT-3.3.1-9] Retain Handling 0 sends retained messages at every subscribe', async () => {
      const topic = uid('rh0');
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'r', qos: 1, retain: true });
      const sub = await client(ctx.port, 5);
      await sub.subscribe([{ filter: topic, retainHandling: 0 }]);
      await sub.expectPacket('publish');
      await sub.subscribe([{ filter: topic, retainHandling: 0 }]);
      await sub.expectPacket('publish');
    });

    it('[MQTT-3.3.1-10] Retain Handling 1 sends retained messages only for a new subscription', async () => {
      const topic = uid('rh1');
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'r', qos: 1, retain: true });
      const sub = await client(ctx.port, 5);
      await sub.subscribe([{ filter: topic, retainHandling: 1 }]);
      expect((await sub.expectPacket('publish')).retain).toBe(true);
      await sub.subscribe([{ filter: topic, retainHandling: 1 }]);
      await sub.expectNoPacket(300);
    });

    it('[MQTT-3.3.1-11] Retain Handling 2 never sends retained messages', async () => {
      const topic = uid('rh2');
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'r', qos: 1, retain: true });
      const sub = await client(ctx.port, 5);
      await sub.subscribe([{ filter: topic, retainHandling: 2 }]);
      await sub.expectNoPacket(300);
    });

    it('[MQTT-3.3.2-5] (§3.3.1.3) an expired retained message is no longer sent to new subscribers', async () => {
      const topic = uid('rexp');
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'brief', qos: 1, retain: true, properties: [[Prop.MessageExpiryInterval, 1]] });
      const early = await client(ctx.port, 5);
      await early.subscribe(topic);
      expect((await early.expectPacket('publish')).text).toBe('brief');
      await sleep(2200);
      const late = await client(ctx.port, 5);
      await late.subscribe(topic);
      await late.expectNoPacket(300);
    });

    it('[MQTT-3.3.1-12][MQTT-3.3.1-13] Retain As Published keeps RETAIN=1 on live delivery', async () => {
      const topic = uid('rap');
      const keep = await client(ctx.port, 5);
      await keep.subscribe([{ filter: topic, retainAsPublished: true }]);
      const plain = await client(ctx.port, 5);
      await plain.subscribe([{ filter: topic, retainAsPublished: false }]);
      const pub = await client(ctx.port, 5);
      await pub.publishAcked({ topic, payload: 'flag', qos: 1, retain: true });
      expect((await keep.expectPacket('publish')).retain).toBe(true);
      expect((await plain.expectPacket('publish')).retain).toBe(false);
    });
  });
});
