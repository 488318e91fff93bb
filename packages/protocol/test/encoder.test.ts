import { describe, expect, it } from 'vitest';
import {
  type ConnackReasonCode,
  Decoder,
  type DisconnectReasonCode,
  EncodeError,
  encode,
  encodedLength,
  encodeInto,
  type Packet,
  type ProtocolVersion,
  type PublishPacket,
  setPublishDup,
  setPublishPacketId,
} from '../src/index.js';
import { hex, toHex, utf8 } from './helpers.js';

const publish = (over: Partial<PublishPacket> = {}): PublishPacket => ({
  type: 'publish',
  topic: 't',
  payload: utf8('x'),
  qos: 0,
  retain: false,
  dup: false,
  ...over,
});

function encodeError(packet: Packet, version: ProtocolVersion): EncodeError | undefined {
  try {
    encode(packet, version);
  } catch (e) {
    if (e instanceof EncodeError) return e;
    throw e;
  }
  return undefined;
}

describe('EncodeError for packets that cannot be encoded', () => {
  const cases: [string, Packet, ProtocolVersion][] = [
    ['QoS 1 PUBLISH without packet id [MQTT-2.2.1-3]', publish({ qos: 1 }), 4],
    ['QoS 2 PUBLISH with packet id 0', publish({ qos: 2, packetId: 0 }), 5],
    ['packet id 65536', { type: 'puback', packetId: 65536 }, 4],
    ['QoS 3', publish({ qos: 3 as 0 }), 4],
    ['DUP on QoS 0 [MQTT-3.3.1-2]', publish({ dup: true }), 4],
    ['wildcard in a topic name [MQTT-3.3.2-2]', publish({ topic: 'a/+' }), 4],
    ['# in a topic name', publish({ topic: '#' }), 5],
    ['empty topic in 3.1.1 [MQTT-4.7.3-1]', publish({ topic: '' }), 4],
    ['empty topic without alias in 5.0', publish({ topic: '' }), 5],
    ['topic longer than 65,535 bytes', publish({ topic: 'a'.repeat(65_536) }), 4],
    ['topic with U+0000 [MQTT-1.5.4-2]', publish({ topic: 'a\u0000b' }), 4],
    ['topic with a lone surrogate [MQTT-1.5.4-1]', publish({ topic: 'a\ud800b' }), 4],
    ['property not allowed in PUBLISH (session expiry)', publish({ properties: { sessionExpiryInterval: 1 } }), 5],
    ['property not allowed in PUBACK (topic alias)', { type: 'puback', packetId: 1, properties: { topicAlias: 1 } }, 5],
    ['will delay interval on CONNECT itself', { type: 'connect', protocolVersion: 5, clientId: '', cleanStart: true, keepAlive: 0, properties: { willDelayInterval: 1 } }, 5],
    ['unknown property name', publish({ properties: { bogus: 1 } as never }), 5],
    ['topic alias 0', publish({ properties: { topicAlias: 0 } }), 5],
    ['receive maximum 0', { type: 'connect', protocolVersion: 5, clientId: '', cleanStart: true, keepAlive: 0, properties: { receiveMaximum: 0 } }, 5],
    ['maximum QoS 2', { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumQoS: 2 } }, 5],
    ['message expiry interval above 2^32-1', publish({ properties: { messageExpiryInterval: 2 ** 32 } }), 5],
    ['subscription identifier 0', publish({ properties: { subscriptionIdentifiers: [0] } }), 5],
    ['subscription identifier above 268,435,455', publish({ properties: { subscriptionIdentifiers: [268_435_456] } }), 5],
    [
      'two subscription identifiers on SUBSCRIBE',
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0 }], properties: { subscriptionIdentifiers: [1, 2] } },
      5,
    ],
    ['user property value longer than 65,535 bytes', publish({ properties: { userProperties: [['k', 'v'.repeat(65_536)]] } }), 5],
    ['correlation data longer than 65,535 bytes', publish({ properties: { correlationData: new Uint8Array(65_536) } }), 5],
    ['SUBSCRIBE with no subscription [MQTT-3.8.3-3]', { type: 'subscribe', packetId: 1, subscriptions: [] }, 4],
    ['SUBSCRIBE with an empty filter', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '', qos: 0 }] }, 4],
    ['SUBSCRIBE retain handling 3', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0, retainHandling: 3 as 0 }] }, 5],
    [
      'SUBSCRIBE no local on a shared subscription [MQTT-3.8.3-4]',
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$share/g/t', qos: 0, noLocal: true }] },
      5,
    ],
    ['UNSUBSCRIBE with no filter [MQTT-3.10.3-2]', { type: 'unsubscribe', packetId: 1, topicFilters: [] }, 4],
    ['SUBACK 3.1.1 return code 0x87', { type: 'suback', packetId: 1, reasonCodes: [0x87] }, 4],
    ['SUBACK 5.0 reason code 0x11', { type: 'suback', packetId: 1, reasonCodes: [0x11] }, 5],
    ['UNSUBACK 5.0 without reason codes', { type: 'unsuback', packetId: 1 }, 5],
    ['PUBACK 5.0 reason 0x92', { type: 'puback', packetId: 1, reasonCode: 0x92 }, 5],
    ['DISCONNECT 5.0 reason 0x05', { type: 'disconnect', reasonCode: 0x05 as DisconnectReasonCode }, 5],
    ['AUTH in 3.1.1', { type: 'auth' }, 4],
    ['CONNACK 3.1.1 return code 6', { type: 'connack', sessionPresent: false, reasonCode: 6 as ConnackReasonCode }, 4],
    ['CONNACK session present with a refusal [MQTT-3.2.2-4]', { type: 'connack', sessionPresent: true, reasonCode: 5 }, 4],
    ['CONNECT version differs from the encoding version', { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepAlive: 0 }, 5],
    ['CONNECT password without user name in 3.1.1 [MQTT-3.1.2-22]', { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepAlive: 0, password: utf8('p') }, 4],
    ['CONNECT keep alive 65536', { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepAlive: 65_536 }, 4],
    [
      'CONNECT will topic with a wildcard',
      { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepAlive: 0, will: { topic: 'a/#', payload: utf8(''), qos: 0, retain: false } },
      4,
    ],
    ['unsupported version 6', publish(), 6 as ProtocolVersion],
  ];
  for (const [name, packet, version] of cases) {
    it(`${name} (v${version})`, () => {
      expect(encodeError(packet, version)).toBeInstanceOf(EncodeError);
    });
  }

  it('a body above 268,435,455 bytes cannot be framed (0x95)', () => {
    const e = encodeError(publish({ payload: new Uint8Array(268_435_455) }), 4);
    expect(e).toBeInstanceOf(EncodeError);
    expect(e?.reasonCode).toBe(0x95);
  });
});

describe('encodedLength, encode, encodeInto', () => {
  const packets: [Packet, ProtocolVersion][] = [
    [publish({ qos: 1, packetId: 3, payload: new Uint8Array(300) }), 4],
    [publish({ properties: { userProperties: [['é', '😀']] } }), 5],
    [{ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'a/#', qos: 2 }] }, 5],
    [{ type: 'pingreq' }, 3],
  ];
  for (const [packet, version] of packets) {
    it(`agree for ${packet.type} v${version}`, () => {
      const bytes = encode(packet, version);
      expect(encodedLength(packet, version)).toBe(bytes.length);
      const target = new Uint8Array(bytes.length + 10).fill(0xee);
      const n = encodeInto(packet, version, target, 7 - 2);
      expect(n).toBe(bytes.length);
      expect(toHex(target.subarray(5, 5 + n))).toBe(toHex(bytes));
      expect(target[4]).toBe(0xee);
      expect(target[5 + n]).toBe(0xee);
    });
  }

  it('encodeInto refuses a target without room', () => {
    expect(() => encodeInto({ type: 'pingreq' }, 4, new Uint8Array(3), 2)).toThrow(EncodeError);
  });

  it('encoded views from the shared slab do not overlap', () => {
    const a = encode(publish({ payload: utf8('aaaa') }), 4);
    const b = encode(publish({ payload: utf8('bbbb') }), 4);
    expect(toHex(a)).toBe('3007000174' + '61616161');
    expect(toHex(b)).toBe('3007000174' + '62626262');
  });

  it('packets above the pooling size get their own buffer', () => {
    const big = encode(publish({ payload: new Uint8Array(20_000).fill(7) }), 4);
    expect(big.byteOffset).toBe(0);
    expect(big.length).toBe(1 + 3 + 3 + 20_000);
    expect(big[big.length - 1]).toBe(7);
  });

  it('accepts a Node Buffer as payload and as decoder input', () => {
    const bytes = encode(publish({ payload: Buffer.from('buf') }), 4);
    const d = new Decoder({ protocolVersion: 4 });
    d.push(Buffer.from(bytes));
    const p = d.next() as PublishPacket;
    expect(Array.from(p.payload)).toEqual(Array.from(utf8('buf')));
  });
});

describe('patching encoded PUBLISH packets', () => {
  it('setPublishPacketId rewrites the id after the topic (1-byte and 2-byte remaining length)', () => {
    for (const size of [1, 500]) {
      const bytes = encode(publish({ qos: 1, packetId: 1, topic: 'a/b', payload: new Uint8Array(size) }), 4);
      setPublishPacketId(bytes, 0xbeef);
      const d = new Decoder({ protocolVersion: 4 });
      d.push(bytes);
      expect((d.next() as PublishPacket).packetId).toBe(0xbeef);
    }
  });

  it('setPublishPacketId works on 5.0 encodings (id precedes properties)', () => {
    const bytes = encode(publish({ qos: 2, packetId: 9, properties: { topicAlias: 4 } }), 5);
    setPublishPacketId(bytes, 10);
    const d = new Decoder({ protocolVersion: 5 });
    d.push(bytes);
    expect(d.next()).toMatchObject({ packetId: 10, properties: { topicAlias: 4 } });
  });

  it('setPublishDup sets and clears DUP on QoS > 0 only [MQTT-3.3.1-2]', () => {
    const bytes = encode(publish({ qos: 1, packetId: 1 }), 4);
    setPublishDup(bytes, true);
    expect(bytes[0]).toBe(0x3a);
    setPublishDup(bytes, false);
    expect(bytes[0]).toBe(0x32);
    expect(() => setPublishDup(encode(publish(), 4), true)).toThrow(EncodeError);
  });

  it('refuse non-PUBLISH or QoS 0 input', () => {
    expect(() => setPublishPacketId(hex('40 02 0001'), 2)).toThrow(EncodeError);
    expect(() => setPublishPacketId(encode(publish(), 4), 2)).toThrow(EncodeError);
    expect(() => setPublishPacketId(encode(publish({ qos: 1, packetId: 1 }), 4), 0)).toThrow(EncodeError);
  });
});
