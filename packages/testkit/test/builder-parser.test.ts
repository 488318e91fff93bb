/**
 * Cross-checks the testkit's own builder and parser against an independent codec
 * (mqtt-packet) and against byte sequences from the spec, so the conformance suite
 * rests on something verified.
 */
import * as mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  connect,
  disconnect,
  fromHex,
  getProp,
  getProps,
  parsePacket,
  Prop,
  pingreq,
  publish,
  puback,
  pubrel,
  splitPackets,
  subscribe,
  unsubscribe,
  varint,
} from '../src/index.js';

/** Parses bytes with mqtt-packet; exactly one packet expected. */
function theirParse(bytes: Uint8Array, protocolVersion: number): mqttPacket.Packet {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p: mqttPacket.Packet) => packets.push(p));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(Buffer.from(bytes));
  expect(errors).toEqual([]);
  expect(packets).toHaveLength(1);
  return packets[0]!;
}

describe('byte helpers', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, '80 01'],
    [16_383, 'ff 7f'],
    [16_384, '80 80 01'],
    [268_435_455, 'ff ff ff 7f'],
  ])('varint(%i) is %s (spec table 2.4 / 1.5.5)', (value, hex) => {
    expect(varint(value)).toEqual(fromHex(hex));
  });
});

describe('builder, read back by mqtt-packet', () => {
  it('3.1.1 CONNECT with will, user name and password', () => {
    const bytes = connect({
      version: 4,
      clientId: 'cid',
      clean: false,
      keepAlive: 30,
      will: { topic: 'w/t', payload: 'bye', qos: 1, retain: true },
      username: 'u',
      password: 'p',
    });
    expect(theirParse(bytes, 4)).toMatchObject({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'cid',
      clean: false,
      keepalive: 30,
      will: { topic: 'w/t', qos: 1, retain: true },
      username: 'u',
    });
  });

  it('3.1 CONNECT uses MQIsdp / level 3', () => {
    const bytes = connect({ version: 3, clientId: 'old' });
    expect(theirParse(bytes, 3)).toMatchObject({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old', clean: true });
  });

  it('5.0 CONNECT with properties and will properties', () => {
    const bytes = connect({
      version: 5,
      clientId: 'v5',
      properties: [
        [Prop.SessionExpiryInterval, 120],
        [Prop.ReceiveMaximum, 10],
        [Prop.UserProperty, ['k', 'v']],
      ],
      will: { topic: 'w', payload: 'x', properties: [[Prop.WillDelayInterval, 5]] },
    });
    const packet = theirParse(bytes, 5) as mqttPacket.IConnectPacket;
    expect(packet.properties).toMatchObject({ sessionExpiryInterval: 120, receiveMaximum: 10, userProperties: { k: 'v' } });
    expect(packet.will?.properties).toMatchObject({ willDelayInterval: 5 });
  });

  it('5.0 PUBLISH QoS 2 with DUP, retain and properties', () => {
    const bytes = publish({
      version: 5,
      topic: 'a/b',
      payload: 'hello',
      qos: 2,
      dup: true,
      retain: true,
      packetId: 513,
      properties: [
        [Prop.TopicAlias, 3],
        [Prop.CorrelationData, new Uint8Array([9, 8])],
      ],
    });
    const packet = theirParse(bytes, 5) as mqttPacket.IPublishPacket;
    expect(packet).toMatchObject({ cmd: 'publish', topic: 'a/b', qos: 2, dup: true, retain: true, messageId: 513 });
    expect(packet.properties).toMatchObject({ topicAlias: 3 });
    expect(Buffer.from(packet.payload as Buffer).toString()).toBe('hello');
  });

  it('SUBSCRIBE with 5.0 options, UNSUBSCRIBE, acks, PINGREQ, DISCONNECT', () => {
    const sub = theirParse(
      subscribe({
        version: 5,
        packetId: 7,
        subscriptions: [{ filter: 'x/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
        properties: [[Prop.SubscriptionIdentifier, 300]],
      }),
      5,
    ) as mqttPacket.ISubscribePacket;
    expect(sub.messageId).toBe(7);
    expect(sub.subscriptions[0]).toMatchObject({ topic: 'x/#', qos: 1, nl: true, rap: true, rh: 2 });
    expect(sub.properties).toMatchObject({ subscriptionIdentifier: 300 });
    expect(theirParse(unsubscribe({ version: 4, packetId: 8, filters: ['a', 'b'] }), 4)).toMatchObject({ cmd: 'unsubscribe', messageId: 8, unsubscriptions: ['a', 'b'] });
    expect(theirParse(puback(9), 4)).toMatchObject({ cmd: 'puback', messageId: 9 });
    expect(theirParse(pubrel(10, { version: 5, reasonCode: 0x92 }), 5)).toMatchObject({ cmd: 'pubrel', messageId: 10, reasonCode: 0x92 });
    expect(theirParse(pingreq(), 4)).toMatchObject({ cmd: 'pingreq' });
    expect(theirParse(disconnect({ version: 5, reasonCode: 0x04 }), 5)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x04 });
  });
});

describe('parser, reading what mqtt-packet generates', () => {
  it('3.1.1 CONNACK matches the spec bytes 20 02 01 00', () => {
    const bytes = mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: true });
    expect(Array.from(bytes)).toEqual([0x20, 0x02, 0x01, 0x00]);
    expect(parsePacket(bytes, 4)).toMatchObject({ type: 'connack', sessionPresent: true, reasonCode: 0 });
  });

  it('5.0 CONNACK with properties', () => {
    const bytes = mqttPacket.generate(
      { cmd: 'connack', reasonCode: 0, sessionPresent: false, properties: { topicAliasMaximum: 10, assignedClientIdentifier: 'gen-1', serverKeepAlive: 20 } },
      { protocolVersion: 5 },
    );
    const packet = parsePacket(bytes, 5);
    if (packet.type !== 'connack') throw new Error('not a connack');
    expect(getProp(packet.properties, Prop.TopicAliasMaximum)).toBe(10);
    expect(getProp(packet.properties, Prop.AssignedClientIdentifier)).toBe('gen-1');
    expect(getProp(packet.properties, Prop.ServerKeepAlive)).toBe(20);
  });

  it('5.0 PUBLISH with user properties and subscription identifiers', () => {
    const bytes = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: 't/1',
        payload: Buffer.from('body'),
        qos: 1,
        messageId: 44,
        dup: false,
        retain: true,
        properties: { userProperties: { a: '1' }, subscriptionIdentifier: [3, 4] },
      },
      { protocolVersion: 5 },
    );
    const packet = parsePacket(bytes, 5);
    expect(packet).toMatchObject({ type: 'publish', topic: 't/1', text: 'body', qos: 1, packetId: 44, retain: true, dup: false });
    if (packet.type !== 'publish') throw new Error('not a publish');
    expect(getProps(packet.properties, Prop.SubscriptionIdentifier)).toEqual([3, 4]);
    expect(getProps(packet.properties, Prop.UserProperty)).toEqual([['a', '1']]);
  });

  it('SUBACK, UNSUBACK (3.1.1 and 5.0) and DISCONNECT', () => {
    expect(parsePacket(mqttPacket.generate({ cmd: 'suback', messageId: 3, granted: [0, 1, 128] }), 4)).toMatchObject({
      type: 'suback',
      packetId: 3,
      reasonCodes: [0, 1, 0x80],
    });
    expect(parsePacket(mqttPacket.generate({ cmd: 'unsuback', messageId: 4 } as mqttPacket.IUnsubackPacket), 4)).toMatchObject({ type: 'unsuback', packetId: 4, reasonCodes: [] });
    const unsuback5 = mqttPacket.generate({ cmd: 'unsuback', messageId: 5, granted: [0, 0x11] } as mqttPacket.IUnsubackPacket, { protocolVersion: 5 });
    expect(parsePacket(unsuback5, 5)).toMatchObject({ type: 'unsuback', packetId: 5, reasonCodes: [0, 0x11] });
    const disconnect5 = mqttPacket.generate({ cmd: 'disconnect', reasonCode: 0x8e }, { protocolVersion: 5 });
    expect(parsePacket(disconnect5, 5)).toMatchObject({ type: 'disconnect', reasonCode: 0x8e });
  });

  it('splitPackets frames packets across arbitrary chunk boundaries', () => {
    const stream = Buffer.concat([
      mqttPacket.generate({ cmd: 'pingresp' }),
      mqttPacket.generate({ cmd: 'publish', topic: 'x', payload: Buffer.alloc(300, 1), qos: 0, dup: false, retain: false }),
      mqttPacket.generate({ cmd: 'puback', messageId: 1 }),
    ]);
    let rest: Uint8Array = new Uint8Array(0);
    const types: string[] = [];
    for (let i = 0; i < stream.length; i += 7) {
      const next = new Uint8Array(rest.length + Math.min(7, stream.length - i));
      next.set(rest);
      next.set(stream.subarray(i, i + 7), rest.length);
      const split = splitPackets(next);
      rest = split.rest;
      for (const raw of split.packets) types.push(parsePacket(raw).type);
    }
    expect(types).toEqual(['pingresp', 'publish', 'puback']);
    expect(rest.length).toBe(0);
  });
});
