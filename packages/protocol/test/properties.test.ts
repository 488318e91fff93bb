/**
 * Every 5.0 property against every packet (spec 2.2.2.2): allowed → decoded with its
 * value; not allowed → MalformedPacketError 0x81 when decoding, EncodeError when encoding.
 * Packet bytes are written by hand around the property block.
 */
import { describe, expect, it } from 'vitest';
import { EncodeError, encode, MalformedPacketError, type Packet, type Properties, propertyDefinitions } from '../src/index.js';
import { decodeError, decodeOne, frame, hex, props, toHex } from './helpers.js';

const MQTT5 = '0004 4d515454 05';

/** Packet bytes with property block `p` (hex, length included), per type code (0 = Will). */
const builders: Record<number, [string, (p: string) => string, (props: Properties) => Packet]> = {
  0: [
    'Will',
    (p) => frame('10', `${MQTT5} 06 003c 00 0001 63`, p, '0001 74 0000'),
    (properties) => ({ type: 'connect', protocolVersion: 5, clientId: 'c', cleanStart: true, keepAlive: 60, will: { topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, properties } }),
  ],
  1: ['CONNECT', (p) => frame('10', `${MQTT5} 02 003c`, p, '0001 63'), (properties) => ({ type: 'connect', protocolVersion: 5, clientId: 'c', cleanStart: true, keepAlive: 60, properties })],
  2: ['CONNACK', (p) => frame('20', '00 00', p), (properties) => ({ type: 'connack', sessionPresent: false, reasonCode: 0, properties })],
  3: ['PUBLISH', (p) => frame('30', '0001 74', p), (properties) => ({ type: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, properties })],
  4: ['PUBACK', (p) => frame('40', '0001 00', p), (properties) => ({ type: 'puback', packetId: 1, reasonCode: 0, properties })],
  5: ['PUBREC', (p) => frame('50', '0001 00', p), (properties) => ({ type: 'pubrec', packetId: 1, reasonCode: 0, properties })],
  6: ['PUBREL', (p) => frame('62', '0001 00', p), (properties) => ({ type: 'pubrel', packetId: 1, reasonCode: 0, properties })],
  7: ['PUBCOMP', (p) => frame('70', '0001 00', p), (properties) => ({ type: 'pubcomp', packetId: 1, reasonCode: 0, properties })],
  8: [
    'SUBSCRIBE',
    (p) => frame('82', '0001', p, '0001 74 00'),
    (properties) => ({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties }),
  ],
  9: ['SUBACK', (p) => frame('90', '0001', p, '00'), (properties) => ({ type: 'suback', packetId: 1, reasonCodes: [0], properties })],
  10: ['UNSUBSCRIBE', (p) => frame('a2', '0001', p, '0001 74'), (properties) => ({ type: 'unsubscribe', packetId: 1, topicFilters: ['t'], properties })],
  11: ['UNSUBACK', (p) => frame('b0', '0001', p, '00'), (properties) => ({ type: 'unsuback', packetId: 1, reasonCodes: [0], properties })],
  14: ['DISCONNECT', (p) => frame('e0', '00', p), (properties) => ({ type: 'disconnect', reasonCode: 0, properties })],
  15: ['AUTH', (p) => frame('f0', '00', p), (properties) => ({ type: 'auth', reasonCode: 0, properties })],
};

/** A valid value per wire type: [hex on the wire, decoded value]. */
const values: Record<string, [string, unknown]> = {
  byte: ['00', 0],
  bool: ['01', true],
  int16: ['0001', 1],
  int32: ['00000001', 1],
  varint: ['01', [1]],
  string: ['0001 61', 'a'],
  binary: ['0002 0102', new Uint8Array([1, 2])],
  pair: ['0001 61 0001 62', [['a', 'b']]],
};

function decodedProperties(p: Packet, typeCode: number): Properties | undefined {
  if (typeCode === 0) return p.type === 'connect' ? p.will?.properties : undefined;
  return (p as { properties?: Properties }).properties;
}

describe('each property on each packet (spec 2.2.2.2)', () => {
  for (const d of propertyDefinitions) {
    const [wire, value] = values[d.type]!;
    for (const [code, [packetName, bytes, packet]] of Object.entries(builders)) {
      const typeCode = Number(code);
      const allowed = (d.packets & (1 << typeCode)) !== 0;
      const id = d.id.toString(16).padStart(2, '0');
      const block = props(`${id} ${wire}`);
      if (allowed) {
        it(`${d.name} (0x${id}) is accepted in ${packetName}, both directions`, () => {
          const decoded = decodeOne(hex(bytes(block)), typeCode <= 1 ? undefined : 5);
          expect(decodedProperties(decoded, typeCode)).toEqual({ [d.name]: value });
          const encoded = encode(packet({ [d.name]: value } as Properties), 5);
          expect(toHex(encoded)).toBe(toHex(hex(bytes(block))));
        });
      } else {
        it(`${d.name} (0x${id}) in ${packetName} → MalformedPacketError 0x81 / EncodeError`, () => {
          const e = decodeError(hex(bytes(block)), typeCode <= 1 ? undefined : 5);
          expect(e).toBeInstanceOf(MalformedPacketError);
          expect((e as MalformedPacketError).reasonCode).toBe(0x81);
          expect(() => encode(packet({ [d.name]: value } as Properties), 5)).toThrow(EncodeError);
        });
      }
    }
  }

  it('covers all 27 properties of the 5.0 table', () => {
    expect(propertyDefinitions.map((d) => d.id)).toEqual([
      0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
      0x29, 0x2a,
    ]);
  });
});
