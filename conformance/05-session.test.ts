/**
 * 05 — Sessions: Clean Session (3.1.1) / Clean Start + Session Expiry (5.0), the
 * Session Present flag, subscriptions kept or discarded.
 */
import { disconnect, getProp, Prop, sleep } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, expectDisconnectAndClose, persistent, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

describe('05 session', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    it('[MQTT-3.2.2-1] (5.0: [MQTT-3.2.2-2]) a clean session gets Session Present 0 and keeps nothing', async () => {
      const clientId = uid('clean');
      const topic = uid('t');
      const first = await client(ctx.port, version, { clientId, clean: true });
      expect(first.connack?.sessionPresent).toBe(false);
      await first.subscribe(topic, { qos: 1 });
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, version, { clientId, clean: true });
      expect(second.connack?.sessionPresent).toBe(false);
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'x', qos: 1 });
      await second.expectNoPacket(300);
    });

    it('[MQTT-3.2.2-2][MQTT-3.2.2-3] a persistent session: Session Present 0 first, then 1 on return', async () => {
      const clientId = uid('persist');
      const first = await client(ctx.port, version, persistent(version, clientId));
      expect(first.connack?.sessionPresent).toBe(false);
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, version, persistent(version, clientId));
      expect(second.connack?.sessionPresent).toBe(true);
    });

    it('[MQTT-3.1.2-4] (5.0: [MQTT-3.1.2-5]) subscriptions of a persistent session survive a reconnect', async () => {
      const clientId = uid('subs');
      const topic = uid('t');
      const first = await client(ctx.port, version, persistent(version, clientId));
      await first.subscribe(topic, { qos: 1 });
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, version, persistent(version, clientId));
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'still subscribed', qos: 1 });
      const msg = await second.expectPacket('publish');
      expect(msg).toMatchObject({ topic, text: 'still subscribed', qos: 1 });
    });

    it('[MQTT-3.1.2-6] (5.0: [MQTT-3.1.2-4]) connecting clean discards the previous persistent session', async () => {
      const clientId = uid('discard');
      const topic = uid('t');
      const first = await client(ctx.port, version, persistent(version, clientId));
      await first.subscribe(topic, { qos: 1 });
      first.disconnect();
      await first.expectClose();
      const clean = await client(ctx.port, version, { clientId, clean: true });
      expect(clean.connack?.sessionPresent).toBe(false);
      clean.disconnect();
      await clean.expectClose();
      const third = await client(ctx.port, version, persistent(version, clientId));
      expect(third.connack?.sessionPresent).toBe(false);
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'x', qos: 1 });
      await third.expectNoPacket(300);
    });

    it('[MQTT-3.1.4-2][MQTT-3.2.2-2] a takeover by Clean Session 0 resumes the session (Session Present 1, subscriptions kept)', async () => {
      const clientId = uid('resume');
      const topic = uid('t');
      const first = await client(ctx.port, version, persistent(version, clientId));
      await first.subscribe(topic, { qos: 1 });
      const second = await client(ctx.port, version, persistent(version, clientId));
      expect(second.connack?.sessionPresent).toBe(true);
      await first.expectClose();
      const pub = await client(ctx.port, version);
      await pub.publishAcked({ topic, payload: 'resumed', qos: 1 });
      expect((await second.expectPacket('publish')).text).toBe('resumed');
    });

    it('[MQTT-3.1.2-4] (5.0: [MQTT-3.1.2-23]) a persistent session survives an abrupt close too', async () => {
      const clientId = uid('abrupt');
      const first = await client(ctx.port, version, persistent(version, clientId));
      first.destroy();
      await sleep(100);
      const second = await client(ctx.port, version, persistent(version, clientId));
      expect(second.connack?.sessionPresent).toBe(true);
    });
  });

  describe('MQTT 5.0 session expiry', () => {
    it('[MQTT-3.1.2-23] Clean Start 0 with no Session Expiry Interval: the session ends with the connection', async () => {
      const clientId = uid('exp0');
      const first = await client(ctx.port, 5, { clientId, clean: false });
      await first.subscribe(uid('t'));
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, 5, { clientId, clean: false });
      expect(second.connack?.sessionPresent).toBe(false);
    });

    it('[MQTT-3.1.2-23] Clean Start 0 with expiry > 0 keeps the session until it expires', async () => {
      const clientId = uid('exp1');
      const options = { clientId, clean: false, properties: [[Prop.SessionExpiryInterval, 1]] as const };
      const first = await client(ctx.port, 5, options);
      first.disconnect();
      await first.expectClose();
      const soon = await client(ctx.port, 5, options);
      expect(soon.connack?.sessionPresent).toBe(true);
      soon.disconnect();
      await soon.expectClose();
      await sleep(2500);
      const late = await client(ctx.port, 5, options);
      expect(late.connack?.sessionPresent).toBe(false);
    });

    it('[§3.14.2.2.2] DISCONNECT may raise a non-zero Session Expiry Interval', async () => {
      const clientId = uid('raise');
      const options = { clientId, clean: false, properties: [[Prop.SessionExpiryInterval, 1]] as const };
      const first = await client(ctx.port, 5, options);
      first.disconnect({ reasonCode: 0, properties: [[Prop.SessionExpiryInterval, 60]] });
      await first.expectClose();
      await sleep(2200);
      const second = await client(ctx.port, 5, options);
      expect(second.connack?.sessionPresent).toBe(true);
    });

    it('[MQTT-3.1.3-7][MQTT-3.2.2-3] a session created with an assigned client id can be resumed with it', async () => {
      const first = await client(ctx.port, 5, { clientId: '', clean: false, properties: [[Prop.SessionExpiryInterval, 60]] });
      const assigned = getProp(first.connack!.properties, Prop.AssignedClientIdentifier);
      expect(typeof assigned).toBe('string');
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, 5, persistent(5, assigned as string));
      expect(second.connack?.sessionPresent).toBe(true);
    });

    it('[MQTT-3.1.2-4][MQTT-3.2.2-2] Clean Start 1 discards an existing session (Session Present 0)', async () => {
      const clientId = uid('cs1');
      const first = await client(ctx.port, 5, persistent(5, clientId));
      first.disconnect();
      await first.expectClose();
      const second = await client(ctx.port, 5, { clientId, clean: true, properties: [[Prop.SessionExpiryInterval, 300]] });
      expect(second.connack?.sessionPresent).toBe(false);
    });

    it('[§3.14.2.2.2] DISCONNECT may set the Session Expiry Interval to 0 to end the session', async () => {
      const clientId = uid('dx0');
      const first = await client(ctx.port, 5, persistent(5, clientId));
      first.disconnect({ reasonCode: 0, properties: [[Prop.SessionExpiryInterval, 0]] });
      await first.expectClose();
      const second = await client(ctx.port, 5, persistent(5, clientId));
      expect(second.connack?.sessionPresent).toBe(false);
    });

    it('[§3.14.2.2.2] DISCONNECT setting a non-zero expiry when CONNECT had 0 is a protocol error', async () => {
      const c = await client(ctx.port, 5, { clientId: uid('dxbad'), clean: true });
      // Sent without closing our side, so the close below is the broker's doing.
      c.send(disconnect({ version: 5, reasonCode: 0, properties: [[Prop.SessionExpiryInterval, 60]] }));
      await expectDisconnectAndClose(c, 5, [0x82]);
    });
  });
});
