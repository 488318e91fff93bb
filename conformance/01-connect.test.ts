/**
 * 01 — CONNECT / CONNACK: first packet, once only, protocol name and level, client
 * identifiers, session takeover, reserved flag, user name / password flags.
 */
import { connect, fromHex, getProp, pingreq, Prop, publish, RawClient, subscribe } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS, client, expectConnectRefused, expectDisconnectAndClose, target, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

describe('01 connect', () => {
  describe.each(ALL_VERSIONS)('$name', ({ version }) => {
    it('[MQTT-3.2.0-1] CONNECT is answered by a successful CONNACK', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version, clientId: uid('ok') }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0);
      expect(connack.sessionPresent).toBe(false);
      if (version !== 5) expect(Array.from(connack.raw)).toEqual([0x20, 0x02, 0x00, 0x00]);
    });

    it('[MQTT-3.1.0-2] a second CONNECT is a protocol violation and closes the connection', async () => {
      const c = await client(ctx.port, version);
      c.send(connect({ version, clientId: uid('again') }));
      await expectDisconnectAndClose(c, version, [0x82]);
    });

    it('[MQTT-3.1.4-2] a second connection with the same client id closes the first', async () => {
      const clientId = uid('take');
      const first = await client(ctx.port, version, { clientId });
      const second = await client(ctx.port, version, { clientId });
      await expectDisconnectAndClose(first, version, [0x8e]);
      second.send(pingreq());
      await second.expectPacket('pingresp');
    });
  });

  // 3.1 leaves bit 0 of the connect flags unused; 3.1.1 and 5.0 require it to be 0.
  it.each(VERSIONS)('[MQTT-3.1.2-3] $name: reserved connect flag set closes the connection', async ({ version }) => {
    const c = await RawClient.connect(ctx.port);
    c.send(connect({ version, clientId: uid('rsv'), reservedFlag: true }));
    await expectConnectRefused(c, [0x81]);
  });

  // mosquitto 2.0.11 closes the old connection without a DISCONNECT (the spec's 4.13 makes
  // the DISCONNECT a MAY); hato sends it, as [MQTT-3.1.4-3] describes.
  it.skipIf(target === 'mosquitto')('[MQTT-3.1.4-3] 5.0 takeover: the old connection receives DISCONNECT 0x8E (Session taken over)', async () => {
    const clientId = uid('take5');
    const first = await client(ctx.port, 5, { clientId });
    await client(ctx.port, 5, { clientId });
    const disconnect = await first.expectPacket('disconnect');
    expect(disconnect.reasonCode).toBe(0x8e);
    await first.expectClose();
  });

  describe('first packet must be CONNECT', () => {
    it.each([
      ['PINGREQ', pingreq()],
      ['PUBLISH', publish({ topic: 'a/b', payload: 'x' })],
      ['SUBSCRIBE', subscribe({ packetId: 1, subscriptions: [{ filter: 'a/#' }] })],
    ])('[MQTT-3.1.0-1] %s before CONNECT closes the connection', async (_name, bytes) => {
      const c = await RawClient.connect(ctx.port);
      c.send(bytes);
      const leftover = await c.expectClose();
      expect(leftover).toEqual([]);
    });
  });

  describe('protocol name and level', () => {
    it('[MQTT-3.1.2-2] unsupported protocol level 6 is refused (0x01, or 0x84 in 5.0 form) and closed', async () => {
      const c = await RawClient.connect(ctx.port, { version: 4 });
      c.send(connect({ version: 4, clientId: uid('lvl'), protocolLevel: 6 }));
      const leftover = await c.expectClose();
      expect(leftover).toHaveLength(1);
      const raw = Array.from(leftover[0]!.raw);
      expect([
        [0x20, 0x02, 0x00, 0x01],
        [0x20, 0x03, 0x00, 0x84, 0x00],
      ]).toContainEqual(raw);
    });

    it('[MQTT-3.1.2-2] protocol name MQIsdp with level 4 is refused with 0x01 and closed', async () => {
      const c = await RawClient.connect(ctx.port, { version: 4 });
      c.send(connect({ version: 4, clientId: uid('lvl'), protocolName: 'MQIsdp' }));
      await expectConnectRefused(c, [0x01]);
    });

    it('[MQTT-3.1.2-1] an unknown protocol name closes the connection without accepting it', async () => {
      const c = await RawClient.connect(ctx.port, { version: 4 });
      c.send(connect({ version: 4, clientId: uid('name'), protocolName: 'MQTX' }));
      await expectConnectRefused(c, [0x01, 0x84]);
    });
  });

  describe('client identifier', () => {
    it('[MQTT-3.1.3-6] 3.1.1: zero-length client id with clean session is accepted', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version: 4, clientId: '', clean: true }));
      expect(await c.expectPacket('connack')).toMatchObject({ reasonCode: 0, sessionPresent: false });
    });

    it('[MQTT-3.1.3-8] 3.1.1: zero-length client id without clean session → CONNACK 0x02 and close', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version: 4, clientId: '', clean: false }));
      const connack = await c.expectPacket('connack');
      expect(Array.from(connack.raw)).toEqual([0x20, 0x02, 0x00, 0x02]);
      await c.expectClose();
    });

    it('[3.1 §3.1] 3.1: zero-length client id is rejected with 0x02 (ids are 1–23 characters)', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version: 3, clientId: '', clean: true }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0x02);
      await c.expectClose();
    });

    // mosquitto 2.0.11 accepts longer 3.1 client ids; the 3.1 spec requires CONNACK 2.
    it.skipIf(target === 'mosquitto')('[3.1 §3.1] 3.1: a client id longer than 23 characters is rejected with 0x02', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version: 3, clientId: 'a'.repeat(24) }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0x02);
      await c.expectClose();
    });

    it('[MQTT-3.1.3-6][MQTT-3.1.3-7][MQTT-3.2.2-16] 5.0: zero-length client id gets a unique Assigned Client Identifier', async () => {
      const ids: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        const c = await RawClient.connect(ctx.port);
        c.send(connect({ version: 5, clientId: '', clean: true }));
        const connack = await c.expectPacket('connack');
        expect(connack.reasonCode).toBe(0);
        const assigned = getProp(connack.properties, Prop.AssignedClientIdentifier);
        expect(typeof assigned === 'string' && assigned.length > 0).toBe(true);
        ids.push(assigned);
      }
      expect(ids[0]).not.toBe(ids[1]);
    });

    it('[MQTT-3.1.3-5] 3.1.1: a 23-character alphanumeric client id is accepted', async () => {
      const id = `${uid('x')}abcdefghijklmnopqrstuvw`.slice(-23);
      await client(ctx.port, 4, { clientId: id });
    });
  });

  describe('user name and password flags', () => {
    it('[MQTT-3.1.2-22] 3.1.1: password flag without user name flag closes the connection', async () => {
      const c = await RawClient.connect(ctx.port);
      c.send(connect({ version: 4, clientId: uid('pw'), password: 'secret' }));
      await expectConnectRefused(c, [0x01, 0x02, 0x04, 0x05]);
    });

    it('[MQTT-3.1.2-19] 5.0 (§3.1.2.9): a password without a user name is allowed', async () => {
      await client(ctx.port, 5, { password: 'secret' });
    });

    it.each(VERSIONS)('[MQTT-3.1.2-19] $name: user name and password are accepted by an anonymous broker', async ({ version }) => {
      await client(ctx.port, version, { username: 'user', password: 'pass' });
    });
  });

  it('[MQTT-4.2.0-1] the handshake also works when CONNECT arrives one byte at a time', async () => {
    const c = await RawClient.connect(ctx.port, { version: 4 });
    const bytes = connect({ version: 4, clientId: uid('slow') });
    for (const byte of bytes) {
      c.send(Uint8Array.of(byte));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await c.expectPacket('connack')).toMatchObject({ reasonCode: 0 });
    c.send(fromHex('c0 00'));
    await c.expectPacket('pingresp');
  });
});
