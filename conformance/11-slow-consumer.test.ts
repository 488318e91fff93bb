/**
 * 11 — Slow consumers: a subscriber that stops reading must not hold back a fast one,
 * and a QoS 0 flood towards it must not make the broker buffer without bound.
 * Assertions are counts, liveness and memory growth, never timings.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { concat, pingreq, publish, type RawClient, sleep, waitUntil } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const MESSAGES = 40_000;
const PAYLOAD = new Uint8Array(1000).fill(0x61);
const FLOOD_BYTES = MESSAGES * PAYLOAD.length;

/** Memory attributed to the broker, after a full GC when the broker runs in this process. */
function brokerMemory(): number {
  gc();
  return ctx.broker.memory();
}

/** Publishes MESSAGES QoS 0 messages in batches, respecting socket back-pressure. */
async function flood(pub: RawClient, topic: string, version: 4 | 5): Promise<void> {
  const one = publish({ version, topic, payload: PAYLOAD });
  const batch = concat(Array.from({ length: 500 }, () => one));
  for (let sent = 0; sent < MESSAGES; sent += 500) {
    if (!pub.stream.write(batch)) await new Promise((resolve) => pub.stream.once('drain', resolve));
  }
}

describe('11 slow consumer', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[MQTT-4.8.0] a paused subscriber does not hold back a fast one; broker memory stays bounded', async () => {
      const topic = uid('flood');
      const fast = await client(ctx.port, version as 4 | 5);
      await fast.subscribe(topic);
      fast.countOnly('publish');
      const slow = await client(ctx.port, version as 4 | 5);
      await slow.subscribe(topic);
      slow.pause();
      const pub = await client(ctx.port, version as 4 | 5);
      await sleep(100);
      const before = brokerMemory();

      await flood(pub, topic, version as 4 | 5);
      await waitUntil(() => (fast.counts.get('publish') ?? 0) >= MESSAGES, 60_000, 50);
      expect(fast.counts.get('publish')).toBe(MESSAGES);
      const growth = brokerMemory() - before;
      // An unbounded broker would hold most of the flood for the paused client.
      expect(growth, `broker grew by ${(growth / 1e6).toFixed(1)} MB`).toBeLessThan(FLOOD_BYTES / 2);

      // The broker is still serving: a new client gets PINGRESP and live messages.
      const probe = await client(ctx.port, version as 4 | 5);
      probe.send(pingreq());
      await probe.expectPacket('pingresp');
      const check = uid('after');
      await probe.subscribe(check);
      pub.publish({ topic: check, payload: 'alive' });
      expect((await probe.expectPacket('publish')).text).toBe('alive');

      // The slow client, once it reads again, gets at most the flood (or was disconnected).
      slow.countOnly('publish');
      slow.resume();
      await sleep(500);
      expect(slow.counts.get('publish') ?? 0).toBeLessThanOrEqual(MESSAGES);
    }, 90_000);
  });
});
