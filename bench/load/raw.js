// Pre-encoded MQTT 3.1.1 packets and a minimal stream scanner for the load generator.
// Deliberately independent of @hato/protocol and mqtt-packet: the load generator must be
// cheap and must not share code with either broker under test.

const enc = new TextEncoder();

function remainingLength(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s) {
  const b = enc.encode(s);
  return [b.length >> 8, b.length & 0xff, ...b];
}

function packet(first, body) {
  return Buffer.from([first, ...remainingLength(body.length), ...body]);
}

export function connect(clientId, clean = true) {
  // protocol name MQTT, level 4, flags (clean session), keepalive 0 (disabled for the run)
  return packet(0x10, [...str('MQTT'), 4, clean ? 0x02 : 0, 0, 0, ...str(clientId)]);
}

export function subscribe(packetId, topic, qos) {
  return packet(0x82, [packetId >> 8, packetId & 0xff, ...str(topic), qos]);
}

/** A PUBLISH with a patchable packet id: returns { bytes, idOffset } (idOffset -1 for QoS 0). */
export function publish(topic, payload, qos) {
  const t = str(topic);
  const body = qos > 0 ? [...t, 0, 0, ...payload] : [...t, ...payload];
  const bytes = packet(0x30 | (qos << 1), body);
  const idOffset = qos > 0 ? bytes.length - payload.length - 2 : -1;
  return { bytes, idOffset };
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);

/**
 * Scans a byte stream for MQTT packets and calls onPacket(type, buf, start, end) with the
 * body bounds of each complete packet. Keeps at most one partial packet between chunks.
 */
export class Scanner {
  constructor(onPacket) {
    this.onPacket = onPacket;
    this.rest = null;
  }
  push(chunk) {
    let buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (pos + 2 > len) break;
      let mult = 1;
      let rl = 0;
      let i = pos + 1;
      let complete = false;
      for (; i < len && i < pos + 5; i++) {
        const b = buf[i];
        rl += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || i + rl > len) break;
      this.onPacket(buf[pos], buf, i, i + rl);
      pos = i + rl;
    }
    if (pos < len) this.rest = buf.subarray(pos);
    buf = null;
  }
}
