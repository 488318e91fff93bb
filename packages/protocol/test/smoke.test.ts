import { describe, expect, it } from 'vitest';
import { Decoder, encode, type Packet, type ProtocolVersion } from '../src/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function samples(v: ProtocolVersion): Packet[] {
  const five = v === 5;
  const list: Packet[] = [
    {
      type: 'connect',
      protocolVersion: v,
      clientId: 'c1',
      cleanStart: true,
      keepAlive: 60,
      username: 'u',
      password: bytes('p'),
      will: { topic: 'w/t', payload: bytes('bye'), qos: 1, retain: true, ...(five ? { properties: { willDelayInterval: 5 } } : {}) },
      ...(five ? { properties: { sessionExpiryInterval: 10, userProperties: [['a', 'b'] as [string, string]] } } : {}),
    },
    { type: 'connack', sessionPresent: v !== 3, reasonCode: 0, ...(five ? { properties: { maximumQoS: 1 } } : {}) },
    { type: 'publish', topic: 'a/b', payload: bytes('hello'), qos: 0, retain: false, dup: false },
    { type: 'publish', topic: 'a/b', payload: bytes('hello'), qos: 2, retain: true, dup: true, packetId: 7 },
    { type: 'puback', packetId: 1, ...(five ? { reasonCode: 0 } : {}) },
    { type: 'pubrec', packetId: 2, ...(five ? { reasonCode: 0x10 } : {}) },
    { type: 'pubrel', packetId: 3, ...(five ? { reasonCode: 0x92, properties: { reasonString: 'x' } } : {}) },
    { type: 'pubcomp', packetId: 4, ...(five ? { reasonCode: 0 } : {}) },
    { type: 'subscribe', packetId: 5, subscriptions: [{ topicFilter: 'a/+', qos: 1, ...(five ? { noLocal: true, retainAsPublished: false, retainHandling: 2 as const } : {}) }] },
    { type: 'suback', packetId: 5, reasonCodes: [1, 0x80] },
    { type: 'unsubscribe', packetId: 6, topicFilters: ['a/+', '#'] },
    { type: 'unsuback', packetId: 6, ...(five ? { reasonCodes: [0, 0x11] } : {}) },
    { type: 'pingreq' },
    { type: 'pingresp' },
    { type: 'disconnect', ...(five ? { reasonCode: 0 } : {}) },
  ];
  if (five) list.push({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } });
  return list;
}

describe('smoke', () => {
  for (const v of [3, 4, 5] as const) {
    it(`round-trips every packet type for version ${v}`, () => {
      const d = new Decoder({ protocolVersion: v });
      for (const p of samples(v)) {
        const enc = encode(p, v);
        d.push(enc);
        expect(d.next()).toEqual(p);
        expect(d.next()).toBeNull();
      }
    });
  }
});
