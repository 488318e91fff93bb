/**
 * Memory stays flat against a real Mosquitto: fire-and-forget QoS 0 publishes and
 * awaited-then-dropped QoS 1 publishes leave no per-message state behind. Checked two
 * ways: the client's internal structures are empty (debugCounts), and the garbage
 * collector can reclaim every message's payload and promise (WeakRef after a full GC).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasMosquitto, Mosquitto } from '../../../interop/client-support/mosquitto.js';
import { connectAsync, type MqttClient } from '../src/node.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const EMPTY = {
  inflight: 0,
  queued: 0,
  incomingQoS2: 0,
  packetIds: 0,
  subscribeRequests: 0,
  requests: 0,
  streams: 0,
  writeBuffered: 0,
  waiters: 0,
};

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** How many of the referents survive full collections (WeakRefs are kept until the job ends). */
async function survivors(refs: WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await tick(5);
    gc();
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

describe.skipIf(!hasMosquitto)('client memory against mosquitto', () => {
  const m = new Mosquitto({ tls: false, websockets: false });
  let client: MqttClient | undefined;
  beforeAll(async () => {
    await m.start();
  });
  afterAll(async () => {
    await m.dispose();
  });
  afterEach(async () => {
    await client?.end({ force: true });
    client = undefined;
  });

  it('200k fire-and-forget QoS 0 publishes leave nothing behind (back-pressure off)', { timeout: 60_000 }, async () => {
    // writeHighWaterMark Infinity: never waits for a drain, so every QoS 0 publish must
    // return the one resolved promise (back-pressure.test.ts covers the default mark).
    client = await connectAsync(`mqtt://127.0.0.1:${m.port}`, { writeHighWaterMark: Number.POSITIVE_INFINITY });
    const c = client;
    const first = c.publish('mem/t', 'x');
    const refs: WeakRef<object>[] = [];
    for (let i = 1; i < 200_000; i++) {
      const payload = new Uint8Array(64);
      // Every QoS 0 publish returns the same settled promise: nothing per message to keep.
      expect(c.publish('mem/t', payload)).toBe(first);
      if (i % 200 === 0) refs.push(new WeakRef(payload));
    }
    await first;
    // The last bytes may still sit in the socket's write buffer (in flight, not state the
    // client keeps): wait until the kernel has taken them, as a loaded machine can be slow.
    for (let waited = 0; c.debugCounts().writeBuffered > 0 && waited < 20_000; waited += 10) await tick(10);
    expect(c.debugCounts()).toEqual(EMPTY);
    expect(refs).toHaveLength(999);
    expect(await survivors(refs)).toBe(0);
  });

  it('20k awaited-then-dropped QoS 1 publishes: no entry, packet id or promise retained after the PUBACK', { timeout: 60_000 }, async () => {
    client = await connectAsync(`mqtt://127.0.0.1:${m.port}`);
    const c = client;
    const refs: WeakRef<object>[] = [];
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < 20_000; i++) {
      const payload = new Uint8Array(64);
      const p = c.publish('mem/q1', payload, { qos: 1 });
      if (i % 20 === 0) refs.push(new WeakRef(payload), new WeakRef(p));
      window.push(p);
      if (window.length === 100) {
        const acks = await Promise.all(window.splice(0));
        expect(acks.every((a) => (a as { type?: string } | undefined)?.type === 'puback')).toBe(true);
      }
    }
    await Promise.all(window.splice(0));
    expect(c.debugCounts()).toEqual(EMPTY);
    expect(refs).toHaveLength(2000);
    expect(await survivors(refs)).toBe(0);
  });

  it('the WeakRef check can fail: a referenced object survives, an unreferenced one does not', async () => {
    const kept = new Uint8Array(64);
    const refs = [new WeakRef(kept), new WeakRef(new Uint8Array(64))];
    expect(await survivors(refs)).toBe(1);
    expect(kept.length).toBe(64);
  });
});
