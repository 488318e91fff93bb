/**
 * Packet object ↔ bytes, both directions, for MQTT 5.0, with every property at least
 * once. `frame()` only adds the remaining length; the fields are written by hand.
 */
import { describe, expect, it } from 'vitest';
import { encode, type Packet } from '../src/index.js';
import { decodeOne, frame, hex, props, str, toHex, utf8 } from './helpers.js';

interface Row {
  name: string;
  bytes: string;
  packet: Packet;
}

const MQTT5 = '0004 4d515454 05';

const rows: Row[] = [
  {
    name: 'CONNECT minimal: empty property block',
    // "MQTT" 5 | flags: clean | keep alive 60 | properties: length 0 | client "c"
    bytes: `10 0e ${MQTT5} 02 003c 00 0001 63`,
    packet: { type: 'connect', protocolVersion: 5, clientId: 'c', cleanStart: true, keepAlive: 60 },
  },
  {
    name: 'CONNECT with every CONNECT property',
    bytes: frame(
      '10',
      `${MQTT5} 00 0000`,
      props(
      '11 00000e10', // session expiry interval 3600
      '21 0014', // receive maximum 20
      '27 00010000', // maximum packet size 65536
      '22 000a', // topic alias maximum 10
      '19 01', // request response information 1
      '17 00', // request problem information 0
      `26 ${str('k')} ${str('v')}`, // user property k=v
      `26 ${str('k')} ${str('w')}`, // user property k=w (repeated, order kept)
      `15 ${str('SCRAM-SHA-1')}`, // authentication method
      '16 0003 010203', // authentication data
      ),
      str('client'),
    ),
    packet: {
      type: 'connect',
      protocolVersion: 5,
      clientId: 'client',
      cleanStart: false,
      keepAlive: 0,
      properties: {
        sessionExpiryInterval: 3600,
        receiveMaximum: 20,
        maximumPacketSize: 65536,
        topicAliasMaximum: 10,
        requestResponseInformation: true,
        requestProblemInformation: false,
        userProperties: [
          ['k', 'v'],
          ['k', 'w'],
        ],
        authenticationMethod: 'SCRAM-SHA-1',
        authenticationData: new Uint8Array([1, 2, 3]),
      },
    },
  },
  {
    name: 'CONNECT with will and every will property, user name, password without user name allowed in 5.0',
    bytes: frame(
      '10',
      // flags 6e = password 40 | will retain 20 | will QoS 1 08 | will 04 | clean 02
      `${MQTT5} 6e 0005 00`,
      str('w1'),
      props(
      '18 0000003c', // will delay interval 60
      '01 01', // payload format indicator 1 (UTF-8)
      '02 00000078', // message expiry interval 120
      `03 ${str('text/plain')}`, // content type
      `08 ${str('reply/to')}`, // response topic
      '09 0002 abcd', // correlation data
      `26 ${str('a')} ${str('b')}`, // user property
      ),
      str('will/topic'),
      str('gone'),
      '0003 736563', // password "sec"
    ),
    packet: {
      type: 'connect',
      protocolVersion: 5,
      clientId: 'w1',
      cleanStart: true,
      keepAlive: 5,
      will: {
        topic: 'will/topic',
        payload: utf8('gone'),
        qos: 1,
        retain: true,
        properties: {
          willDelayInterval: 60,
          payloadFormatIndicator: 1,
          messageExpiryInterval: 120,
          contentType: 'text/plain',
          responseTopic: 'reply/to',
          correlationData: new Uint8Array([0xab, 0xcd]),
          userProperties: [['a', 'b']],
        },
      },
      password: utf8('sec'),
    },
  },
  {
    name: 'CONNACK success, no properties (property length 0 is required)',
    bytes: '20 03 00 00 00',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0 },
  },
  {
    name: 'CONNACK refused 0x87 Not authorized',
    bytes: '20 03 00 87 00',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x87 },
  },
  {
    name: 'CONNACK with every CONNACK property',
    bytes: frame(
      '20',
      '01 00', // session present, success
      props(
      '11 0000003c', // session expiry interval 60
      '21 0100', // receive maximum 256
      '24 01', // maximum QoS 1
      '25 00', // retain available 0
      '27 00100000', // maximum packet size 1 MB
      `12 ${str('auto-1')}`, // assigned client identifier
      '22 0005', // topic alias maximum 5
      `1f ${str('welcome')}`, // reason string
      `26 ${str('x')} ${str('y')}`, // user property
      '28 01', // wildcard subscription available
      '29 00', // subscription identifiers available
      '2a 01', // shared subscription available
      '13 001e', // server keep alive 30
      `1a ${str('resp/')}`, // response information
      `1c ${str('other:1883')}`, // server reference
      `15 ${str('PLAIN')}`, // authentication method
      '16 0004 00010203', // authentication data
      ),
    ),
    packet: {
      type: 'connack',
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 60,
        receiveMaximum: 256,
        maximumQoS: 1,
        retainAvailable: false,
        maximumPacketSize: 0x100000,
        assignedClientIdentifier: 'auto-1',
        topicAliasMaximum: 5,
        reasonString: 'welcome',
        userProperties: [['x', 'y']],
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: true,
        serverKeepAlive: 30,
        responseInformation: 'resp/',
        serverReference: 'other:1883',
        authenticationMethod: 'PLAIN',
        authenticationData: new Uint8Array([0, 1, 2, 3]),
      },
    },
  },
  {
    name: 'PUBLISH QoS 0, no properties',
    bytes: '30 08 | 0003 612f62 | 00 | 6869',
    packet: { type: 'publish', topic: 'a/b', payload: utf8('hi'), qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH QoS 1 with every PUBLISH property, two subscription identifiers',
    bytes: frame(
      '33', // QoS 1, retain
      str('t/1'),
      '0009', // packet id
      props(
      '01 00', // payload format indicator 0
      '02 0000012c', // message expiry interval 300
      '23 0003', // topic alias 3
      `08 ${str('resp')}`, // response topic
      '09 0001 ff', // correlation data
      `26 ${str('k1')} ${str('v1')}`, // user property
      `26 ${str('k2')} ${str('v2')}`, // user property
      '0b 01', // subscription identifier 1
      '0b ffffff7f', // subscription identifier 268,435,455 (4-byte varint)
      `03 ${str('application/json')}`, // content type
      ),
      '7b7d', // payload "{}"
    ),
    packet: {
      type: 'publish',
      topic: 't/1',
      payload: utf8('{}'),
      qos: 1,
      retain: true,
      dup: false,
      packetId: 9,
      properties: {
        payloadFormatIndicator: 0,
        messageExpiryInterval: 300,
        topicAlias: 3,
        responseTopic: 'resp',
        correlationData: new Uint8Array([0xff]),
        userProperties: [
          ['k1', 'v1'],
          ['k2', 'v2'],
        ],
        subscriptionIdentifiers: [1, 268_435_455],
        contentType: 'application/json',
      },
    },
  },
  {
    name: 'PUBLISH with an empty topic and a topic alias',
    bytes: '30 07 | 0000 | 03 23 0001 | 78',
    packet: { type: 'publish', topic: '', payload: utf8('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } },
  },
  {
    name: 'PUBACK success: short form, remaining length 2 (spec 3.4.2.1)',
    bytes: '40 02 0005',
    packet: { type: 'puback', packetId: 5, reasonCode: 0 },
  },
  {
    name: 'PUBACK 0x10 No matching subscribers: remaining length 3, no property length',
    bytes: '40 03 0005 10',
    packet: { type: 'puback', packetId: 5, reasonCode: 0x10 },
  },
  {
    name: 'PUBACK with reason string and user property',
    bytes: frame('40', '0005 87', props(`1f ${str('no')}`, `26 ${str('a')} ${str('b')}`)),
    packet: { type: 'puback', packetId: 5, reasonCode: 0x87, properties: { reasonString: 'no', userProperties: [['a', 'b']] } },
  },
  {
    name: 'PUBREC 0x80 with reason string',
    bytes: frame('50', '0006 80', props(`1f ${str('ab')}`)),
    packet: { type: 'pubrec', packetId: 6, reasonCode: 0x80, properties: { reasonString: 'ab' } },
  },
  {
    name: 'PUBREL 0x92 Packet Identifier not found, short form',
    bytes: '62 03 0007 92',
    packet: { type: 'pubrel', packetId: 7, reasonCode: 0x92 },
  },
  {
    name: 'PUBCOMP success with a user property',
    bytes: frame('70', '0008 00', props(`26 ${str('a')} ${str('')}`)),
    packet: { type: 'pubcomp', packetId: 8, reasonCode: 0, properties: { userProperties: [['a', '']] } },
  },
];

rows.push({
  name: 'SUBSCRIBE with every option combination and a subscription identifier',
  bytes: frame(
    '82',
    '000c', // packet id 12
    '03 0b 8001', // properties: length 3, subscription identifier 128 (2-byte varint)
    `${str('a/+')} 00`, // QoS 0, all options off
    `${str('b/#')} 2d`, // 2d = retain handling 2 (20) | retain as published 08 | no local 04 | QoS 1
    `${str('c')} 1a`, // 1a = retain handling 1 (10) | retain as published 08 | QoS 2
  ),
  packet: {
    type: 'subscribe',
    packetId: 12,
    properties: { subscriptionIdentifiers: [128] },
    subscriptions: [
      { topicFilter: 'a/+', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      { topicFilter: 'b/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
      { topicFilter: 'c', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 1 },
    ],
  },
});

rows.push(
  {
    name: 'SUBSCRIBE with a user property',
    bytes: frame('82', '0001', props(`26 ${str('u')} ${str('p')}`), `${str('t')} 01`),
    packet: {
      type: 'subscribe',
      packetId: 1,
      properties: { userProperties: [['u', 'p']] },
      subscriptions: [{ topicFilter: 't', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    },
  },
  {
    name: 'SUBACK with 5.0 reason codes and a reason string',
    bytes: frame('90', '000c', props(`1f ${str('x')}`), '00 01 02 80 8f 9e a1 a2'),
    packet: { type: 'suback', packetId: 12, reasonCodes: [0, 1, 2, 0x80, 0x8f, 0x9e, 0xa1, 0xa2], properties: { reasonString: 'x' } },
  },
  {
    name: 'UNSUBSCRIBE with a user property',
    bytes: frame('a2', '000d', props(`26 ${str('k')} ${str('v')}`), str('a/+'), str('$share/g/x')),
    packet: { type: 'unsubscribe', packetId: 13, topicFilters: ['a/+', '$share/g/x'], properties: { userProperties: [['k', 'v']] } },
  },
  {
    name: 'UNSUBACK with reason codes 0x00 and 0x11',
    bytes: 'b0 05 000d 00 00 11',
    packet: { type: 'unsuback', packetId: 13, reasonCodes: [0, 0x11] },
  },
  {
    name: 'UNSUBACK with a reason string',
    bytes: frame('b0', '000d', props(`1f ${str('n')}`), '87'),
    packet: { type: 'unsuback', packetId: 13, reasonCodes: [0x87], properties: { reasonString: 'n' } },
  },
  { name: 'PINGREQ', bytes: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP', bytes: 'd0 00', packet: { type: 'pingresp' } },
  {
    name: 'DISCONNECT normal: remaining length 0',
    bytes: 'e0 00',
    packet: { type: 'disconnect', reasonCode: 0 },
  },
  {
    name: 'DISCONNECT 0x04 with will message: remaining length 1',
    bytes: 'e0 01 04',
    packet: { type: 'disconnect', reasonCode: 4 },
  },
  {
    name: 'DISCONNECT with every DISCONNECT property',
    bytes: frame('e0', '9c', props('11 00000000', `1f ${str('moved')}`, `1c ${str('host:1')}`, `26 ${str('a')} ${str('b')}`)),
    packet: {
      type: 'disconnect',
      reasonCode: 0x9c,
      properties: { sessionExpiryInterval: 0, reasonString: 'moved', serverReference: 'host:1', userProperties: [['a', 'b']] },
    },
  },
  {
    name: 'AUTH success: remaining length 0',
    bytes: 'f0 00',
    packet: { type: 'auth', reasonCode: 0 },
  },
  {
    name: 'AUTH 0x18 continue authentication with every AUTH property',
    bytes: frame('f0', '18', props(`15 ${str('SCRAM')}`, '16 0002 0102', `1f ${str('more')}`, `26 ${str('a')} ${str('b')}`)),
    packet: {
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'SCRAM', authenticationData: new Uint8Array([1, 2]), reasonString: 'more', userProperties: [['a', 'b']] },
    },
  },
  {
    name: 'AUTH 0x19 re-authenticate with no properties: property length 0 is written',
    bytes: 'f0 02 19 00',
    packet: { type: 'auth', reasonCode: 0x19 },
  },
);

describe('5.0 packets: object → bytes', () => {
  for (const row of rows) {
    it(`encodes ${row.name}`, () => {
      expect(toHex(encode(row.packet, 5))).toBe(toHex(hex(row.bytes)));
    });
  }
});

describe('5.0 packets: bytes → object', () => {
  for (const row of rows) {
    it(`decodes ${row.name}`, () => {
      expect(decodeOne(hex(row.bytes), 5)).toEqual(row.packet);
    });
  }
});

describe('5.0 forms the encoder does not produce but the decoder accepts', () => {
  it('PUBACK with reason 0 and property length 0 (remaining length 4), as mqtt-packet sends (spec 3.4.2.2.1)', () => {
    expect(decodeOne(hex('40 04 0005 00 00'), 5)).toEqual({ type: 'puback', packetId: 5, reasonCode: 0 });
  });
  it('PUBACK 0x10 with property length 0, as mqtt-packet sends', () => {
    expect(decodeOne(hex('40 04 0005 10 00'), 5)).toEqual({ type: 'puback', packetId: 5, reasonCode: 0x10 });
  });
  it('DISCONNECT with reason 0 and property length 0 (remaining length 2)', () => {
    expect(decodeOne(hex('e0 02 00 00'), 5)).toEqual({ type: 'disconnect', reasonCode: 0 });
  });
  it('AUTH with reason 0 and property length 0', () => {
    expect(decodeOne(hex('f0 02 00 00'), 5)).toEqual({ type: 'auth', reasonCode: 0 });
  });
  it('omitting reasonCode on an ack encodes as Success', () => {
    expect(toHex(encode({ type: 'pubcomp', packetId: 1 }, 5))).toBe('70020001');
    expect(toHex(encode({ type: 'disconnect' }, 5))).toBe('e000');
    expect(toHex(encode({ type: 'auth' }, 5))).toBe('f000');
  });
  it('an empty properties object is the same as none', () => {
    expect(toHex(encode({ type: 'puback', packetId: 1, reasonCode: 0, properties: {} }, 5))).toBe('40020001');
    expect(toHex(encode({ type: 'disconnect', reasonCode: 0, properties: { reasonString: undefined } }, 5))).toBe('e000');
    expect(toHex(encode({ type: 'pubrec', packetId: 1, reasonCode: 0x10, properties: { userProperties: [] } }, 5))).toBe('5003000110');
  });
  it('a 5-byte-long property block length is read as a variable byte integer (remaining length 2 bytes)', () => {
    const value = 'v'.repeat(200);
    const bytes = hex(frame('40', '0001 80', 'd001', `1f ${str(value)}`, `26 ${str('')} ${str('')}`));
    // 0xd0 0x01 = 208 = 3 + 200 + 5
    expect(decodeOne(bytes, 5)).toEqual({ type: 'puback', packetId: 1, reasonCode: 0x80, properties: { reasonString: value, userProperties: [['', '']] } });
  });
});
