/**
 * 11 — Slow consumers: a subscriber that stops reading must not hold back a fast one,
 * and a QoS 0 flood towards it must not make the broker buffer without bound.
 * Assertions are counts, liveness and memory growth, never timings.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { concat, pingreq, publish, type RawClient, sleep, startBroker, waitUntil } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const MESSAGES = 40_000;
const PAYLOAD = new Uint8Array(1000).fill(0x61);
const FLOOD_BYTES = MESSAGES * PAYLOAD.length;

/** Memory attributed to the broker, after a full GC when the broker runs in this process. */
async function brokerMemory(): Promise<number> {
  // External (ArrayBuffer) memory is released by finalizers after a GC: collect, let them
  // run, and collect again.
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return ctx.broker.memory();
}

const BATCH = 500;

/**
 * Publishes MESSAGES QoS 0 messages in batches. Each batch waits until the fast
 * subscriber has received the previous one: the broker, the publisher and the fast
 * subscriber share this process with an in-process broker, so without this the test
 * would measure event-loop scheduling instead of the slow subscriber's effect.
 */
async function flood(pub: RawClient, fast: RawClient, topic: string, version: 4 | 5): Promise<void> {
  const one = publish({ version, topic, payload: PAYLOAD });
  const batch = concat(Array.from({ length: BATCH }, () => one));
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    await waitUntil(() => (fast.counts.get('publish') ?? 0) >= sent, 10_000, 2);
    pub.send(batch);
  }
}

describe('11 slow consumer', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[non-normative, DESIGN: bounded memory] a paused subscriber does not hold back a fast one; broker memory stays bounded', async () => {
      const topic = uid('flood');
      const fast = await client(ctx.port, version);
      await fast.subscribe(topic);
      fast.countOnly('publish');
      const slow = await client(ctx.port, version);
      await slow.subscribe(topic);
      slow.pause();
      const pub = await client(ctx.port, version);
      await sleep(100);
      const before = await brokerMemory();

      await flood(pub, fast, topic, version);
      await waitUntil(() => (fast.counts.get('publish') ?? 0) >= MESSAGES, 10_000, 20);
      expect(fast.counts.get('publish')).toBe(MESSAGES);
      const growth = (await brokerMemory()) - before;
      // An unbounded broker would hold most of the flood for the paused client.
      expect(growth, `broker grew by ${(growth / 1e6).toFixed(1)} MB`).toBeLessThan(FLOOD_BYTES / 2);

      // The broker is still serving: a new client gets PINGRESP and live messages.
      const probe = await client(ctx.port, version);
      probe.send(pingreq());
      await probe.expectPacket('pingresp');
      const check = uid('after');
      await probe.subscribe(check);
      pub.publish({ topic: check, payload: 'alive' });
      expect((await probe.expectPacket('publish')).text).toBe('alive');

      // The slow client, once it reads again, gets at most the flood (or was disconnected).
      slow.countOnly('publish');
      slow.resume();
      await waitUntil(() => (slow.counts.get('publish') ?? 0) > 0 || slow.closed, 5000);
      expect(slow.counts.get('publish') ?? 0).toBeLessThanOrEqual(MESSAGES);
    }, 90_000);

    it('[non-normative] QoS 1 backlog for a client that stops reading is bounded by maxQueuedMessages', async () => {
      // The publisher below is open-loop: it ignores the server's Receive Maximum, and hato
      // holds its PUBACKs while the queue is over half full (publisher flow control), so it
      // would be disconnected with 0x93 at hato's default of 32 [MQTT-3.3.4-7].
      const broker = await startBroker({ maxQueuedMessages: 100, hato: { receiveMaximum: 65535 } });
      try {
        const topic = uid('backlog');
        const sub = await client(broker.port, version);
        await sub.subscribe(topic, { qos: 1 });
        sub.pause();
        const pub = await client(broker.port, version);
        pub.countOnly('puback');
        const parts = Array.from({ length: 1000 }, (_, i) => publish({ version, topic, payload: `m${i}`, qos: 1, packetId: i + 1 }));
        pub.send(concat(parts));
        await waitUntil(() => (pub.counts.get('puback') ?? 0) >= 1000, 10_000);
        sub.resume();
        const got: number[] = [];
        for (;;) {
          const msg = await sub.expectPacket('publish', 700).catch(() => undefined);
          if (!msg) break;
          got.push(Number(msg.text.slice(1)));
          await sub.ack(msg);
        }
        // The in-flight window (20 by default in both brokers) plus the queue bound.
        expect(got.length).toBeGreaterThanOrEqual(100);
        expect(got.length).toBeLessThanOrEqual(120);
        expect([...got].sort((x, y) => x - y)).toEqual(got);
      } finally {
        await broker.close();
      }
    });
  });
});
