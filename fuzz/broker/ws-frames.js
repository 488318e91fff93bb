// WebSocket (RFC 6455) client side by hand: the upgrade request and masked frames, valid or
// not, so the broker's WebSocket listener sees framing errors as well as mutated MQTT.
import { concat } from '@hato/testkit';

const encoder = new TextEncoder();

/** The HTTP upgrade request; `bad` picks one malformation. */
export function upgradeRequest(rng, bad) {
  const key = Buffer.from(rng.bytes(16)).toString('base64');
  const lines = {
    start: 'GET /mqtt HTTP/1.1',
    host: 'Host: 127.0.0.1',
    upgrade: 'Upgrade: websocket',
    connection: 'Connection: Upgrade',
    key: `Sec-WebSocket-Key: ${key}`,
    version: 'Sec-WebSocket-Version: 13',
    protocol: `Sec-WebSocket-Protocol: ${rng.weighted([
      [8, 'mqtt'],
      [1, 'mqttv3.1'],
      [1, 'mqtt, foo'],
    ])}`,
  };
  if (bad) {
    const what = rng.int(8);
    if (what === 0) lines.start = rng.pick(['GET /other HTTP/1.1', 'GET / HTTP/1.1', 'POST /mqtt HTTP/1.1', 'GET /mqtt HTTP/1.0', 'GET /mqtt?x=1 HTTP/1.1']);
    else if (what === 1) delete lines.key;
    else if (what === 2) lines.version = rng.pick(['Sec-WebSocket-Version: 8', 'Sec-WebSocket-Version: x']);
    else if (what === 3) lines.protocol = rng.pick(['Sec-WebSocket-Protocol: foo', 'Sec-WebSocket-Protocol: ']);
    else if (what === 4) delete lines.protocol;
    else if (what === 5) delete lines.upgrade;
    else if (what === 6) lines.key = 'Sec-WebSocket-Key: short';
    else lines.host = `X-Junk: ${'a'.repeat(rng.range(1, 20000))}`;
  }
  return encoder.encode(`${Object.values(lines).join('\r\n')}\r\n\r\n`);
}

/** One frame. `opts`: fin, rsv (3 bits), opcode, masked, lengthForm ('min' | 16 | 64), declared (a lie). */
export function wsFrame(rng, payload, opts = {}) {
  const { fin = true, rsv = 0, opcode = 2, masked = true, lengthForm = 'min', declared } = opts;
  const n = declared ?? payload.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (lengthForm === 'min' && n < 126) head.push(maskBit | n);
  else if ((lengthForm === 'min' || lengthForm === 16) && n < 65536) head.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    const hi = Math.floor(n / 2 ** 32);
    head.push(maskBit | 127, (hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (!masked) return concat([Uint8Array.from(head), payload]);
  const mask = rng.bytes(4);
  const body = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i] ^ mask[i & 3];
  return concat([Uint8Array.from(head), mask, body]);
}

/**
 * MQTT bytes cut into binary frames (sometimes fragmented with continuation frames, with
 * pings between); with `mutate`, one framing error or oddity is injected.
 */
export function wsFrames(rng, bytes, mutate, applied) {
  const pieces = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = rng.chance(0.5) ? bytes.length - pos : rng.range(1, Math.max(1, bytes.length - pos));
    pieces.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  if (pieces.length === 0) pieces.push(new Uint8Array(0));
  const frames = [];
  const fragmented = rng.chance(0.2);
  pieces.forEach((piece, i) => {
    if (fragmented) frames.push(wsFrame(rng, piece, { opcode: i === 0 ? 2 : 0, fin: i === pieces.length - 1 }));
    else frames.push(wsFrame(rng, piece));
    if (rng.chance(0.05)) frames.push(wsFrame(rng, rng.bytes(rng.int(10)), { opcode: rng.pick([9, 10]) }));
  });
  if (mutate) {
    const what = rng.int(12);
    const at = rng.int(frames.length + 1);
    const data = rng.bytes(rng.int(20));
    let extra;
    if (what === 0) extra = wsFrame(rng, data, { masked: false });
    else if (what === 1) extra = wsFrame(rng, encoder.encode('text'), { opcode: 1 });
    else if (what === 2) extra = wsFrame(rng, data, { opcode: rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) });
    else if (what === 3) extra = wsFrame(rng, data, { rsv: rng.range(1, 7) });
    else if (what === 4) extra = wsFrame(rng, rng.bytes(rng.range(126, 300)), { opcode: 9 });
    else if (what === 5) extra = wsFrame(rng, data, { opcode: 9, fin: false });
    else if (what === 6) extra = wsFrame(rng, data, { opcode: 0 });
    else if (what === 7) extra = wsFrame(rng, Uint8Array.of(0x03, 0xe8), { opcode: 8 });
    else if (what === 8) extra = wsFrame(rng, data, { declared: rng.pick([2 ** 32, 2 ** 53 - 1, 200 * 1024 * 1024, 1024 * 1024]) });
    else if (what === 9) extra = wsFrame(rng, data, { lengthForm: rng.pick([16, 64]) });
    else if (what === 10) extra = wsFrame(rng, data, { fin: false });
    else extra = rng.bytes(rng.range(1, 16));
    frames.splice(at, 0, extra);
    applied.push(`ws-${what}`);
  }
  return concat(frames);
}
