/**
 * What a valid server says, chosen by the case's Rng: CONNACK variants (3.1.1 and 5.0,
 * with and without properties, sometimes a refusal or a redirection), the answer to
 * each client packet, and unsolicited packets: PUBLISH QoS 0/1/2 (with topic aliases,
 * response topics, a payload over the client's Maximum Packet Size), acks for ids the
 * client never used, a second CONNACK, AUTH, DISCONNECT with any reason code.
 */
import type { Packet } from '@hato/protocol';
import type { Rng } from './mutate.js';
import { ack, auth, connack, disconnect, type Prop, pingresp, publish, suback, unsuback, type Version } from './server-packets.js';

/** What the fuzz client announces in CONNECT (5.0): the broker must stay within, or break it on purpose. */
export const CLIENT_LIMITS = { maximumPacketSize: 2048, topicAliasMaximum: 4, receiveMaximum: 8 };

const REFUSALS_5 = [0x80, 0x81, 0x82, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
const DISCONNECT_CODES = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x93, 0x94, 0x95, 0x97, 0x98, 0x9c, 0x9d, 0x9e, 0xa1, 0xa2];
const PUBACK_CODES = [0x00, 0x00, 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const SUBACK_CODES_5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const enc = new TextEncoder();

function connackProps(rng: Rng, port: number): Prop[] {
  const all: Prop[] = [
    [0x11, 'u32', rng.int(100)], // session expiry interval
    [0x21, 'u16', 1 + rng.int(4)], // receive maximum
    [0x24, 'byte', rng.int(2)], // maximum QoS
    [0x25, 'byte', rng.int(2)], // retain available
    [0x27, 'u32', 64 + rng.int(4096)], // maximum packet size
    [0x12, 'utf8', `assigned-${rng.int(1000)}`], // assigned client identifier
    [0x22, 'u16', rng.int(5)], // topic alias maximum
    [0x1f, 'utf8', 'reason'], // reason string
    [0x26, 'pair', ['k', 'v']], // user property
    [0x13, 'u16', rng.int(3)], // server keep alive
    [0x1a, 'utf8', 'resp/info'], // response information
    [0x1c, 'utf8', `127.0.0.1:${port}`], // server reference
  ];
  return all.filter(() => rng.chance(0.25));
}

export function connackFor(v: Version, rng: Rng, scripted: boolean, clean: boolean, port: number): Uint8Array {
  if (!scripted) return connack(v, false, 0);
  const refuse = rng.chance(0.1);
  const sessionPresent = rng.chance(clean ? 0.05 : 0.5);
  if (v === 4) return connack(4, sessionPresent && !refuse, refuse ? 1 + rng.int(5) : 0);
  const code = refuse ? rng.pick(REFUSALS_5) : 0;
  return connack(5, sessionPresent && !refuse, code, rng.chance(0.5) ? connackProps(rng, port) : undefined);
}

/** The valid answer to a client packet (scripted sessions sometimes answer with a failure code). */
export function reply(v: Version, packet: Packet, rng: Rng, scripted: boolean): Uint8Array[] {
  const code = (codes: number[]) => (scripted && v === 5 ? rng.pick(codes) : 0);
  switch (packet.type) {
    case 'subscribe': {
      const codes = packet.subscriptions.map((s) => (scripted && rng.chance(0.2) ? (v === 5 ? rng.pick(SUBACK_CODES_5) : 0x80) : s.qos));
      return [suback(v, packet.packetId, codes)];
    }
    case 'unsubscribe':
      return [unsuback(v, packet.packetId, packet.topicFilters.map(() => (scripted && rng.chance(0.2) ? 0x11 : 0)))];
    case 'publish':
      return publishAnswer(v, packet, rng, code(PUBACK_CODES));
    case 'pubrel':
      return [ack(0x70, v, packet.packetId)];
    case 'pubrec':
      return [ack(0x62, v, packet.packetId)];
    case 'pingreq':
      return [pingresp()];
    default:
      return [];
  }
}

function publishAnswer(v: Version, packet: Packet & { type: 'publish' }, rng: Rng, code: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (packet.qos === 1) out.push(ack(0x40, v, packet.packetId!, code));
  if (packet.qos === 2) out.push(ack(0x50, v, packet.packetId!, code));
  // A request(): answer on its response topic with its correlation data.
  const responseTopic = packet.properties?.responseTopic;
  if (v === 5 && responseTopic !== undefined && rng.chance(0.7)) {
    const props: Prop[] = [];
    if (packet.properties?.correlationData) props.push([0x09, 'binary', packet.properties.correlationData]);
    out.push(publish(5, { topic: responseTopic, qos: 0, payload: enc.encode('response'), props }));
  }
  return out;
}

function aliasProps(rng: Rng): { topic: string; props: Prop[] } {
  const alias = rng.pick([0, 1, 2, 3, 4, 5, 0xffff]); // 0 and > 4 are beyond the client's Topic Alias Maximum
  return { topic: rng.chance(0.5) ? '' : 'fuzz/alias', props: [[0x23, 'u16', alias]] };
}

function unsolicitedPublish(v: Version, rng: Rng): Uint8Array {
  const qos = rng.int(3) as 0 | 1 | 2;
  let topic = rng.pick(['fuzz/a', 'fuzz/b/c', 'other', '_hato/response/x']);
  let props: Prop[] | undefined;
  if (v === 5 && rng.chance(0.3)) ({ topic, props } = aliasProps(rng));
  if (v === 5 && rng.chance(0.2)) props = [...(props ?? []), [0x01, 'byte', 1], [0x08, 'utf8', 'reply/here']];
  const size = rng.chance(0.05) ? CLIENT_LIMITS.maximumPacketSize + rng.int(64) : rng.int(32);
  const spec = { topic, qos, packetId: 1 + rng.int(rng.chance(0.5) ? 8 : 65535), payload: new Uint8Array(size), retain: rng.chance(0.2), dup: rng.chance(0.1) };
  return publish(v, props ? { ...spec, props } : spec);
}

/** A packet the server sends on its own after CONNACK. */
export function unsolicited(v: Version, rng: Rng, port: number): Uint8Array {
  const id = 1 + rng.int(rng.chance(0.7) ? 8 : 65535);
  switch (rng.int(11)) {
    case 0:
    case 1:
    case 2:
      return unsolicitedPublish(v, rng);
    case 3:
      return ack(rng.pick([0x40, 0x50, 0x62, 0x70] as const), v, id, v === 5 ? rng.pick([0, 0x92]) : 0);
    case 4:
      return suback(v, id, [rng.int(3)]);
    case 5:
      return unsuback(v, id, [0]);
    case 6:
      return connack(v, false, 0);
    case 7:
      return v === 5 ? auth(rng.pick([0x00, 0x18, 0x19]), [[0x15, 'utf8', 'SCRAM']]) : pingresp();
    case 8: {
      const code = rng.chance(0.8) ? rng.pick(DISCONNECT_CODES) : rng.int(256);
      return disconnect(v, code, code === 0x9c || code === 0x9d ? [[0x1c, 'utf8', `127.0.0.1:${port}`]] : undefined);
    }
    case 9:
      return pingresp();
    default:
      return unsolicitedPublish(v, rng);
  }
}
