// Codec micro-benchmark: hato (@hato/protocol, built dist) against mqtt-packet, one run.
// Usage: npm run bench:codec   (builds, then `node bench/codec.js`)
// Prints one line per figure: ops/s of each library (best of 3 alternating rounds) and the
// ratio hato/mqtt-packet. BENCH_MS sets the time per round (default 300 ms).
import { Decoder, encode } from '@hato/protocol';
import mqttPacket from 'mqtt-packet';

const DURATION_MS = Number(process.env.BENCH_MS ?? 300);
const ROUNDS = 3;

function payload(size) {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 31) & 0xff;
  return p;
}

/** Runs fn(iterations) in growing batches for DURATION_MS; returns ops/s. */
function measureOnce(fn) {
  let batch = 1000;
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < DURATION_MS) {
    ops += fn(batch);
    elapsed = performance.now() - start;
    if (elapsed < DURATION_MS / 10) batch *= 2;
  }
  return (ops * 1000) / elapsed;
}

/**
 * Warms both up, then alternates ROUNDS measurements of each and keeps each side's best,
 * so a burst of load from other processes does not decide the ratio.
 */
function compare(hatoFn, refFn) {
  hatoFn(2000);
  refFn(2000);
  let hato = 0;
  let ref = 0;
  for (let r = 0; r < ROUNDS; r++) {
    hato = Math.max(hato, measureOnce(hatoFn));
    ref = Math.max(ref, measureOnce(refFn));
  }
  return [hato, ref];
}

// ---- scenarios: a hato packet, the same packet for mqtt-packet, and the version ----
const scenarios = [
  {
    name: 'PUBLISH 64 B QoS 1 (3.1.1)',
    version: 4,
    hato: { type: 'publish', topic: 'sensors/building-1/floor-2/temperature', payload: payload(64), qos: 1, retain: false, dup: false, packetId: 42 },
  },
  {
    name: 'PUBLISH 4 KB QoS 1 (3.1.1)',
    version: 4,
    hato: { type: 'publish', topic: 'sensors/building-1/floor-2/temperature', payload: payload(4096), qos: 1, retain: false, dup: false, packetId: 42 },
  },
  {
    name: 'PUBLISH 64 B QoS 1 + properties (5.0)',
    version: 5,
    hato: {
      type: 'publish',
      topic: 'sensors/building-1/floor-2/temperature',
      payload: payload(64),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
      properties: { payloadFormatIndicator: 1, messageExpiryInterval: 3600, contentType: 'application/json', userProperties: [['unit', 'celsius']] },
    },
  },
  {
    name: 'PUBLISH 4 KB QoS 1 + properties (5.0)',
    version: 5,
    hato: {
      type: 'publish',
      topic: 'sensors/building-1/floor-2/temperature',
      payload: payload(4096),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
      properties: { payloadFormatIndicator: 1, messageExpiryInterval: 3600, contentType: 'application/json', userProperties: [['unit', 'celsius']] },
    },
  },
  {
    name: 'CONNECT with will (3.1.1)',
    version: 4,
    hato: {
      type: 'connect',
      protocolVersion: 4,
      clientId: 'bench-client-0001',
      cleanStart: true,
      keepAlive: 60,
      username: 'user',
      password: payload(12),
      will: { topic: 'clients/bench-client-0001/status', payload: payload(16), qos: 1, retain: true },
    },
  },
  {
    name: 'SUBSCRIBE 3 filters (5.0)',
    version: 5,
    hato: {
      type: 'subscribe',
      packetId: 7,
      subscriptions: [
        { topicFilter: 'sensors/+/temperature', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: 'alerts/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 1 },
        { topicFilter: 'config/device-17', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 2 },
      ],
      properties: { subscriptionIdentifiers: [12] },
    },
  },
];

/** hato packet → mqtt-packet packet object. */
function toMqttPacket(p) {
  switch (p.type) {
    case 'publish':
      return {
        cmd: 'publish',
        topic: p.topic,
        payload: Buffer.from(p.payload),
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
        // mqtt-packet: payloadFormatIndicator is a boolean, user properties an object.
        properties: p.properties && {
          ...p.properties,
          payloadFormatIndicator: p.properties.payloadFormatIndicator === 1,
          userProperties: Object.fromEntries(p.properties.userProperties),
        },
      };
    case 'connect':
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.cleanStart,
        keepalive: p.keepAlive,
        username: p.username,
        password: Buffer.from(p.password),
        will: { topic: p.will.topic, payload: Buffer.from(p.will.payload), qos: p.will.qos, retain: p.will.retain },
      };
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling })),
        properties: { subscriptionIdentifier: p.properties.subscriptionIdentifiers[0] },
      };
    default:
      throw new Error(p.type);
  }
}

function hatoDecode(bytes, version) {
  const decoder = new Decoder({ protocolVersion: version });
  return (n) => {
    for (let i = 0; i < n; i++) {
      decoder.push(bytes);
      if (decoder.next() === null) throw new Error('hato: no packet');
    }
    return n;
  };
}

function mqttPacketDecode(bytes, version) {
  const parser = mqttPacket.parser({ protocolVersion: version });
  let count = 0;
  parser.on('packet', () => count++);
  parser.on('error', (e) => {
    throw e;
  });
  const buf = Buffer.from(bytes);
  return (n) => {
    const before = count;
    for (let i = 0; i < n; i++) parser.parse(buf);
    if (count - before !== n) throw new Error('mqtt-packet: packet count mismatch');
    return n;
  };
}

function line(label, [hato, ref]) {
  const f = (x) => Math.round(x).toLocaleString('en-US').padStart(13);
  console.log(`${label.padEnd(52)} hato ${f(hato)} ops/s   mqtt-packet ${f(ref)} ops/s   ratio ${(hato / ref).toFixed(2)}x`);
}

function runScenario(s) {
  const bytes = encode(s.hato, s.version);
  const ref = toMqttPacket(s.hato);
  const refBytes = mqttPacket.generate(ref, { protocolVersion: s.version });
  if (refBytes.length !== bytes.length) throw new Error(`${s.name}: encodings differ in length (${bytes.length} vs ${refBytes.length})`);
  line(`decode ${s.name}`, compare(hatoDecode(bytes, s.version), mqttPacketDecode(refBytes, s.version)));
  const opts = { protocolVersion: s.version };
  line(
    `encode ${s.name}`,
    compare(
      (n) => {
        for (let i = 0; i < n; i++) encode(s.hato, s.version);
        return n;
      },
      (n) => {
        for (let i = 0; i < n; i++) mqttPacket.generate(ref, opts);
        return n;
      },
    ),
  );
}

/** Many small packets (QoS 1 PUBLISH 32 B + PUBACK) cut into 64 KB chunks; ops = packets. */
function runStream() {
  const parts = [];
  for (let i = 0; i < 2000; i++) {
    parts.push(encode({ type: 'publish', topic: `t/${i % 50}`, payload: payload(32), qos: 1, retain: false, dup: false, packetId: (i % 65535) + 1 }, 4));
    parts.push(encode({ type: 'puback', packetId: (i % 65535) + 1 }, 4));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const chunks = [];
  for (let i = 0; i < total; i += 65536) chunks.push(all.subarray(i, Math.min(total, i + 65536)));
  const bufChunks = chunks.map((c) => Buffer.from(c));
  const count = parts.length;
  const hato = (n) => {
    let got = 0;
    for (let k = 0; k < n; k += count) {
      const d = new Decoder({ protocolVersion: 4 });
      for (const c of chunks) {
        d.push(c);
        while (d.next() !== null) got++;
      }
    }
    return got;
  };
  const ref = (n) => {
    let got = 0;
    for (let k = 0; k < n; k += count) {
      const p = mqttPacket.parser({ protocolVersion: 4 });
      p.on('packet', () => got++);
      for (const c of bufChunks) p.parse(c);
    }
    return got;
  };
  line('decode stream of 4000 small packets in 64 KB chunks', compare(hato, ref));
}

const started = performance.now();
for (const s of scenarios) runScenario(s);
runStream();
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
