/**
 * 10 — Malformed input and protocol errors: each case closes the offending connection
 * (5.0: DISCONNECT 0x81 Malformed Packet / 0x82 Protocol Error first) while another
 * connected client keeps receiving messages.
 */
import {
  auth,
  concat,
  connect,
  type MqttVersion,
  Prop,
  publish,
  RawClient,
  rawPacket,
  rawProperties,
  sleep,
  subscribe,
  u8,
  u16,
  unsubscribe,
  utf8,
  varint,
} from '@hato/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { client, expectConnectRefused, expectDisconnectAndClose, target, uid, useBroker, VERSIONS } from './support.js';

const ctx = useBroker();

const MALFORMED = [0x81];
const EITHER = [0x81, 0x82];

/** Properties section for 5.0, nothing for 3.x. */
const noProps = (v: MqttVersion) => (v === 5 ? Uint8Array.of(0) : new Uint8Array(0));

interface Case {
  name: string;
  bytes: (v: MqttVersion) => Uint8Array;
  /** Acceptable 5.0 DISCONNECT reason codes. */
  codes: readonly number[];
  only?: MqttVersion;
  /** Why mosquitto is not held to this case (it accepts the packet). */
  mosquittoDiffers?: string;
}

const CASES: Case[] = [
  { name: '[§2.2.3][MQTT-4.8.0-1] Remaining Length longer than 4 bytes', bytes: () => Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x7f), codes: MALFORMED },
  { name: '[MQTT-3.6.1-1] PUBREL with reserved flags 0000', bytes: () => rawPacket(0x60, [0, 1]), codes: MALFORMED },
  {
    name: '[MQTT-3.8.1-1] SUBSCRIBE with reserved flags 0000',
    bytes: (v) => Uint8Array.of(0x80, ...subscribe({ version: v, packetId: 1, subscriptions: [{ filter: 'a' }] }).subarray(1)),
    codes: MALFORMED,
  },
  {
    name: '[MQTT-3.10.1-1] UNSUBSCRIBE with reserved flags 0000',
    bytes: (v) => Uint8Array.of(0xa0, ...unsubscribe({ version: v, packetId: 1, filters: ['a'] }).subarray(1)),
    codes: MALFORMED,
  },
  {
    name: '[MQTT-2.2.2-2] (5.0: [MQTT-2.1.3-1]) PINGREQ with reserved flags 0001',
    bytes: () => Uint8Array.of(0xc1, 0x00),
    codes: MALFORMED,
    mosquittoDiffers: 'mosquitto 2.0.11 does not check PINGREQ flags',
  },
  { name: '[MQTT-3.3.1-4] PUBLISH with QoS 3', bytes: (v) => rawPacket(0x36, concat([utf8('a'), u16(1), noProps(v)])), codes: MALFORMED },
  { name: '[MQTT-1.5.3-1] topic with invalid UTF-8 (0xFF)', bytes: (v) => publish({ version: v, topic: Uint8Array.of(0x61, 0xff) }), codes: MALFORMED },
  {
    name: '[MQTT-1.5.3-1] topic with an encoded surrogate (ED A0 80)',
    bytes: (v) => publish({ version: v, topic: Uint8Array.of(0x61, 0xed, 0xa0, 0x80) }),
    codes: MALFORMED,
  },
  { name: '[MQTT-1.5.3-1] topic with overlong UTF-8 (C0 AF)', bytes: (v) => publish({ version: v, topic: Uint8Array.of(0xc0, 0xaf) }), codes: MALFORMED },
  { name: '[MQTT-1.5.3-2] topic containing U+0000', bytes: (v) => publish({ version: v, topic: 'a\u0000b' }), codes: MALFORMED },
  { name: '[MQTT-3.3.2-2] topic name with + wildcard', bytes: (v) => publish({ version: v, topic: 'a/+/c' }), codes: [0x81, 0x82, 0x90] },
  { name: '[MQTT-3.3.2-2] topic name with # wildcard', bytes: (v) => publish({ version: v, topic: 'a/#' }), codes: [0x81, 0x82, 0x90] },
  { name: '[MQTT-4.7.3-1] 3.1.1 PUBLISH with an empty topic name', bytes: (v) => publish({ version: v, topic: '' }), codes: EITHER, only: 4 },
  { name: '[§3.3.2.1] 5.0 PUBLISH with an empty topic and no alias', bytes: (v) => publish({ version: v, topic: '' }), codes: [0x82], only: 5 },
  {
    name: '[MQTT-4.7.3-1] SUBSCRIBE with an empty topic filter',
    bytes: (v) => subscribe({ version: v, packetId: 1, subscriptions: [{ filter: '' }] }),
    codes: EITHER,
  },
  { name: '[MQTT-3.8.3-3] SUBSCRIBE without any topic filter', bytes: (v) => rawPacket(0x82, concat([u16(1), noProps(v)])), codes: EITHER },
  { name: '[MQTT-3.10.3-2] UNSUBSCRIBE without any topic filter', bytes: (v) => rawPacket(0xa2, concat([u16(1), noProps(v)])), codes: EITHER },
  {
    name: '[MQTT-3.8.3-4] SUBSCRIBE requesting QoS 3',
    bytes: (v) => subscribe({ version: v, packetId: 1, subscriptions: [{ filter: 'a', qos: 3 }] }),
    codes: MALFORMED,
  },
  { name: '[MQTT-2.3.1-1] QoS 1 PUBLISH with packet id 0', bytes: (v) => publish({ version: v, topic: 'a', qos: 1, packetId: 0 }), codes: EITHER },
  { name: '[MQTT-4.8.0-1] truncated PUBLISH (topic longer than the packet)', bytes: () => Uint8Array.of(0x30, 0x03, 0x00, 0x05, 0x61), codes: MALFORMED },
  { name: '[MQTT-4.8.0-1] truncated SUBSCRIBE (no options byte)', bytes: (v) => rawPacket(0x82, concat([u16(1), noProps(v), utf8('a')])), codes: MALFORMED },
  // Regression: a second CONNECT with an unknown protocol level used to end the broker's
  // process (a CONNACK-only code, 0x84, was put in a DISCONNECT and its encoder threw).
  { name: '[MQTT-3.1.0-2] a second CONNECT with protocol level 9', bytes: () => connect({ version: 5, clientId: 'again', protocolLevel: 9 }), codes: EITHER },
  { name: '[MQTT-3.1.0-2] a second CONNECT with protocol level 0', bytes: () => connect({ version: 4, clientId: 'again', protocolLevel: 0 }), codes: EITHER },
  { name: '[MQTT-3.1.0-2] a second, valid CONNECT', bytes: (v) => connect({ version: v, clientId: 'again' }), codes: [0x82] },
  { name: '[MQTT-3.1.0-2] a second CONNECT with protocol name MQIsdp and level 3', bytes: () => connect({ version: 3, clientId: 'again' }), codes: EITHER },
  { name: '[MQTT-4.8.0-1] reserved packet type 0', bytes: () => Uint8Array.of(0x00, 0x00), codes: EITHER },
  { name: '[MQTT-4.8.0-1] a CONNACK sent by a client', bytes: (v) => rawPacket(0x20, v === 5 ? [0, 0, 0] : [0, 0]), codes: EITHER },
  {
    name: '[MQTT-4.8.0-1] a SUBACK sent by a client',
    bytes: (v) => rawPacket(0x90, concat([u16(1), noProps(v), u8(0)])),
    codes: EITHER,
    mosquittoDiffers: 'mosquitto 2.0.11 ignores a SUBACK from a client',
  },
  {
    name: '[§2.2.2.2] 5.0 PUBLISH with an unknown property identifier',
    bytes: () => rawPacket(0x30, concat([utf8('a'), rawProperties(Uint8Array.of(0x7f, 0x00)), Uint8Array.of(0x78)])),
    codes: MALFORMED,
    only: 5,
  },
  {
    name: '[§2.2.2.2] 5.0 PUBLISH with a property that is not allowed in PUBLISH (Session Expiry)',
    bytes: () => rawPacket(0x30, concat([utf8('a'), rawProperties(Uint8Array.of(0x11, 0, 0, 0, 5)), Uint8Array.of(0x78)])),
    codes: EITHER,
    only: 5,
  },
  {
    name: '[§3.3.2.3.9] 5.0 PUBLISH with Content Type twice',
    bytes: () =>
      publish({
        version: 5,
        topic: 'a',
        properties: [
          [Prop.ContentType, 'x'],
          [Prop.ContentType, 'y'],
        ],
      }),
    codes: EITHER,
    only: 5,
  },
  {
    name: '[MQTT-3.8.3-5] 5.0 SUBSCRIBE with reserved subscription option bits set',
    bytes: () => subscribe({ version: 5, packetId: 1, subscriptions: [{ filter: 'a', extraOptions: 0xc0 }] }),
    codes: MALFORMED,
    only: 5,
  },
  {
    name: '[§2.2.2.1] 5.0 property length past the end of the packet',
    bytes: () => rawPacket(0x30, concat([utf8('a'), varint(50), Uint8Array.of(0x01, 0x01)])),
    codes: MALFORMED,
    only: 5,
  },
  {
    name: '[MQTT-3.14.1-1] (3.1.1: [MQTT-2.2.2-2]) DISCONNECT with reserved flags 0001',
    bytes: () => Uint8Array.of(0xe1, 0x00),
    codes: MALFORMED,
  },
  { name: '[MQTT-4.8.0-1] 3.1.1: reserved packet type 15', bytes: () => Uint8Array.of(0xf0, 0x00), codes: EITHER, only: 4 },
  {
    name: '[§3.15] 5.0 AUTH without an Authentication Method in CONNECT',
    bytes: () => auth({ reasonCode: 0x18, properties: [[Prop.AuthenticationMethod, 'x']] }),
    codes: EITHER,
    only: 5,
  },
  {
    name: '[§3.8.2.1.2] 5.0 SUBSCRIBE with Subscription Identifier 0',
    bytes: () => subscribe({ version: 5, packetId: 1, subscriptions: [{ filter: 'a' }], properties: [[Prop.SubscriptionIdentifier, 0]] }),
    codes: EITHER,
    only: 5,
  },
  {
    name: '[MQTT-3.3.4-6] 5.0 PUBLISH from a client carrying a Subscription Identifier',
    bytes: () => publish({ version: 5, topic: 'a', properties: [[Prop.SubscriptionIdentifier, 3]] }),
    codes: EITHER,
    only: 5,
    mosquittoDiffers: 'mosquitto 2.0.11 accepts a Subscription Identifier in a PUBLISH from a client',
  },
];

describe('10 malformed', () => {
  describe.each(VERSIONS)('$name', ({ version }) => {
    const cases = CASES.filter((c) => c.only === undefined || c.only === version);
    for (const { name, bytes, codes, mosquittoDiffers } of cases) {
      it.skipIf(target === 'mosquitto' && mosquittoDiffers !== undefined)(`${name} closes that connection; others keep working`, async () => {
        const topic = uid('alive');
        const bystander = await client(ctx.port, version);
        await bystander.subscribe(topic, { qos: 1 });
        const bad = await client(ctx.port, version);
        bad.send(bytes(version));
        await expectDisconnectAndClose(bad, version, codes);
        const pub = await client(ctx.port, version);
        await pub.publishAcked({ topic, payload: 'still here', qos: 1 });
        const msg = await bystander.expectPacket('publish');
        expect(msg.text).toBe('still here');
        await bystander.ack(msg);
      });
    }
  });

  describe.each(VERSIONS)('$name random input', ({ version }) => {
    it('[MQTT-4.8.0-1] random bytes after CONNECT never take the broker down (fast-check, fixed seed)', async () => {
      const topic = uid('fuzz');
      const bystander = await client(ctx.port, version);
      await bystander.subscribe(topic);
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 96 }), async (bytes) => {
          const bad = await client(ctx.port, version);
          bad.send(bytes);
          await sleep(5);
          bad.destroy();
        }),
        { numRuns: 60, seed: 20261125 + version },
      );
      const pub = await client(ctx.port, version);
      pub.publish({ topic, payload: 'alive' });
      expect((await bystander.expectPacket('publish')).text).toBe('alive');
    });
  });

  describe('malformed CONNECT', () => {
    const CONNECTS: Array<{ name: string; version: MqttVersion; bytes: Uint8Array }> = [];
    for (const { version, name } of VERSIONS) {
      CONNECTS.push(
        { name: `${name} [MQTT-3.1.2-14] will QoS 3`, version, bytes: connect({ version, clientId: uid('w'), will: { topic: 't', payload: 'p', qos: 3 } }) },
        { name: `${name} [MQTT-3.1.2-13] (5.0: -11) will QoS without the will flag`, version, bytes: connect({ version, clientId: uid('w'), extraFlags: 0x08 }) },
        { name: `${name} [MQTT-3.1.2-15] (5.0: -13) will retain without the will flag`, version, bytes: connect({ version, clientId: uid('w'), extraFlags: 0x20 }) },
        { name: `${name} [MQTT-1.5.3-1] client id with invalid UTF-8`, version, bytes: connect({ version, clientId: Uint8Array.of(0x61, 0xff) }) },
        {
          name: `${name} [MQTT-3.1.4-1] CONNECT truncated inside the client id`,
          version,
          bytes: rawPacket(0x10, connect({ version, clientId: 'abcdef' }).subarray(2, -3)),
        },
        { name: `${name} [MQTT-3.3.2-2] will topic with a wildcard`, version, bytes: connect({ version, clientId: uid('w'), will: { topic: 'a/#', payload: 'p' } }) },
      );
    }
    CONNECTS.push(
      {
        name: 'MQTT 5.0 [§3.1.2.11.3] Receive Maximum 0',
        version: 5,
        bytes: connect({ version: 5, clientId: uid('rm0'), properties: [[Prop.ReceiveMaximum, 0]] }),
      },
      {
        name: 'MQTT 5.0 [§3.1.2.11.4] Maximum Packet Size 0',
        version: 5,
        bytes: connect({ version: 5, clientId: uid('mps0'), properties: [[Prop.MaximumPacketSize, 0]] }),
      },
      {
        name: 'MQTT 5.0 [§3.1.2.11.2] Session Expiry Interval twice',
        version: 5,
        bytes: connect({
          version: 5,
          clientId: uid('sei2'),
          properties: [
            [Prop.SessionExpiryInterval, 1],
            [Prop.SessionExpiryInterval, 2],
          ],
        }),
      },
    );
    for (const { name, version, bytes } of CONNECTS) {
      it(`${name}: closed without a successful CONNACK; others keep working`, async () => {
        const topic = uid('alive');
        const bystander = await client(ctx.port, version);
        await bystander.subscribe(topic);
        const bad = await RawClient.connect(ctx.port, { version });
        bad.send(bytes);
        // [MQTT-3.1.4-1] 3.1.1: close without CONNACK; 5.0 MAY send CONNACK 0x80–0x9x first.
        await expectConnectRefused(bad, version === 5 ? [0x80, 0x81, 0x82, 0x85, 0x8f, 0x90] : []);
        const pub = await client(ctx.port, version);
        pub.publish({ topic, payload: 'ok' });
        expect((await bystander.expectPacket('publish')).text).toBe('ok');
      });
    }
  });
});
