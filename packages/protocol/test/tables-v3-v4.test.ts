/**
 * Packet object ↔ bytes, both directions, for MQTT 3.1 (level 3) and 3.1.1 (level 4).
 * Vectors are written by hand from the specs; comments name the fields.
 */
import { describe, expect, it } from 'vitest';
import { encode, type Packet, type ProtocolVersion } from '../src/index.js';
import { decodeOne, hex, toHex, utf8 } from './helpers.js';

interface Row {
  name: string;
  version: ProtocolVersion;
  bytes: string;
  packet: Packet;
}

const rows: Row[] = [
  {
    name: 'CONNECT 3.1.1 minimal, clean session [MQTT-3.1.2-4]',
    version: 4,
    // 10 type 1 | rl 13 | "MQTT" | level 4 | flags: clean | keep alive 60 | client id "c"
    bytes: '10 0d | 0004 4d515454 | 04 | 02 | 003c | 0001 63',
    packet: { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepAlive: 60 },
  },
  {
    name: 'CONNECT 3.1 uses protocol name MQIsdp level 3',
    version: 3,
    // rl 15 | "MQIsdp" | level 3 | flags 0 | keep alive 0 | client id "c"
    bytes: '10 0f | 0006 4d5149736470 | 03 | 00 | 0000 | 0001 63',
    packet: { type: 'connect', protocolVersion: 3, clientId: 'c', cleanStart: false, keepAlive: 0 },
  },
  {
    name: 'CONNECT 3.1.1 with will (QoS 1, retain), user name and password',
    version: 4,
    // flags ee = user 80 | password 40 | will retain 20 | will QoS 1 08 | will 04 | clean 02
    // keep alive 10 | client "id" | will topic "t" | will payload "by" | user "u" | password "p"
    bytes: '10 1b | 0004 4d515454 | 04 | ee | 000a | 0002 6964 | 0001 74 | 0002 6279 | 0001 75 | 0001 70',
    packet: {
      type: 'connect',
      protocolVersion: 4,
      clientId: 'id',
      cleanStart: true,
      keepAlive: 10,
      will: { topic: 't', payload: utf8('by'), qos: 1, retain: true },
      username: 'u',
      password: utf8('p'),
    },
  },
  {
    name: 'CONNECT 3.1.1 empty client id, will QoS 2 not retained, user name only',
    version: 4,
    // flags 96 = user 80 | will QoS 2 10 | will 04 | clean 02
    bytes: '10 19 | 0004 4d515454 | 04 | 96 | ffff | 0000 | 0003 612f62 | 0000 | 0004 75736572',
    packet: {
      type: 'connect',
      protocolVersion: 4,
      clientId: '',
      cleanStart: true,
      keepAlive: 65535,
      will: { topic: 'a/b', payload: new Uint8Array(0), qos: 2, retain: false },
      username: 'user',
    },
  },
  {
    name: 'CONNACK 3.1.1 session present, accepted',
    version: 4,
    bytes: '20 02 | 01 | 00',
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
  },
  {
    name: 'CONNACK 3.1.1 refused: not authorized (5)',
    version: 4,
    bytes: '20 02 | 00 | 05',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
  },
  {
    name: 'CONNACK 3.1 identifier rejected (2)',
    version: 3,
    bytes: '20 02 | 00 | 02',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 2 },
  },
  {
    name: 'PUBLISH QoS 0 "a/b" "hello"',
    version: 4,
    bytes: '30 0a | 0003 612f62 | 68656c6c6f',
    packet: { type: 'publish', topic: 'a/b', payload: utf8('hello'), qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH QoS 1 DUP retain, packet id 7',
    version: 4,
    // 3b = PUBLISH | DUP 08 | QoS 1 02 | RETAIN 01
    bytes: '3b 09 | 0003 612f62 | 0007 | 6869',
    packet: { type: 'publish', topic: 'a/b', payload: utf8('hi'), qos: 1, retain: true, dup: true, packetId: 7 },
  },
  {
    name: 'PUBLISH QoS 2 empty payload, packet id 65535',
    version: 3,
    bytes: '34 05 | 0001 78 | ffff',
    packet: { type: 'publish', topic: 'x', payload: new Uint8Array(0), qos: 2, retain: false, dup: false, packetId: 65535 },
  },
  {
    name: 'PUBLISH with multi-byte UTF-8 topic (é, 😀)',
    version: 4,
    // "é/😀" = c3a9 2f f09f9880 (7 bytes)
    bytes: '30 0a | 0007 c3a92ff09f9880 | 01',
    packet: { type: 'publish', topic: 'é/😀', payload: new Uint8Array([1]), qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH keeps a leading BOM U+FEFF [MQTT-1.5.4-3]',
    version: 4,
    bytes: '30 06 | 0004 efbbbf61',
    packet: { type: 'publish', topic: '\ufeffa', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
  },
  { name: 'PUBACK', version: 4, bytes: '40 02 | 0001', packet: { type: 'puback', packetId: 1 } },
  { name: 'PUBREC', version: 4, bytes: '50 02 | 1234', packet: { type: 'pubrec', packetId: 0x1234 } },
  { name: 'PUBREL flags 0010 [MQTT-3.6.1-1]', version: 4, bytes: '62 02 | ffff', packet: { type: 'pubrel', packetId: 65535 } },
  { name: 'PUBCOMP', version: 4, bytes: '70 02 | 0002', packet: { type: 'pubcomp', packetId: 2 } },
  { name: 'PUBREL 3.1', version: 3, bytes: '62 02 | 0003', packet: { type: 'pubrel', packetId: 3 } },
  {
    name: 'SUBSCRIBE two filters, flags 0010 [MQTT-3.8.1-1]',
    version: 4,
    // packet id 10 | "a/+" QoS 1 | "#" QoS 2
    bytes: '82 0c | 000a | 0003 612f2b 01 | 0001 23 02',
    packet: {
      type: 'subscribe',
      packetId: 10,
      subscriptions: [
        { topicFilter: 'a/+', qos: 1 },
        { topicFilter: '#', qos: 2 },
      ],
    },
  },
  {
    name: 'SUBACK granted QoS 0, 2 and failure 0x80',
    version: 4,
    bytes: '90 05 | 000a | 00 02 80',
    packet: { type: 'suback', packetId: 10, reasonCodes: [0, 2, 0x80] },
  },
  {
    name: 'UNSUBSCRIBE two filters, flags 0010 [MQTT-3.10.1-1]',
    version: 4,
    bytes: 'a2 0b | 000b | 0003 612f2b | 0002 2f23',
    packet: { type: 'unsubscribe', packetId: 11, topicFilters: ['a/+', '/#'] },
  },
  { name: 'UNSUBACK', version: 4, bytes: 'b0 02 | 000b', packet: { type: 'unsuback', packetId: 11 } },
  { name: 'PINGREQ', version: 4, bytes: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP', version: 3, bytes: 'd0 00', packet: { type: 'pingresp' } },
  { name: 'DISCONNECT', version: 4, bytes: 'e0 00', packet: { type: 'disconnect' } },
];

describe('3.1 / 3.1.1 packets: object → bytes', () => {
  for (const row of rows) {
    it(`encodes ${row.name} (v${row.version})`, () => {
      expect(toHex(encode(row.packet, row.version))).toBe(toHex(hex(row.bytes)));
    });
  }
});

describe('3.1 / 3.1.1 packets: bytes → object', () => {
  for (const row of rows) {
    it(`decodes ${row.name} (v${row.version})`, () => {
      expect(decodeOne(hex(row.bytes), row.version)).toEqual(row.packet);
    });
  }
});

describe('3.x details', () => {
  it('a 3.1.1 packet with a 2-byte remaining length (200-byte payload)', () => {
    const payload = new Uint8Array(200).fill(0x41);
    // rl = 2 + 1 + 200 = 203 = 0xcb 0x01
    const bytes = hex(`30 cb01 0001 74 ${'41'.repeat(200)}`);
    const packet: Packet = { type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false };
    expect(toHex(encode(packet, 4))).toBe(toHex(bytes));
    expect(decodeOne(bytes, 4)).toEqual(packet);
  });

  it('ignores 5.0-only fields when encoding for 3.1.1 (properties, ack reason codes)', () => {
    const bytes = encode({ type: 'puback', packetId: 1, reasonCode: 0x10, properties: { reasonString: 'x' } }, 4);
    expect(toHex(bytes)).toBe('40020001');
    const sub = encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1, noLocal: true, retainHandling: 2 }] }, 4);
    expect(toHex(sub)).toBe('8206000100017401');
  });

  it('a 3.1 CONNACK is sent without the session present flag (the byte is unused in 3.1)', () => {
    expect(toHex(encode({ type: 'connack', sessionPresent: true, reasonCode: 0 }, 3))).toBe('20020000');
  });

  it('3.1 accepts a DUP flag on PUBREL/SUBSCRIBE/UNSUBSCRIBE retransmissions', () => {
    expect(decodeOne(hex('6a 02 0003'), 3)).toEqual({ type: 'pubrel', packetId: 3 });
    expect(decodeOne(hex('8a 06 0001 0001 74 00'), 3)).toEqual({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0 }] });
  });

  it('3.1 rejects a password without a user name, like 3.1.1 [MQTT-3.1.2-22]', () => {
    // flags 42 = password 40 | clean 02
    const bytes = hex('10 12 | 0006 4d5149736470 | 03 | 42 | 0000 | 0001 63 | 0001 70');
    expect(() => decodeOne(bytes, undefined)).toThrow(/password/);
  });

  it('3.1 CONNECT may set reserved connect flag bit 0 (only 3.1.1 and 5.0 reserve it)', () => {
    const bytes = hex('10 0f | 0006 4d5149736470 | 03 | 03 | 0000 | 0001 63');
    expect(decodeOne(bytes, undefined)).toEqual({ type: 'connect', protocolVersion: 3, clientId: 'c', cleanStart: true, keepAlive: 0 });
  });

  it('accepts a non-minimal remaining length in 3.1.1 (only 5.0 requires minimal [MQTT-1.5.5-1])', () => {
    expect(decodeOne(hex('c0 8000'), 4)).toEqual({ type: 'pingreq' });
  });
});
