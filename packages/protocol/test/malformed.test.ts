/**
 * Malformed and forbidden bytes → the exact DecodeError subclass and 5.0 reason code.
 * `version` is the decoder's protocol version (undefined: a broker awaiting CONNECT).
 */
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  Decoder,
  MalformedPacketError,
  PacketTooLargeError,
  type ProtocolVersion,
  ProtocolError,
  UnsupportedProtocolVersionError,
} from '../src/index.js';
import { decodeError, frame, hex, props, str } from './helpers.js';

type ErrorClass = typeof MalformedPacketError | typeof ProtocolError | typeof UnsupportedProtocolVersionError;
interface Row {
  name: string;
  version: ProtocolVersion | undefined;
  bytes: string;
  error: ErrorClass;
  code: number;
}

const M = { error: MalformedPacketError, code: 0x81 };
const P = { error: ProtocolError, code: 0x82 };
const MQTT4 = '0004 4d515454 04';
const MQTT5 = '0004 4d515454 05';

const rows: Row[] = [
  // ---- fixed header ----
  { name: 'remaining length longer than 4 bytes', version: 4, bytes: 'c0 80808080 01', ...M },
  { name: 'reserved packet type 0', version: 4, bytes: '00 00', ...M },
  { name: 'AUTH (type 15) in 3.1.1 is a reserved type', version: 4, bytes: 'f0 00', ...M },
  { name: 'non-minimal remaining length in 5.0 [MQTT-1.5.5-1]', version: 5, bytes: 'c0 8000', ...M },
  { name: 'first packet is not CONNECT [MQTT-3.1.0-1]', version: undefined, bytes: 'c0 00', ...P },
  // ---- reserved flags [MQTT-2.2.2-1] [MQTT-2.2.2-2] ----
  { name: 'PUBACK with flags 0001', version: 4, bytes: '41 02 0001', ...M },
  { name: 'PUBACK with flags 0010 in 5.0', version: 5, bytes: '42 02 0001', ...M },
  { name: 'PUBREL with flags 0000 [MQTT-3.6.1-1]', version: 4, bytes: '60 02 0001', ...M },
  { name: 'SUBSCRIBE with flags 0000 [MQTT-3.8.1-1]', version: 4, bytes: '80 06 0001 0001 74 00', ...M },
  { name: 'SUBSCRIBE with flags 0011', version: 5, bytes: '83 07 0001 00 0001 74 00', ...M },
  { name: 'UNSUBSCRIBE with flags 0000 [MQTT-3.10.1-1]', version: 4, bytes: 'a0 05 0001 0001 74', ...M },
  { name: 'PINGREQ with flags 0001', version: 4, bytes: 'c1 00', ...M },
  { name: 'DISCONNECT with flags 1000', version: 5, bytes: 'e8 00', ...M },
  { name: 'CONNACK with flags 0001', version: 4, bytes: '21 02 00 00', ...M },
  { name: 'CONNECT with flags 0001', version: undefined, bytes: `11 0c ${MQTT4} 02 003c 0000`, ...M },
  { name: 'PUBLISH QoS 3 [MQTT-3.3.1-4]', version: 4, bytes: '36 05 0001 74 0001', ...M },
  { name: 'PUBLISH QoS 3 in 3.1', version: 3, bytes: '36 05 0001 74 0001', ...M },
  { name: 'PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]', version: 4, bytes: '38 03 0001 74', ...M },
  { name: 'PUBLISH DUP with QoS 0 in 5.0 [MQTT-3.3.1-2]', version: 5, bytes: '38 04 0001 74 00', ...M },
  // ---- CONNECT ----
  { name: 'CONNECT reserved flag bit 0 set [MQTT-3.1.2-3]', version: undefined, bytes: `10 0c ${MQTT4} 03 003c 0000`, ...M },
  { name: 'CONNECT reserved flag bit 0 set in 5.0 [MQTT-3.1.2-3]', version: undefined, bytes: `10 0d ${MQTT5} 01 003c 00 0000`, ...M },
  { name: 'CONNECT will QoS 3 [MQTT-3.1.2-14]', version: undefined, bytes: frame('10', `${MQTT4} 1c 003c 0000 0001 74 0000`), ...M },
  { name: 'CONNECT will QoS without will flag [MQTT-3.1.2-13]', version: undefined, bytes: `10 0c ${MQTT4} 08 003c 0000`, ...M },
  { name: 'CONNECT will retain without will flag [MQTT-3.1.2-15]', version: undefined, bytes: `10 0c ${MQTT4} 20 003c 0000`, ...M },
  {
    name: 'CONNECT password without user name in 3.1.1 [MQTT-3.1.2-22]',
    version: undefined,
    bytes: `10 0f ${MQTT4} 40 003c 0000 0001 70`,
    ...M,
  },
  { name: 'CONNECT truncated: client id longer than the packet', version: undefined, bytes: `10 0e ${MQTT4} 02 003c 0005 6162`, ...M },
  { name: 'CONNECT truncated: missing keep alive', version: undefined, bytes: `10 08 ${MQTT4} 02`, ...M },
  { name: 'CONNECT truncated: user name flag but no user name', version: undefined, bytes: `10 0c ${MQTT4} 80 003c 0000`, ...M },
  { name: 'CONNECT trailing bytes after the payload', version: undefined, bytes: `10 0d ${MQTT4} 02 003c 0000 00`, ...M },
  { name: 'CONNECT will topic with a wildcard', version: undefined, bytes: frame('10', `${MQTT4} 06 003c 0000 0001 23 0000`), ...M },
  { name: 'CONNECT empty will topic', version: undefined, bytes: frame('10', `${MQTT4} 06 003c 0000 0000 0000`), ...M },
  { name: 'CONNECT client id with invalid UTF-8 byte ff [MQTT-1.5.4-1]', version: undefined, bytes: `10 0d ${MQTT4} 02 003c 0001 ff`, ...M },
  { name: 'CONNECT client id with overlong UTF-8 c0af [MQTT-1.5.4-1]', version: undefined, bytes: `10 0e ${MQTT4} 02 003c 0002 c0af`, ...M },
  { name: 'CONNECT client id with a UTF-16 surrogate eda080 [MQTT-1.5.4-1]', version: undefined, bytes: `10 0f ${MQTT4} 02 003c 0003 eda080`, ...M },
  { name: 'CONNECT client id with truncated UTF-8 e282 [MQTT-1.5.4-1]', version: undefined, bytes: `10 0e ${MQTT4} 02 003c 0002 e282`, ...M },
  { name: 'CONNECT client id with U+0000 [MQTT-1.5.4-2]', version: undefined, bytes: `10 0e ${MQTT4} 02 003c 0002 6100`, ...M },
  { name: 'CONNECT user name with U+0000 in a long string', version: undefined, bytes: frame('10', `${MQTT4} 82 003c 0000`, `0050 ${'61'.repeat(79)}00`), ...M },
  { name: 'CONNECT invalid UTF-8 in the protocol name', version: undefined, bytes: '10 0a 0004 4d51ff54 04 02 003c 0000', ...M },
  { name: 'CONNECT 5.0 property not allowed (topic alias), spec 2.2.2.2', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('23 0001'), '0000'), ...M },
  { name: 'CONNECT 5.0 unknown property identifier 0x05', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('05 00'), '0000'), ...M },
  {
    name: 'CONNECT 5.0 duplicate session expiry interval',
    version: undefined,
    bytes: frame('10', `${MQTT5} 02 003c`, props('11 00000001', '11 00000002'), '0000'),
    ...P,
  },
  { name: 'CONNECT 5.0 receive maximum 0', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('21 0000'), '0000'), ...P },
  { name: 'CONNECT 5.0 maximum packet size 0', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('27 00000000'), '0000'), ...P },
  { name: 'CONNECT 5.0 request problem information 2', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('17 02'), '0000'), ...P },
  { name: 'CONNECT 5.0 request response information 2', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, props('19 02'), '0000'), ...P },
  { name: 'CONNECT 5.0 property length beyond the packet', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, '10 1100000001'), ...M },
  { name: 'CONNECT 5.0 property value cut by the property length', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, '03 11 0000', '0000'), ...M },
  { name: 'CONNECT 5.0 property length of 5 bytes', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, '8080808000', '0000'), ...M },
  { name: 'CONNECT 5.0 non-minimal property length [MQTT-1.5.5-1]', version: undefined, bytes: frame('10', `${MQTT5} 02 003c`, '8000', '0000'), ...M },
  {
    name: 'CONNECT 5.0 session expiry interval among will properties',
    version: undefined,
    bytes: frame('10', `${MQTT5} 06 003c 00 0000`, props('11 00000001'), '0001 74 0000'),
    ...M,
  },
  {
    name: 'CONNECT 5.0 user property key with invalid UTF-8',
    version: undefined,
    bytes: frame('10', `${MQTT5} 02 003c`, props('26 0001 ff 0000'), '0000'),
    ...M,
  },
  // ---- CONNACK ----
  { name: 'CONNACK reserved acknowledge flags set [MQTT-3.2.2-1]', version: 4, bytes: '20 02 02 00', ...M },
  { name: 'CONNACK 3.1.1 return code 6 (reserved)', version: 4, bytes: '20 02 00 06', ...P },
  { name: 'CONNACK session present with a non-zero return code [MQTT-3.2.2-4]', version: 4, bytes: '20 02 01 05', ...P },
  { name: 'CONNACK 5.0 reason code 0x01 is not a CONNACK reason code', version: 5, bytes: '20 03 00 01 00', ...P },
  { name: 'CONNACK 5.0 without property length', version: 5, bytes: '20 02 00 00', ...M },
  { name: 'CONNACK 5.0 maximum QoS 2', version: 5, bytes: frame('20', '00 00', props('24 02')), ...P },
  { name: 'CONNACK 5.0 retain available 2', version: 5, bytes: frame('20', '00 00', props('25 02')), ...P },
  { name: 'CONNACK 5.0 duplicate reason string', version: 5, bytes: frame('20', '00 00', props(`1f ${str('a')}`, `1f ${str('b')}`)), ...P },
  { name: 'CONNACK 5.0 will delay interval not allowed', version: 5, bytes: frame('20', '00 00', props('18 00000001')), ...M },
  { name: 'CONNACK 3.1.1 trailing byte', version: 4, bytes: '20 03 00 00 00', ...M },
  { name: 'CONNACK truncated', version: 4, bytes: '20 01 00', ...M },
  // ---- PUBLISH ----
  { name: 'PUBLISH topic with + [MQTT-3.3.2-2]', version: 4, bytes: '30 05 0003 612f2b', ...M },
  { name: 'PUBLISH topic with # [MQTT-3.3.2-2]', version: 5, bytes: '30 04 0001 23 00', ...M },
  { name: 'PUBLISH QoS 1 with packet id 0 [MQTT-2.2.1-3]', version: 4, bytes: '32 05 0001 74 0000', ...P },
  { name: 'PUBLISH QoS 2 with packet id 0 in 5.0', version: 5, bytes: '34 06 0001 74 0000 00', ...P },
  { name: 'PUBLISH empty topic in 3.1.1 [MQTT-4.7.3-1]', version: 4, bytes: '30 03 0000 61', ...M },
  { name: 'PUBLISH empty topic without topic alias in 5.0', version: 5, bytes: '30 04 0000 00 61', ...P },
  { name: 'PUBLISH topic longer than the packet', version: 4, bytes: '30 04 0009 6162', ...M },
  { name: 'PUBLISH QoS 1 without room for the packet id', version: 4, bytes: '32 04 0001 74 00', ...M },
  { name: 'PUBLISH topic with invalid UTF-8', version: 4, bytes: '30 04 0002 c328', ...M },
  { name: 'PUBLISH 5.0 session expiry interval not allowed', version: 5, bytes: frame('30', '0001 74', props('11 00000001')), ...M },
  { name: 'PUBLISH 5.0 duplicate topic alias', version: 5, bytes: frame('30', '0001 74', props('23 0001', '23 0002')), ...P },
  { name: 'PUBLISH 5.0 duplicate payload format indicator', version: 5, bytes: frame('30', '0001 74', props('01 00', '01 01')), ...P },
  { name: 'PUBLISH 5.0 subscription identifier 0', version: 5, bytes: frame('30', '0001 74', props('0b 00')), ...P },
  { name: 'PUBLISH 5.0 subscription identifier of 5 bytes', version: 5, bytes: frame('30', '0001 74', props('0b 8080808001')), ...M },
  { name: 'PUBLISH 5.0 missing property length', version: 5, bytes: '30 03 0001 74', ...M },
  // ---- PUBACK, PUBREC, PUBREL, PUBCOMP ----
  { name: 'PUBACK 3.1.1 with a trailing byte', version: 4, bytes: '40 03 0001 00', ...M },
  { name: 'PUBACK truncated packet id', version: 4, bytes: '40 01 00', ...M },
  { name: 'PUBACK packet id 0', version: 4, bytes: '40 02 0000', ...P },
  { name: 'PUBCOMP packet id 0 in 5.0', version: 5, bytes: '70 02 0000', ...P },
  { name: 'PUBACK 5.0 reason code 0x92 belongs to PUBREL/PUBCOMP', version: 5, bytes: '40 03 0001 92', ...P },
  { name: 'PUBREL 5.0 reason code 0x10 belongs to PUBACK/PUBREC', version: 5, bytes: '62 03 0001 10', ...P },
  { name: 'PUBREC 5.0 topic alias not allowed', version: 5, bytes: frame('50', '0001 00', props('23 0001')), ...M },
  { name: 'PUBACK 5.0 trailing byte after properties', version: 5, bytes: frame('40', '0001 00 00 00'), ...M },
  // ---- SUBSCRIBE ----
  { name: 'SUBSCRIBE with no topic filter [MQTT-3.8.3-3]', version: 4, bytes: '82 02 0001', ...P },
  { name: 'SUBSCRIBE 5.0 with no topic filter', version: 5, bytes: '82 03 0001 00', ...P },
  { name: 'SUBSCRIBE empty topic filter [MQTT-4.7.3-1]', version: 4, bytes: '82 05 0001 0000 00', ...M },
  { name: 'SUBSCRIBE QoS 3 [MQTT-3.8.3-4]', version: 4, bytes: '82 06 0001 0001 74 03', ...M },
  { name: 'SUBSCRIBE 3.1.1 reserved option bit 2 [MQTT-3.8.3-4]', version: 4, bytes: '82 06 0001 0001 74 04', ...M },
  { name: 'SUBSCRIBE 5.0 reserved option bits 6-7 [MQTT-3.8.3-5]', version: 5, bytes: '82 07 0001 00 0001 74 40', ...M },
  { name: 'SUBSCRIBE 5.0 retain handling 3', version: 5, bytes: '82 07 0001 00 0001 74 30', ...P },
  { name: 'SUBSCRIBE 5.0 no local on a shared subscription [MQTT-3.8.3-4]', version: 5, bytes: frame('82', '0001 00', str('$share/g/t'), '04'), ...P },
  { name: 'SUBSCRIBE 5.0 two subscription identifiers', version: 5, bytes: frame('82', '0001', props('0b 01', '0b 02'), '0001 74 00'), ...P },
  { name: 'SUBSCRIBE 5.0 subscription identifier 0', version: 5, bytes: frame('82', '0001', props('0b 00'), '0001 74 00'), ...P },
  { name: 'SUBSCRIBE 5.0 topic alias not allowed', version: 5, bytes: frame('82', '0001', props('23 0001'), '0001 74 00'), ...M },
  { name: 'SUBSCRIBE missing the options byte', version: 4, bytes: '82 05 0001 0001 74', ...M },
  { name: 'SUBSCRIBE packet id 0', version: 4, bytes: '82 06 0000 0001 74 00', ...P },
  { name: 'SUBSCRIBE filter with invalid UTF-8', version: 4, bytes: '82 06 0001 0001 80 00', ...M },
  // ---- SUBACK ----
  { name: 'SUBACK 3.1.1 return code 3', version: 4, bytes: '90 03 0001 03', ...P },
  { name: 'SUBACK with no return code', version: 4, bytes: '90 02 0001', ...P },
  { name: 'SUBACK 5.0 reason code 0x11 belongs to UNSUBACK', version: 5, bytes: '90 04 0001 00 11', ...P },
  { name: 'SUBACK 5.0 session expiry interval not allowed', version: 5, bytes: frame('90', '0001', props('11 00000001'), '00'), ...M },
  // ---- UNSUBSCRIBE / UNSUBACK ----
  { name: 'UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]', version: 4, bytes: 'a2 02 0001', ...P },
  { name: 'UNSUBSCRIBE 5.0 with no topic filter', version: 5, bytes: 'a2 03 0001 00', ...P },
  { name: 'UNSUBSCRIBE empty topic filter [MQTT-4.7.3-1]', version: 4, bytes: 'a2 04 0001 0000', ...M },
  { name: 'UNSUBSCRIBE packet id 0', version: 5, bytes: 'a2 06 0000 00 0001 74', ...P },
  { name: 'UNSUBACK 3.1.1 with a trailing byte', version: 4, bytes: 'b0 03 0001 00', ...M },
  { name: 'UNSUBACK 5.0 with no reason code', version: 5, bytes: 'b0 03 0001 00', ...P },
  { name: 'UNSUBACK 5.0 reason code 0x10', version: 5, bytes: 'b0 04 0001 00 10', ...P },
  // ---- PINGREQ / PINGRESP / DISCONNECT / AUTH ----
  { name: 'PINGREQ with a body', version: 4, bytes: 'c0 01 00', ...M },
  { name: 'PINGRESP with a body', version: 5, bytes: 'd0 01 00', ...M },
  { name: 'DISCONNECT 3.1.1 with a body', version: 4, bytes: 'e0 01 00', ...M },
  { name: 'DISCONNECT 5.0 reason code 0x05', version: 5, bytes: 'e0 01 05', ...P },
  { name: 'DISCONNECT 5.0 topic alias not allowed', version: 5, bytes: frame('e0', '00', props('23 0001')), ...M },
  { name: 'DISCONNECT 5.0 duplicate server reference', version: 5, bytes: frame('e0', '9c', props(`1c ${str('a')}`, `1c ${str('b')}`)), ...P },
  { name: 'DISCONNECT 5.0 property length beyond the packet', version: 5, bytes: 'e0 02 00 05', ...M },
  { name: 'AUTH 5.0 reason code 0x01', version: 5, bytes: 'f0 02 01 00', ...P },
  { name: 'AUTH 5.0 with a reason code but no property length', version: 5, bytes: 'f0 01 18', ...M },
  { name: 'AUTH 5.0 session expiry interval not allowed', version: 5, bytes: frame('f0', '18', props('11 00000001')), ...M },
];

describe('malformed input → exact DecodeError and reason code', () => {
  for (const row of rows) {
    it(`${row.name} → ${row.error.name} 0x${row.code.toString(16)}`, () => {
      const e = decodeError(hex(row.bytes), row.version);
      expect(e).toBeInstanceOf(row.error);
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).reasonCode).toBe(row.code);
    });
  }
});

describe('protocol name and level [MQTT-3.1.2-1] [MQTT-3.1.2-2]', () => {
  const cases: [string, string, string, number][] = [
    ['MQTT level 6', '0004 4d515454 06', 'MQTT', 6],
    ['MQTT level 3', '0004 4d515454 03', 'MQTT', 3],
    ['MQIsdp level 4', '0006 4d5149736470 04', 'MQIsdp', 4],
    ['unknown name MQTX', '0004 4d515458 04', 'MQTX', 4],
    ['bridge bit set (level 0x84)', '0004 4d515454 84', 'MQTT', 0x84],
  ];
  for (const [name, head, protocolName, level] of cases) {
    it(`${name} → UnsupportedProtocolVersionError 0x84 with level and name`, () => {
      const e = decodeError(hex(frame('10', head, '02 003c 0001 63')), undefined);
      expect(e).toBeInstanceOf(UnsupportedProtocolVersionError);
      const u = e as UnsupportedProtocolVersionError;
      expect(u.reasonCode).toBe(0x84);
      expect(u.level).toBe(level);
      expect(u.protocolName).toBe(protocolName);
    });
  }
});

describe('maximum packet size is enforced from the fixed header', () => {
  it('rejects an announced 256 MB PUBLISH before any body byte arrives (0x95)', () => {
    const d = new Decoder({ protocolVersion: 4, maximumPacketSize: 1024 });
    d.push(hex('30 ffffff7f'));
    let e: unknown;
    try {
      d.next();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(PacketTooLargeError);
    expect((e as PacketTooLargeError).reasonCode).toBe(0x95);
    expect((e as PacketTooLargeError).size).toBe(268_435_460);
  });

  it('counts the fixed header: a 10-byte packet passes a limit of 10, fails a limit of 9', () => {
    const bytes = hex('30 08 0001 74 68656c6c6f'); // 2 + 8 = 10 bytes
    const ok = new Decoder({ protocolVersion: 4, maximumPacketSize: 10 });
    ok.push(bytes);
    expect(ok.next()).toMatchObject({ type: 'publish', topic: 't' });
    const tooSmall = new Decoder({ protocolVersion: 4, maximumPacketSize: 9 });
    tooSmall.push(bytes);
    expect(() => tooSmall.next()).toThrow(PacketTooLargeError);
  });

  it('the limit can be changed after construction (e.g. once CONNECT is processed)', () => {
    const d = new Decoder({ protocolVersion: 4 });
    d.maximumPacketSize = 3;
    d.push(hex('c0 00 30 08 0001 74 68656c6c6f'));
    expect(d.next()).toEqual({ type: 'pingreq' });
    expect(() => d.next()).toThrow(PacketTooLargeError);
  });
});

describe('after an error the decoder is poisoned', () => {
  it('rethrows the same error on every later call, even with valid bytes', () => {
    const d = new Decoder({ protocolVersion: 4 });
    d.push(hex('c1 00'));
    let first: unknown;
    try {
      d.next();
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(MalformedPacketError);
    d.push(hex('c0 00'));
    expect(() => d.next()).toThrow(first as Error);
  });
});
