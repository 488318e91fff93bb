/** Dispatches a complete packet body to its decoder after checking the fixed-header flags. */
import { decodeAck, decodeAuth, decodeDisconnect, decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './decode-acks.js';
import { decodeConnack } from './decode-connect.js';
import { decodePublish } from './decode-publish.js';
import { MalformedPacketError } from './errors.js';
import type { Packet, ProtocolVersion } from './packets.js';
import type { Reader } from './reader.js';

/** Required fixed-header flags per type code [MQTT-2.2.2-1]; -1 = PUBLISH (flags carry data). */
const requiredFlags = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/**
 * Decodes the body in `r` of a packet of type `typeCode` (not CONNECT) for `version`.
 * MQTT 3.1 did not define the flags of non-PUBLISH packets beyond the QoS 1 of PUBREL,
 * SUBSCRIBE and UNSUBSCRIBE (whose DUP bit it allowed), so 3.1 checks only those bits.
 */
export function decodeBody(r: Reader, typeCode: number, flags: number, version: ProtocolVersion): Packet {
  const required = requiredFlags[typeCode]!;
  if (required >= 0) {
    const checked = version === 3 ? flags & 0x06 : flags;
    if (checked !== required) throw new MalformedPacketError(`invalid fixed header flags for packet type ${typeCode} [MQTT-2.2.2-1] [MQTT-2.2.2-2]`);
  }
  switch (typeCode) {
    case 3:
      return decodePublish(r, flags, version);
    case 2:
      return decodeConnack(r, flags, version);
    case 4:
    case 5:
    case 6:
    case 7:
      return decodeAck(r, typeCode, version);
    case 8:
      return decodeSubscribe(r, version);
    case 9:
      return decodeSuback(r, version);
    case 10:
      return decodeUnsubscribe(r, version);
    case 11:
      return decodeUnsuback(r, version);
    case 12:
      r.done('PINGREQ');
      return { type: 'pingreq' };
    case 13:
      r.done('PINGRESP');
      return { type: 'pingresp' };
    case 14:
      return decodeDisconnect(r, version);
    case 15:
      if (version !== 5) throw new MalformedPacketError('AUTH packet before MQTT 5.0 (reserved packet type 15)');
      return decodeAuth(r);
    default:
      throw new MalformedPacketError(`reserved packet type ${typeCode}`);
  }
}
