/**
 * Translates between hato packets and mqtt-packet's objects (cmd, messageId, clean,
 * keepalive, granted, unsubscriptions, nl/rap/rh, subscriptionIdentifier number|number[],
 * payloadFormatIndicator boolean, userProperties as an object), and normalizes both for
 * comparison: binary → hex, user properties → mqtt-packet's grouped object form (it
 * cannot keep the order of pairs with different keys).
 */
import type { Packet, Properties, ProtocolVersion } from '../src/index.js';
import { toHex } from './helpers.js';

type Obj = Record<string, unknown>;

const buf = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b));

function propsToMqtt(p: Properties | undefined): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === 'payloadFormatIndicator') out[k] = v === 1;
    else if (k === 'subscriptionIdentifiers') out.subscriptionIdentifier = (v as number[]).length === 1 ? (v as number[])[0] : v;
    else if (k === 'userProperties') out[k] = groupPairs(v as [string, string][]);
    else if (v instanceof Uint8Array) out[k] = Buffer.from(v);
    else out[k] = v;
  }
  return out;
}

function groupPairs(pairs: [string, string][]): Obj {
  const o: Obj = {};
  for (const [k, v] of pairs) {
    const cur = o[k];
    if (cur === undefined) o[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else o[k] = [cur, v];
  }
  return o;
}

function propsFromMqtt(p: Obj | undefined): Properties | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'payloadFormatIndicator') out[k] = v ? 1 : 0;
    else if (k === 'subscriptionIdentifier') out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    else if (k === 'userProperties') {
      const pairs: [string, string][] = [];
      for (const [uk, uv] of Object.entries(v as Obj)) for (const x of Array.isArray(uv) ? uv : [uv]) pairs.push([uk, x as string]);
      out[k] = pairs;
    } else out[k] = v;
  }
  return out as Properties;
}

export function toMqttPacket(p: Packet, v: ProtocolVersion): Obj {
  switch (p.type) {
    case 'connect':
      return {
        cmd: 'connect',
        protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: v,
        clientId: p.clientId,
        clean: p.cleanStart,
        keepalive: p.keepAlive,
        username: p.username,
        password: buf(p.password),
        will: p.will && { topic: p.will.topic, payload: buf(p.will.payload), qos: p.will.qos, retain: p.will.retain, properties: propsToMqtt(p.will.properties) },
        properties: propsToMqtt(p.properties),
      };
    case 'connack':
      return { cmd: 'connack', sessionPresent: p.sessionPresent, [v === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode, properties: propsToMqtt(p.properties) };
    case 'publish':
      return { cmd: 'publish', topic: p.topic, payload: buf(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId, properties: propsToMqtt(p.properties) };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode, properties: propsToMqtt(p.properties) };
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling })),
        properties: propsToMqtt(p.properties),
      };
    case 'suback':
      return { cmd: 'suback', messageId: p.packetId, granted: p.reasonCodes, properties: propsToMqtt(p.properties) };
    case 'unsubscribe':
      return { cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topicFilters, properties: propsToMqtt(p.properties) };
    case 'unsuback':
      return { cmd: 'unsuback', messageId: p.packetId, granted: p.reasonCodes, properties: propsToMqtt(p.properties) };
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    case 'disconnect':
    case 'auth':
      return { cmd: p.type, reasonCode: p.reasonCode, properties: propsToMqtt(p.properties) };
  }
}

/** mqtt-packet's parsed object → hato packet (canonical form). */
export function fromMqttPacket(m: Obj, v: ProtocolVersion): Packet {
  const props = propsFromMqtt(m.properties as Obj | undefined);
  const withProps = <T extends Obj>(o: T): T => (props === undefined ? o : { ...o, properties: props });
  const five = v === 5;
  switch (m.cmd) {
    case 'connect': {
      const o: Obj = { type: 'connect', protocolVersion: m.protocolVersion, clientId: m.clientId, cleanStart: m.clean, keepAlive: m.keepalive };
      const w = m.will as Obj | undefined;
      if (w) {
        const wp = propsFromMqtt(w.properties as Obj | undefined);
        o.will = { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain, ...(wp ? { properties: wp } : {}) };
      }
      if (m.username !== undefined) o.username = m.username;
      if (m.password !== undefined) o.password = m.password;
      return withProps(o) as unknown as Packet;
    }
    case 'connack':
      return withProps({ type: 'connack', sessionPresent: m.sessionPresent, reasonCode: five ? m.reasonCode : m.returnCode }) as unknown as Packet;
    case 'publish': {
      const o: Obj = { type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: m.dup };
      if ((m.qos as number) > 0) o.packetId = m.messageId;
      return withProps(o) as unknown as Packet;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return withProps({ type: m.cmd, packetId: m.messageId, ...(five ? { reasonCode: m.reasonCode ?? 0 } : {}) }) as unknown as Packet;
    case 'subscribe':
      return withProps({
        type: 'subscribe',
        packetId: m.messageId,
        subscriptions: (m.subscriptions as Obj[]).map((s) =>
          five ? { topicFilter: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh } : { topicFilter: s.topic, qos: s.qos },
        ),
      }) as unknown as Packet;
    case 'suback':
      return withProps({ type: 'suback', packetId: m.messageId, reasonCodes: m.granted }) as unknown as Packet;
    case 'unsubscribe':
      return withProps({ type: 'unsubscribe', packetId: m.messageId, topicFilters: m.unsubscriptions }) as unknown as Packet;
    case 'unsuback':
      return withProps({ type: 'unsuback', packetId: m.messageId, ...(five ? { reasonCodes: m.granted } : {}) }) as unknown as Packet;
    case 'disconnect':
    case 'auth':
      return withProps({ type: m.cmd, ...(five ? { reasonCode: m.reasonCode ?? 0 } : {}) }) as unknown as Packet;
    default:
      return { type: m.cmd } as Packet;
  }
}

/** Comparable form: binary as hex, user properties grouped by key (mqtt-packet's model). */
export function normalize(x: unknown, key = ''): unknown {
  if (x instanceof Uint8Array) return toHex(x);
  if (Array.isArray(x)) {
    if (key === 'userProperties') return normalize(groupPairs(x as [string, string][]));
    return x.map((e) => normalize(e));
  }
  if (x !== null && typeof x === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = normalize(v, k);
    return out;
  }
  return x;
}
