/**
 * fast-check arbitraries for hato packets in their canonical decoded form (what the
 * decoder returns): 5.0 acks/DISCONNECT/AUTH always carry reasonCode, 5.0 subscriptions
 * carry all three options, empty property blocks are absent. Value ranges stay within
 * what mqtt-packet can also represent (payloadFormatIndicator 0/1), for the differential
 * test.
 */
import fc from 'fast-check';
import type { Packet, Properties, ProtocolVersion, QoS, Subscription } from '../src/index.js';
import { propertyDefinitions } from '../src/property-table.js';

const noNul = (s: string): string => s.replace(/\u0000/g, '_');
export const text = (maxLength = 8): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength }).map(noNul);
const bytes = (maxLength = 16): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const level = fc.string({ unit: 'binary', maxLength: 5 }).map((s) => s.replace(/[+#/\u0000]/g, 'x'));
export const topicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
export const topicFilter: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter((t) => t.length > 0);
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 65_535 });

function valueArbitrary(name: string, type: string, typeCode: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'byte':
      return fc.constantFrom(0, 1); // payloadFormatIndicator, maximumQoS
    case 'bool':
      return fc.boolean();
    case 'int16':
      return fc.integer({ min: name === 'receiveMaximum' || name === 'topicAlias' ? 1 : 0, max: 65_535 });
    case 'int32':
      return fc.integer({ min: name === 'maximumPacketSize' ? 1 : 0, max: 0xffff_ffff });
    case 'string':
      return text();
    case 'binary':
      return bytes(8);
    case 'varint':
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: typeCode === 8 ? 1 : 3 });
    default:
      return fc.array(fc.tuple(text(4), text(4)), { minLength: 1, maxLength: 3 });
  }
}

/** Optional properties allowed in packet `typeCode` (0 = Will). */
export function properties(typeCode: number, exclude: string[] = []): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const d of propertyDefinitions) {
    if ((d.packets & (1 << typeCode)) !== 0 && !exclude.includes(d.name)) model[d.name] = valueArbitrary(d.name, d.type, typeCode);
  }
  return fc.record(model, { requiredKeys: [] }).map((p) => (Object.keys(p).length === 0 ? undefined : (p as Properties)));
}

/** Adds `properties` only when defined (canonical form). */
function withProps<T extends object>(p: T, props: Properties | undefined): T {
  return props === undefined ? p : { ...p, properties: props };
}

const connackCodes5 = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
const pubackCodes = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const pubrelCodes = [0x00, 0x92];
const subackCodes5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const unsubackCodes = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const disconnectCodes = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2];

export function connect(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const five = v === 5;
  const will = fc
    .record({ topic: topicName, payload: bytes(), qos, retain: fc.boolean(), props: five ? properties(0) : fc.constant(undefined) })
    .map(({ props, ...w }) => withProps(w, props));
  return fc
    .record({
      clientId: text(12),
      cleanStart: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 65_535 }),
      username: fc.option(text(), { nil: undefined }),
      password: fc.option(bytes(), { nil: undefined }),
      will: fc.option(will, { nil: undefined }),
      props: five ? properties(1) : fc.constant(undefined),
    })
    .map(({ props, username, password, will: w, ...c }) => {
      const p: Record<string, unknown> = { type: 'connect', protocolVersion: v, ...c };
      if (w !== undefined) p.will = w;
      if (username !== undefined) p.username = username;
      // 3.x: a password needs a user name [MQTT-3.1.2-22]
      if (password !== undefined && (five || username !== undefined)) p.password = password;
      return withProps(p, props) as unknown as Packet;
    });
}

function connack(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const code = v === 5 ? fc.constantFrom(...connackCodes5) : fc.integer({ min: 0, max: 5 });
  return fc
    .record({ reasonCode: code, sp: fc.boolean(), props: v === 5 ? properties(2) : fc.constant(undefined) })
    .map(({ reasonCode, sp, props }) => withProps({ type: 'connack', sessionPresent: sp && reasonCode === 0 && v !== 3, reasonCode }, props) as Packet);
}

function publish(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({ topic: topicName, payload: bytes(64), qos, retain: fc.boolean(), dup: fc.boolean(), id: packetId, props: v === 5 ? properties(3) : fc.constant(undefined), alias: fc.boolean() })
    .map(({ topic, payload, qos: q, retain, dup, id, props, alias }) => {
      const p: Record<string, unknown> = { type: 'publish', topic, payload, qos: q, retain, dup: q > 0 && dup };
      if (q > 0) p.packetId = id;
      // 5.0: an empty topic carried by a topic alias
      if (v === 5 && alias && props?.topicAlias !== undefined) p.topic = '';
      return withProps(p, props) as unknown as Packet;
    });
}

function ack(v: ProtocolVersion, type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'): fc.Arbitrary<Packet> {
  const typeCode = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 }[type];
  if (v !== 5) return packetId.map((id) => ({ type, packetId: id }) as Packet);
  return fc
    .record({ id: packetId, reasonCode: fc.constantFrom(...(typeCode < 6 ? pubackCodes : pubrelCodes)), props: properties(typeCode) })
    .map(({ id, reasonCode, props }) => withProps({ type, packetId: id, reasonCode }, props) as Packet);
}

function subscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const sub: fc.Arbitrary<Subscription> =
    v === 5
      ? fc
          .record({ topicFilter: topicFilter, qos, noLocal: fc.boolean(), retainAsPublished: fc.boolean(), retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2) })
      : fc.record({ topicFilter: topicFilter, qos });
  return fc
    .record({ id: packetId, subs: fc.array(sub, { minLength: 1, maxLength: 4 }), props: v === 5 ? properties(8) : fc.constant(undefined) })
    .map(({ id, subs, props }) => withProps({ type: 'subscribe', packetId: id, subscriptions: subs }, props) as Packet);
}

function suback(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const code = v === 5 ? fc.constantFrom(...subackCodes5) : fc.constantFrom(0, 1, 2, 0x80);
  return fc
    .record({ id: packetId, codes: fc.array(code, { minLength: 1, maxLength: 5 }), props: v === 5 ? properties(9) : fc.constant(undefined) })
    .map(({ id, codes, props }) => withProps({ type: 'suback', packetId: id, reasonCodes: codes }, props) as Packet);
}

function unsubscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({ id: packetId, filters: fc.array(topicFilter, { minLength: 1, maxLength: 4 }), props: v === 5 ? properties(10) : fc.constant(undefined) })
    .map(({ id, filters, props }) => withProps({ type: 'unsubscribe', packetId: id, topicFilters: filters }, props) as Packet);
}

function unsuback(v: ProtocolVersion): fc.Arbitrary<Packet> {
  if (v !== 5) return packetId.map((id) => ({ type: 'unsuback', packetId: id }) as Packet);
  return fc
    .record({ id: packetId, codes: fc.array(fc.constantFrom(...unsubackCodes), { minLength: 1, maxLength: 5 }), props: properties(11) })
    .map(({ id, codes, props }) => withProps({ type: 'unsuback', packetId: id, reasonCodes: codes }, props) as Packet);
}

function disconnect(v: ProtocolVersion): fc.Arbitrary<Packet> {
  if (v !== 5) return fc.constant({ type: 'disconnect' } as Packet);
  return fc
    .record({ reasonCode: fc.constantFrom(...disconnectCodes), props: properties(14) })
    .map(({ reasonCode, props }) => withProps({ type: 'disconnect', reasonCode }, props) as Packet);
}

function auth(): fc.Arbitrary<Packet> {
  return fc
    .record({ reasonCode: fc.constantFrom(0x00, 0x18, 0x19), props: properties(15) })
    .map(({ reasonCode, props }) => withProps({ type: 'auth', reasonCode }, props) as Packet);
}

/** Any packet but CONNECT, for a decoder whose version is set. */
export function anyPacket(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const list: fc.Arbitrary<Packet>[] = [
    connack(v),
    publish(v),
    publish(v),
    ack(v, 'puback'),
    ack(v, 'pubrec'),
    ack(v, 'pubrel'),
    ack(v, 'pubcomp'),
    subscribe(v),
    suback(v),
    unsubscribe(v),
    unsuback(v),
    fc.constant({ type: 'pingreq' } as Packet),
    fc.constant({ type: 'pingresp' } as Packet),
    disconnect(v),
    connect(v),
  ];
  if (v === 5) list.push(auth());
  return fc.oneof(...list);
}

export const versions: ProtocolVersion[] = [3, 4, 5];
