/**
 * 07 — Keep alive: PINGREQ/PINGRESP, disconnect after 1.5 × keep alive of silence,
 * keep alive 0, and sockets that never send CONNECT (connect timeout).
 */
import { pingreq, RawClient, sleep, startBroker } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, expectDisconnectAndClose, KEEPALIVE_SLACK_MS, target, useBroker, VERSIONS } from './support.js';

// Tests wait on timers, so they run concurrently; each uses its own clients.
const ctx = useBroker({}, { concurrent: true });

describe.concurrent('07 keepalive', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP', async () => {
      const c = await client(ctx.port, version, { keepAlive: 10 });
      c.send(pingreq());
      const pingresp = await c.expectPacket('pingresp');
      expect(Array.from(pingresp.raw)).toEqual([0xd0, 0x00]);
    });

    it('[MQTT-3.1.2-24] (5.0: [MQTT-3.1.2-22]) a client silent for 1.5 × keep alive is disconnected', async () => {
      const c = await client(ctx.port, version, { keepAlive: 1 });
      // 5.0: DISCONNECT 0x8D (Keep Alive timeout) before the close (hato; MAY in the spec).
      await expectDisconnectAndClose(c, version, [0x8d], KEEPALIVE_SLACK_MS);
    });

    it('[MQTT-3.1.2-23] a client sending PINGREQ within the keep alive stays connected', async () => {
      const c = await client(ctx.port, version, { keepAlive: 1 });
      for (let i = 0; i < 5; i++) {
        await sleep(500);
        c.send(pingreq());
        await c.expectPacket('pingresp');
      }
      expect(c.closed).toBe(false);
    });

    it('[MQTT-3.1.2-24] (5.0: [MQTT-3.1.2-22]) keep alive is not enforced before 1.5 × keep alive has passed', async () => {
      const c = await client(ctx.port, version, { keepAlive: 4 });
      await c.expectNoPacket(2000);
      expect(c.closed).toBe(false);
    });

    it('[§3.1.2.10] keep alive 0 turns the mechanism off', async () => {
      const c = await client(ctx.port, version, { keepAlive: 0 });
      await c.expectNoPacket(2500);
      expect(c.closed).toBe(false);
      c.send(pingreq());
      await c.expectPacket('pingresp');
    });
  });

  // mosquitto has no option for a CONNECT timeout; hato's connectTimeoutMs drops idle sockets.
  it.skipIf(target === 'mosquitto')('[§3.1.4 step 1] a socket that never sends CONNECT is closed after connectTimeoutMs', async () => {
    const broker = await startBroker({ connectTimeoutMs: 300 });
    try {
      const idle = await RawClient.connect(broker.port);
      const leftover = await idle.expectClose(3000);
      expect(leftover).toEqual([]);
    } finally {
      await broker.close();
    }
  });
});
