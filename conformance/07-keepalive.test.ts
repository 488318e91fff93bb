/**
 * 07 — Keep alive: PINGREQ/PINGRESP, disconnect after 1.5 × keep alive of silence,
 * keep alive 0, and sockets that never send CONNECT (connect timeout).
 */
import { connect, pingreq, publish, RawClient, sleep, startBroker } from '@hato/testkit';
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

  it.each(VERSIONS)(
    '[MQTT-3.1.2-24] $name: bytes trickled without completing a Control Packet do not keep the connection alive',
    async ({ version }) => {
      const c = await client(ctx.port, version, { keepAlive: 1 });
      const packet = publish({ version, topic: 'trickle', payload: 'x'.repeat(200) });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < packet.length && !c.closed) c.send(packet.subarray(sent, ++sent));
      }, 150);
      try {
        await c.expectClose(KEEPALIVE_SLACK_MS);
        expect(sent).toBeLessThan(packet.length);
      } finally {
        clearInterval(timer);
      }
    },
  );

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

  it.skipIf(target === 'mosquitto')('[§3.1.4 step 1] a CONNECT trickled byte by byte does not outlive connectTimeoutMs', async () => {
    const broker = await startBroker({ connectTimeoutMs: 300 });
    const slow = await RawClient.connect(broker.port, { version: 4 });
    const bytes = connect({ version: 4, clientId: 'x'.repeat(200) });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < bytes.length && !slow.closed) slow.send(bytes.subarray(sent, ++sent));
    }, 50);
    try {
      expect(await slow.expectClose(3000)).toEqual([]);
      expect(sent).toBeLessThan(bytes.length);
    } finally {
      clearInterval(timer);
      await broker.close();
    }
  });
});
