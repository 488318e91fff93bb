// Mutations at three levels: packet specs (fields, properties, out-of-state packets), built
// packets (flags, lengths, duplicates, order, bytes) and the whole byte stream (truncation).
import { concat, frame, Prop, rawPacket, varint } from '@hato/testkit';
import { BAD_FILTERS, BAD_TOPICS, connectSpec, PROPERTY_IDS, propertyValue } from './sessions.js';

const BAD_UTF8 = [Uint8Array.of(0xff, 0xfe), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x61, 0x00, 0x62)];

/** The property list a spec carries (creating one for 5.0 packets that may have one). */
function propertyLists(spec) {
  const lists = [];
  const o = spec.opts;
  if (spec.kind === 'connect') {
    if (o.version !== 5) return lists;
    o.properties ??= [];
    lists.push(o.properties);
    if (o.will) lists.push((o.will.properties ??= []));
    return lists;
  }
  if (spec.kind === 'auth' || (o.version === 5 && spec.kind !== 'pingreq' && spec.kind !== 'raw')) {
    if (spec.kind === 'disconnect' || (spec.kind.startsWith('pub') && spec.kind !== 'publish')) o.reasonCode ??= 0;
    o.properties ??= [];
    lists.push(o.properties);
  }
  return lists;
}

/** Spec-level mutations; each returns a short name for the case description. */
export const SPEC_MUTATIONS = {
  duplicateProperty(rng, specs) {
    const candidates = specs.flatMap(propertyLists);
    if (candidates.length === 0) return undefined;
    const list = rng.pick(candidates);
    if (list.length === 0) {
      const id = rng.pick(PROPERTY_IDS.filter((p) => p !== Prop.UserProperty));
      list.push([id, propertyValue(rng, id)]);
    }
    const entry = rng.pick(list);
    list.splice(rng.int(list.length + 1), 0, [entry[0], rng.chance(0.5) ? entry[1] : propertyValue(rng, entry[0])]);
    return `dup-prop-${entry[0]}`;
  },
  misplacedProperty(rng, specs) {
    const candidates = specs.flatMap(propertyLists);
    if (candidates.length === 0) return undefined;
    const id = rng.pick(PROPERTY_IDS);
    rng.pick(candidates).push([id, propertyValue(rng, id)]);
    return `prop-${id}`;
  },
  extremeProperty(rng, specs) {
    const candidates = specs.flatMap(propertyLists);
    if (candidates.length === 0) return undefined;
    const list = rng.pick(candidates);
    const id = list.length > 0 && rng.chance(0.5) ? rng.pick(list)[0] : rng.pick(PROPERTY_IDS);
    list.push([id, propertyValue(rng, id, true)]);
    return `extreme-prop-${id}`;
  },
  field(rng, specs) {
    const spec = rng.pick(specs);
    const o = spec.opts;
    switch (spec.kind) {
      case 'connect': {
        const what = rng.int(9);
        if (what === 0) o.protocolLevel = rng.pick([0, 1, 2, 3, 4, 5, 6, 9, 0x83, 0x84, 0x85, 255]);
        else if (what === 1) o.protocolName = rng.pick(['MQTT', 'MQIsdp', 'MQTS', '', 'mqtt', BAD_UTF8[0]]);
        else if (what === 2) o.reservedFlag = true;
        else if (what === 3) o.extraFlags = rng.pick([0x04, 0x08, 0x10, 0x18, 0x20, 0x40, 0x80, 0x01, 0xff]);
        else if (what === 4 && o.will) o.will.qos = 3;
        else if (what === 5) o.clientId = rng.pick(['x'.repeat(rng.range(23, 300)), ...BAD_UTF8, '+', '#', '']);
        else if (what === 6 && o.will) o.will.topic = rng.pick([...BAD_TOPICS, ...BAD_UTF8]);
        else if (what === 7) o.password = rng.bytes(rng.int(8));
        else o.clean = !o.clean;
        return `connect-field-${what}`;
      }
      case 'publish': {
        const what = rng.int(7);
        if (what === 0) o.qos = 3;
        else if (what === 1) o.topic = rng.pick([...BAD_TOPICS, ...BAD_UTF8]);
        else if (what === 2) o.packetId = 0;
        else if (what === 3) o.dup = true;
        else if (what === 4) {
          o.qos = rng.int(3);
          if (o.qos > 0) o.packetId ??= 1;
        } else if (what === 5) o.packetId = o.packetId === undefined ? 7 : undefined;
        else o.retain = !o.retain;
        if (o.qos > 0 && o.packetId === undefined) o.packetId = 0;
        return `publish-field-${what}`;
      }
      case 'subscribe': {
        const what = rng.int(6);
        const sub = o.subscriptions[0];
        if (what === 0) o.subscriptions = [];
        else if (what === 1 && sub) sub.qos = 3;
        else if (what === 2 && sub) sub.extraOptions = rng.pick([0x40, 0x80, 0xc0, 0x30]);
        else if (what === 3 && sub) sub.filter = rng.pick([...BAD_FILTERS, ...BAD_UTF8]);
        else if (what === 4) o.packetId = 0;
        else if (sub) sub.noLocal = true;
        return `subscribe-field-${what}`;
      }
      case 'unsubscribe':
        if (rng.chance(0.5)) o.filters = [];
        else o.packetId = 0;
        return 'unsubscribe-field';
      case 'disconnect':
      case 'auth':
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        if (o.version !== 5 && spec.kind !== 'auth') {
          spec.id = rng.pick([0, 0xffff, 9]);
          return 'ack-id';
        }
        o.reasonCode = rng.pick([0, 0x04, 0x10, 0x18, 0x19, 0x80, 0x84, 0x8b, 0x92, 0xa1, 0xff]);
        return `${spec.kind}-reason-${o.reasonCode}`;
      default:
        return undefined;
    }
  },
  /** A packet the broker must not accept where it is: a second CONNECT, AUTH in 3.x, server-only packets. */
  outOfState(rng, specs, version) {
    const what = rng.int(6);
    let spec;
    if (what === 0 || what === 1) {
      // A second CONNECT, any version, sometimes with a nonsense protocol level (issue 8 §1).
      const v = rng.pick([3, 4, 5]);
      spec = connectSpec(rng, v)[0];
      if (what === 1) spec.opts.protocolLevel = rng.pick([0, 1, 2, 6, 7, 9, 127, 255]);
    } else if (what === 2) {
      spec = { kind: 'auth', opts: { reasonCode: rng.pick([0, 0x18, 0x19]), properties: rng.chance(0.5) ? [[Prop.AuthenticationMethod, 'FUZZ']] : [] } };
    } else if (what === 3) {
      // Server-to-client packets: CONNACK, SUBACK, UNSUBACK, PINGRESP.
      const first = rng.pick([0x20, 0x90, 0xb0, 0xd0]);
      spec = { kind: 'raw', opts: { first, body: first === 0xd0 ? [] : [0, 1, 0] } };
    } else if (what === 4) {
      spec = { kind: rng.pick(['pubrel', 'puback', 'pubrec', 'pubcomp']), id: rng.pick([1, 2, 500, 0]), opts: { version } };
    } else {
      spec = { kind: 'raw', opts: { first: rng.pick([0x00, 0xf0, 0x12, 0x60, 0x80, 0xa0]), body: rng.bytes(rng.int(6)) } };
    }
    specs.splice(rng.int(specs.length + 1), 0, spec);
    return `out-of-state-${what}`;
  },
};

/** Encodes `n` in `size` bytes of Variable Byte Integer, non-minimally (or beyond 4 bytes). */
function longVarint(n, size) {
  const out = [];
  let rest = n;
  for (let i = 0; i < size; i++) {
    const byte = rest % 128;
    rest = Math.floor(rest / 128);
    out.push(i < size - 1 ? byte | 0x80 : byte);
  }
  return Uint8Array.from(out);
}

/** Offset of the body of a framed packet (after the Remaining Length), if it parses. */
function bodyOffset(packet) {
  let pos = 1;
  while (pos < 5 && pos < packet.length && packet[pos] & 0x80) pos++;
  return pos + 1;
}

/** Packet-level mutations on the built packets (an array of Uint8Array). */
export const PACKET_MUTATIONS = {
  flipFlags(rng, packets) {
    const i = rng.int(packets.length);
    const p = Uint8Array.from(packets[i]);
    p[0] ^= 1 << rng.int(4);
    packets[i] = p;
    return 'flip-flags';
  },
  changeType(rng, packets) {
    const i = rng.int(packets.length);
    const p = Uint8Array.from(packets[i]);
    p[0] = (rng.int(16) << 4) | (rng.chance(0.5) ? p[0] & 0x0f : rng.int(16));
    packets[i] = p;
    return 'change-type';
  },
  wrongLength(rng, packets) {
    const i = rng.int(packets.length);
    const p = packets[i];
    const body = p.subarray(bodyOffset(p));
    const what = rng.int(4);
    let header;
    if (what === 0) header = varint(Math.max(0, body.length + rng.pick([-3, -2, -1, 1, 2, 3, 100])));
    else if (what === 1) header = longVarint(body.length, rng.range(2, 4));
    else if (what === 2) header = longVarint(body.length, 5);
    else header = varint(rng.pick([0, 1, 2, 127, 128, 16383, 268435455]));
    packets[i] = concat([Uint8Array.of(p[0]), header, body]);
    return `wrong-length-${what}`;
  },
  truncatePacket(rng, packets) {
    const i = rng.int(packets.length);
    packets[i] = packets[i].slice(0, rng.int(packets[i].length));
    return 'truncate-packet';
  },
  duplicate(rng, packets) {
    const i = rng.int(packets.length);
    packets.splice(rng.chance(0.5) ? i + 1 : rng.int(packets.length + 1), 0, packets[i]);
    return 'duplicate';
  },
  reorder(rng, packets) {
    if (packets.length < 2) return undefined;
    const i = rng.int(packets.length);
    const j = rng.int(packets.length);
    [packets[i], packets[j]] = [packets[j], packets[i]];
    return 'reorder';
  },
  drop(rng, packets) {
    if (packets.length < 2) return undefined;
    packets.splice(rng.int(packets.length), 1);
    return 'drop';
  },
  byteFlip(rng, packets) {
    const i = rng.int(packets.length);
    const p = Uint8Array.from(packets[i]);
    const n = rng.range(1, 3);
    for (let k = 0; k < n; k++) {
      const at = rng.int(p.length);
      p[at] = rng.chance(0.5) ? p[at] ^ (1 << rng.int(8)) : rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(256)]);
    }
    packets[i] = p;
    return 'byte-flip';
  },
  insertBytes(rng, packets) {
    const i = rng.int(packets.length);
    const p = packets[i];
    const at = rng.int(p.length + 1);
    packets[i] = concat([p.subarray(0, at), rng.bytes(rng.range(1, 8)), p.subarray(at)]);
    return 'insert-bytes';
  },
  rewrapBody(rng, packets) {
    // Keeps the body, re-frames it with a correct length under another first byte: a
    // well-formed frame whose content belongs to another packet type.
    const i = rng.int(packets.length);
    const p = packets[i];
    packets[i] = frame(rng.int(256), p.subarray(bodyOffset(p)));
    return 'rewrap';
  },
  garbagePacket(rng, packets) {
    packets.splice(rng.int(packets.length + 1), 0, rawPacket(rng.int(256), rng.bytes(rng.size(64))));
    return 'garbage-packet';
  },
};

const SPEC_TABLE = [
  [3, 'duplicateProperty'],
  [3, 'misplacedProperty'],
  [2, 'extremeProperty'],
  [5, 'field'],
  [4, 'outOfState'],
];
const PACKET_TABLE = [
  [3, 'flipFlags'],
  [2, 'changeType'],
  [3, 'wrongLength'],
  [2, 'truncatePacket'],
  [3, 'duplicate'],
  [2, 'reorder'],
  [2, 'drop'],
  [4, 'byteFlip'],
  [1, 'insertBytes'],
  [1, 'rewrapBody'],
  [1, 'garbagePacket'],
];

/** Applies a few spec mutations (names pushed to `applied`). */
export function mutateSpecs(rng, specs, version, count, applied) {
  for (let i = 0; i < count; i++) {
    const name = SPEC_MUTATIONS[rng.weighted(SPEC_TABLE)](rng, specs, version);
    if (name) applied.push(name);
  }
}

export function mutatePackets(rng, packets, count, applied) {
  for (let i = 0; i < count && packets.length > 0; i++) {
    const name = PACKET_MUTATIONS[rng.weighted(PACKET_TABLE)](rng, packets);
    if (name) applied.push(name);
  }
}

/** Stream-level: truncation, or garbage before/after. */
export function mutateStream(rng, bytes, applied) {
  const what = rng.int(3);
  if (what === 0 && bytes.length > 0) {
    applied.push('truncate');
    return bytes.slice(0, rng.int(bytes.length));
  }
  if (what === 1) {
    applied.push('garbage-tail');
    return concat([bytes, rng.bytes(rng.size(256))]);
  }
  applied.push('garbage-head');
  return concat([rng.bytes(rng.range(1, 8)), bytes]);
}
