/**
 * 06 — Will messages: published on keep-alive timeout, on a close without DISCONNECT,
 * on a protocol error and on takeover; not after a normal DISCONNECT; will QoS and
 * retain honoured; 5.0 will delay and DISCONNECT 0x04.
 */
import { type ConnectOptions, disconnect, Prop, type RawClient, sleep } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, KEEPALIVE_SLACK_MS, target, uid, useBroker, VERSIONS } from './support.js';

// Tests wait on timers, so they run concurrently; each uses its own clients and topics.
const ctx = useBroker({}, { concurrent: true });

describe.concurrent('06 will', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    /** A watcher subscribed to a fresh will topic, and connect options carrying that will. */
    async function setup(will: Partial<NonNullable<ConnectOptions['will']>> = {}) {
      const topic = uid('will');
      const watcher = await client(ctx.port, version);
      await watcher.subscribe(topic, { qos: 2 });
      const options = { clientId: uid('w'), will: { topic, payload: 'gone', qos: 0, ...will } };
      return { topic, watcher, options };
    }

    it('[MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT', async () => {
      const { topic, watcher, options } = await setup();
      const c = await client(ctx.port, version, options);
      c.destroy();
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'gone', retain: false });
    });

    it('[MQTT-3.1.2-10] the will is not published after a normal DISCONNECT', async () => {
      const { watcher, options } = await setup();
      const c = await client(ctx.port, version, options);
      c.disconnect();
      await c.expectClose();
      await watcher.expectNoPacket(500);
    });

    it('[MQTT-3.1.2-8] the will is published when keep alive expires', async () => {
      const { topic, watcher, options } = await setup();
      await client(ctx.port, version, { ...options, keepAlive: 1 });
      expect(await watcher.expectPacket('publish', KEEPALIVE_SLACK_MS)).toMatchObject({ topic, text: 'gone' });
    });

    it('[MQTT-3.1.2-8] the will is published when the broker closes the connection for a protocol error', async () => {
      const { topic, watcher, options } = await setup();
      const c = await client(ctx.port, version, options);
      c.send(Uint8Array.of(0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01)); // PUBLISH QoS 3 [MQTT-3.3.1-4]
      await c.expectClose();
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'gone' });
    });

    it('[MQTT-3.1.4-2] (5.0: [MQTT-3.1.4-3]) the will of a connection taken over is published', async () => {
      const { topic, watcher, options } = await setup();
      await client(ctx.port, version, options);
      const { will: _none, ...withoutWill } = options;
      await client(ctx.port, version, withoutWill);
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'gone' });
    });

    it('[MQTT-3.1.2-17] (5.0: [MQTT-3.1.2-15]) will retain: a retained will is kept for later subscribers', async () => {
      const { topic, watcher, options } = await setup({ retain: true, payload: 'kept' });
      const c = await client(ctx.port, version, options);
      c.destroy();
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'kept' });
      const later = await client(ctx.port, version);
      await later.subscribe(topic);
      expect(await later.expectPacket('publish')).toMatchObject({ topic, text: 'kept', retain: true });
    });

    it('[MQTT-3.1.2-14] (5.0: [MQTT-3.1.2-12]) will QoS is honoured (QoS 2 will to a QoS 2 subscriber)', async () => {
      const { topic, watcher, options } = await setup({ qos: 2 });
      const c = await client(ctx.port, version, options);
      c.destroy();
      const msg = await watcher.expectPacket('publish');
      expect(msg).toMatchObject({ topic, qos: 2 });
      await watcher.ack(msg);
    });

    it('[MQTT-3.1.2-14][MQTT-3.8.4-6] will QoS 1 to a QoS 0 subscriber is delivered at QoS 0', async () => {
      const topic = uid('willq');
      const watcher = await client(ctx.port, version);
      await watcher.subscribe(topic, { qos: 0 });
      const c = await client(ctx.port, version, { will: { topic, payload: 'q', qos: 1 } });
      c.destroy();
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, qos: 0 });
    });
  });

  describe('MQTT 5.0', () => {
    async function watch(topic: string): Promise<RawClient> {
      const watcher = await client(ctx.port, 5);
      await watcher.subscribe(topic);
      return watcher;
    }

    it('[MQTT-3.1.2-8][MQTT-3.1.2-10] DISCONNECT 0x04 (with Will Message) publishes the will', async () => {
      const topic = uid('w04');
      const watcher = await watch(topic);
      const c = await client(ctx.port, 5, { will: { topic, payload: 'asked' } });
      c.send(disconnect({ version: 5, reasonCode: 0x04 }));
      expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'asked' });
    });

    it('[MQTT-3.1.3-9] a will with a delay is not published if the client reconnects in time', async () => {
      const topic = uid('wdelay');
      const clientId = uid('wd');
      const watcher = await watch(topic);
      const will = { topic, payload: 'late', properties: [[Prop.WillDelayInterval, 2]] as const };
      const session = [[Prop.SessionExpiryInterval, 60]] as const;
      const c = await client(ctx.port, 5, { clientId, clean: false, will, properties: session });
      c.destroy();
      await sleep(500);
      await client(ctx.port, 5, { clientId, clean: false, properties: session });
      await watcher.expectNoPacket(2500);
    });

    it('[MQTT-3.1.3-9] takeover by Clean Start 0 within the will delay does not publish the will', async () => {
      const topic = uid('wtake');
      const clientId = uid('wt');
      const watcher = await watch(topic);
      const will = { topic, payload: 'late', properties: [[Prop.WillDelayInterval, 2]] as const };
      const session = [[Prop.SessionExpiryInterval, 60]] as const;
      const first = await client(ctx.port, 5, { clientId, clean: false, will, properties: session });
      await client(ctx.port, 5, { clientId, clean: false, properties: session });
      await first.expectClose();
      await watcher.expectNoPacket(2500);
    });

    it('[MQTT-3.1.2-8] a will with a delay is published once the delay has passed', async () => {
      const topic = uid('wdelay2');
      const watcher = await watch(topic);
      const will = { topic, payload: 'late', properties: [[Prop.WillDelayInterval, 1]] as const };
      const c = await client(ctx.port, 5, { clean: false, will, properties: [[Prop.SessionExpiryInterval, 60]] });
      c.destroy();
      await watcher.expectNoPacket(400);
      expect(await watcher.expectPacket('publish', 4000)).toMatchObject({ topic, text: 'late' });
    });

    it('[MQTT-3.1.2-8] a delayed will is published when the session ends first (expiry 1 s < delay 30 s)', async () => {
      const topic = uid('wexp');
      const watcher = await watch(topic);
      const will = { topic, payload: 'session over', properties: [[Prop.WillDelayInterval, 30]] as const };
      const c = await client(ctx.port, 5, { clean: false, will, properties: [[Prop.SessionExpiryInterval, 1]] });
      c.destroy();
      expect(await watcher.expectPacket('publish', 4000)).toMatchObject({ topic, text: 'session over' });
    });

    // mosquitto 2.0.11 waits for the will delay even though the session has ended.
    it.skipIf(target === 'mosquitto')('[MQTT-3.1.2-8] with Session Expiry 0 a delayed will is published at once (the session ends with the connection)', async () => {
      const topic = uid('wexp0');
      const watcher = await watch(topic);
      const will = { topic, payload: 'now', properties: [[Prop.WillDelayInterval, 30]] as const };
      const c = await client(ctx.port, 5, { clean: true, will });
      c.destroy();
      expect(await watcher.expectPacket('publish', 2000)).toMatchObject({ topic, text: 'now' });
    });

    it('[MQTT-3.1.3-10] will properties are forwarded with the will message', async () => {
      const topic = uid('wprops');
      const watcher = await watch(topic);
      const will = {
        topic,
        payload: 'p',
        properties: [
          [Prop.ContentType, 'text/plain'],
          [Prop.UserProperty, ['k', 'v']],
        ] as const,
      };
      const c = await client(ctx.port, 5, { will });
      c.destroy();
      const msg = await watcher.expectPacket('publish');
      expect(msg.properties).toContainEqual([Prop.ContentType, 'text/plain']);
      expect(msg.properties).toContainEqual([Prop.UserProperty, ['k', 'v']]);
    });
  });

  it('[MQTT-3.1.2-8] 3.1: the will is published when the connection drops', async () => {
    const topic = uid('w31');
    const watcher = await client(ctx.port, 3);
    await watcher.subscribe(topic);
    const c = await client(ctx.port, 3, { will: { topic, payload: 'old' } });
    c.destroy();
    expect(await watcher.expectPacket('publish')).toMatchObject({ topic, text: 'old' });
  });
});
