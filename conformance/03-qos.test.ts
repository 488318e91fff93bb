/**
 * 03 — QoS 0/1/2 in both directions: packet identifiers, PUBACK / PUBREC / PUBREL /
 * PUBCOMP, no duplicate QoS 2 delivery, redelivery with DUP on reconnect, offline queue
 * order and its bound.
 */
import { publish, pubrec, pubrel, RawClient, startBroker, supportsOption } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, persistent, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

describe('03 qos', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[MQTT-2.3.1-5] QoS 0 is delivered at QoS 0 without a packet identifier', async () => {
      const topic = uid('q0');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'zero', qos: 0 });
      const msg = await sub.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'zero', qos: 0, dup: false, packetId: undefined });
      await pub.expectNoPacket(200);
    });

    it('[MQTT-4.3.2-2] QoS 1: PUBACK with the same packet id; subscriber gets QoS 1 with a non-zero id', async () => {
      const topic = uid('q1');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'one', qos: 1, packetId: 4242 });
      const puback = await pub.expectPacket('puback');
      expect(puback.packetId).toBe(4242);
      const msg = await sub.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'one', qos: 1, dup: false });
      expect(msg.packetId).toBeGreaterThan(0); // [MQTT-2.3.1-1]
      await sub.ack(msg);
      await sub.expectNoPacket(300); // acknowledged: not sent again
    });

    it('[MQTT-4.3.3-2] QoS 2 inbound: PUBREC, PUBREL → PUBCOMP with the same id', async () => {
      const topic = uid('q2');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'two', qos: 2, packetId: 7 });
      expect((await pub.expectPacket('pubrec')).packetId).toBe(7);
      pub.send(pubrel(7));
      expect((await pub.expectPacket('pubcomp')).packetId).toBe(7);
      const msg = await sub.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'two', qos: 2, dup: false });
      expect(msg.packetId).toBeGreaterThan(0);
    });

    it('[MQTT-4.3.3-1] QoS 2 outbound: broker answers PUBREC with PUBREL (flags 0010) and stops on PUBCOMP', async () => {
      const topic = uid('q2o');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'two', qos: 2 });
      const msg = await sub.expectPacket('publish');
      sub.send(pubrec(msg.packetId!));
      const rel = await sub.expectPacket('pubrel');
      expect(rel.packetId).toBe(msg.packetId);
      expect(rel.flags).toBe(0x2); // [MQTT-3.6.1-1]
      sub.send(Uint8Array.of(0x70, 0x02, msg.packetId! >> 8, msg.packetId! & 0xff));
      await sub.expectNoPacket(300);
    });

    it('[MQTT-4.3.3-2] a QoS 2 PUBLISH re-sent with DUP before PUBREL is not delivered twice', async () => {
      const topic = uid('dup');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'once', qos: 2, packetId: 9 });
      expect((await pub.expectPacket('pubrec')).packetId).toBe(9);
      pub.publish({ topic, payload: 'once', qos: 2, packetId: 9, dup: true });
      expect((await pub.expectPacket('pubrec')).packetId).toBe(9);
      pub.send(pubrel(9));
      expect((await pub.expectPacket('pubcomp')).packetId).toBe(9);
      const msg = await sub.expectPacket('publish');
      await sub.ack(msg);
      await sub.expectNoPacket(400);
      // After PUBCOMP the same id is a new publication.
      pub.publish({ topic, payload: 'again', qos: 2, packetId: 9 });
      await pub.expectPacket('pubrec');
      pub.send(pubrel(9));
      await pub.expectPacket('pubcomp');
      expect((await sub.expectPacket('publish')).text).toBe('again');
    });

    it('[MQTT-4.3.3-2][MQTT-4.4.0-1] inbound QoS 2 state survives a reconnect: no duplicate, PUBREL completes', async () => {
      const topic = uid('q2s');
      const clientId = uid('q2s-pub');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version, persistent(version, clientId));
      pub.publish({ topic, payload: 'once', qos: 2, packetId: 5 });
      expect((await pub.expectPacket('pubrec')).packetId).toBe(5);
      pub.destroy(); // before PUBREL
      const back = await client(ctx.port, version, persistent(version, clientId));
      back.publish({ topic, payload: 'once', qos: 2, packetId: 5, dup: true });
      expect((await back.expectPacket('pubrec')).packetId).toBe(5);
      back.send(pubrel(5));
      expect(await back.expectPacket('pubcomp')).toMatchObject({ packetId: 5, reasonCode: 0 });
      const msg = await sub.expectPacket('publish');
      expect(msg.text).toBe('once');
      await sub.ack(msg);
      await sub.expectNoPacket(400);
    });

    it('[MQTT-3.8.4-6] delivery QoS is the minimum of published and granted QoS', async () => {
      const topic = uid('min');
      const sub0 = await client(ctx.port, version);
      const sub1 = await client(ctx.port, version);
      await sub0.subscribe(topic, { qos: 0 });
      await sub1.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'hi', qos: 2 });
      expect(await sub0.expectPacket('publish')).toMatchObject({ qos: 0, packetId: undefined });
      expect(await sub1.expectPacket('publish')).toMatchObject({ qos: 1 });
      await pub.publishAcked({ topic, payload: 'lo', qos: 0 });
      expect(await sub1.expectPacket('publish')).toMatchObject({ qos: 0, text: 'lo' });
    });

    it('[MQTT-3.8.4-6][MQTT-2.3.1-2] fan-out to subscribers at QoS 0/1/2 and both versions keeps each copy intact', async () => {
      const topic = uid('fan');
      const subs = [];
      for (let i = 0; i < 12; i++) {
        const c = await client(ctx.port, i % 2 === 0 ? 4 : 5);
        await c.subscribe(topic, { qos: i % 3 });
        subs.push({ c, qos: i % 3 });
      }
      const pub = await client(ctx.port, version);
      for (let m = 0; m < 20; m++) await pub.publishAcked({ topic, payload: `fan-${m}`, qos: 2 });
      for (const { c, qos } of subs) {
        const ids = new Set<number>();
        for (let m = 0; m < 20; m++) {
          const msg = await c.expectPacket('publish');
          expect(msg).toMatchObject({ topic, text: `fan-${m}`, qos, dup: false, retain: false });
          if (qos === 0) expect(msg.packetId).toBeUndefined();
          else ids.add(msg.packetId!);
        }
        expect(ids.size).toBe(qos === 0 ? 0 : 20);
      }
    });

    it('[MQTT-4.6.0-6] QoS 1 messages from one publisher arrive in order', async () => {
      const topic = uid('order');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 20; i++) pub.publish({ topic, payload: String(i), qos: 1, packetId: i + 1 });
      const got: string[] = [];
      for (let i = 0; i < 20; i++) {
        const msg = await sub.expectPacket('publish');
        got.push(msg.text);
        await sub.ack(msg);
      }
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    });

    it('[MQTT-2.3.1-2] (5.0: [MQTT-2.2.1-4]) in-flight messages to a client carry distinct non-zero packet ids', async () => {
      const topic = uid('ids');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 10; i++) await pub.publishAcked({ topic, payload: String(i), qos: i % 2 === 0 ? 1 : 2 });
      const got = await sub.expectPublishes(10); // none acknowledged yet
      const ids = got.map((p) => p.packetId);
      expect(ids.every((id) => id !== undefined && id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(10);
    });

    it('[MQTT-3.3.1-3] the DUP flag of an incoming PUBLISH is not propagated to subscribers', async () => {
      const topic = uid('dupin');
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'd', qos: 1, packetId: 3, dup: true });
      expect((await pub.expectPacket('puback')).packetId).toBe(3);
      expect(await sub.expectPacket('publish')).toMatchObject({ text: 'd', dup: false });
    });

    it('[MQTT-2.2.3] a 2 MB payload (4-byte Remaining Length) is delivered intact', async () => {
      const topic = uid('big');
      const payload = new Uint8Array(2 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
      const sub = await client(ctx.port, version);
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload, qos: 1 });
      const msg = await sub.expectPacket('publish', 10_000);
      expect(msg.payload.length).toBe(payload.length);
      expect(Buffer.compare(Buffer.from(msg.payload), Buffer.from(payload))).toBe(0);
    });

    it('[MQTT-4.4.0-1][MQTT-3.3.1-1] unacknowledged QoS 1 is re-sent with DUP and the same id on reconnect', async () => {
      const topic = uid('redo');
      const clientId = uid('redo-c');
      const sub = await client(ctx.port, version, persistent(version, clientId));
      await sub.subscribe(topic, { qos: 1 });
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'again', qos: 1 });
      const first = await sub.expectPacket('publish');
      expect(first.dup).toBe(false);
      sub.destroy(); // no PUBACK
      const back = await client(ctx.port, version, persistent(version, clientId));
      expect(back.connack?.sessionPresent).toBe(true);
      const again = await back.expectPacket('publish');
      expect(again).toMatchObject({ topic, text: 'again', qos: 1, dup: true, packetId: first.packetId });
      await back.ack(again);
      await back.expectNoPacket(300);
    });

    it('[MQTT-4.4.0-1] a PUBREL awaiting PUBCOMP is re-sent on reconnect', async () => {
      const topic = uid('rel');
      const clientId = uid('rel-c');
      const sub = await client(ctx.port, version, persistent(version, clientId));
      await sub.subscribe(topic, { qos: 2 });
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'x', qos: 2 });
      const msg = await sub.expectPacket('publish');
      sub.send(pubrec(msg.packetId!));
      expect((await sub.expectPacket('pubrel')).packetId).toBe(msg.packetId);
      sub.destroy(); // no PUBCOMP
      const back = await client(ctx.port, version, persistent(version, clientId));
      const rel = await back.expectPacket('pubrel');
      expect(rel.packetId).toBe(msg.packetId);
      await back.expectNoPacket(300); // the PUBLISH itself is not re-sent after PUBREC
    });

    it('[MQTT-3.1.2-5][MQTT-4.6.0-6] QoS 1/2 messages for an offline persistent session arrive in order on reconnect', async () => {
      const topic = uid('offline');
      const clientId = uid('offline-c');
      const sub = await client(ctx.port, version, persistent(version, clientId));
      await sub.subscribe(topic, { qos: 2 });
      sub.disconnect();
      await sub.expectClose();
      const pub = await client(ctx.port, version);
      for (let i = 0; i < 5; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: i % 2 === 0 ? 1 : 2 });
      const back = await client(ctx.port, version, persistent(version, clientId));
      expect(back.connack?.sessionPresent).toBe(true);
      const got: string[] = [];
      for (let i = 0; i < 5; i++) {
        const msg = await back.expectPacket('publish');
        expect(msg.qos).toBe(i % 2 === 0 ? 1 : 2);
        got.push(msg.text);
        await back.ack(msg);
      }
      expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      await back.expectNoPacket(300);
    });

    it.skipIf(!supportsOption('maxQueuedMessages'))('[non-normative] the offline queue is bounded by maxQueuedMessages (older order kept)', async () => {
      const broker = await startBroker({ maxQueuedMessages: 5 });
      try {
        const topic = uid('bound');
        const clientId = uid('bound-c');
        const sub = await client(broker.port, version, persistent(version, clientId));
        await sub.subscribe(topic, { qos: 1 });
        sub.disconnect();
        await sub.expectClose();
        const pub = await client(broker.port, version);
        for (let i = 0; i < 30; i++) await pub.publishAcked({ topic, payload: `m${i}`, qos: 1 });
        const back = await client(broker.port, version, persistent(version, clientId));
        const got: string[] = [];
        for (;;) {
          const next = await back.expectPacket('publish', 700).catch(() => undefined);
          if (!next) break;
          got.push(next.text);
          await back.ack(next);
        }
        expect(got.length).toBe(5);
        const numbers = got.map((t) => Number(t.slice(1)));
        expect([...numbers].sort((a, b) => a - b)).toEqual(numbers); // still in order
      } finally {
        RawClient.destroyAll();
        await broker.close();
      }
    });
  });

  it('[MQTT-2.3.1-1] a QoS 1 PUBLISH with packet id 0 is a protocol violation (closed)', async () => {
    const c = await client(ctx.port, 4);
    c.send(publish({ topic: uid('zero'), qos: 1, packetId: 0 }));
    await c.expectClose();
  });
});
