// Client benchmark: hato's client (@hato/client/node, built dist) vs MQTT.js publishing 64 B
// messages to ONE broker (Mosquitto when installed, else hato's broker), in one run.
//   QoS 0: N publishes as fast as the client API allows (batches of 1000 per macrotask),
//          timed until a raw subscriber (its own process) has received all N: end-to-end msgs/s.
//   QoS 1: N publishes with a sliding window of W awaited at once (promise API for hato,
//          callback API for MQTT.js), timed until the last PUBACK and the last delivery.
// A third contestant, `raw` (no library, pre-encoded packets), shows what the broker allows.
// Each measurement runs in a fresh client process (after a warm-up of N/5 messages); rounds
// alternate which client goes first; the median of the rounds is printed with the ratio.
// Also prints the browser bundle sizes (minified, gzipped) of both clients.
// --memory: QoS 0 back-pressure. Each client publishes 64 B at QoS 0 in a tight loop of awaited
//   publishes (`await publish()`; MQTT.js: `await publishAsync()`) for --seconds, sampling its
//   process's RSS and heap + array buffers; prints rate and memory in the first and the last
//   second. hato's publish waits for a drain past writeHighWaterMark, so its memory stays flat.
//
//   node bench/client.js [--rounds 3] [--n0 100000] [--n1 30000] [--window 100] [--versions 5,4] [--qos 0,1]
//     [--no-raw] [--no-bundle | --bundle-only] [--broker mosquitto|hato]
//   node bench/client.js --memory [--seconds 8] [--versions 5] [--broker mosquitto|hato]
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ask, cpuSeconds, median, startMosquitto } from './lib/procs.js';
import { connect as rawConnect, publish as rawPublish, subscribe as rawSubscribe } from './load/raw.js';

const self = new URL(import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
const root = join(here, '..');
const TOPIC = 'bench/client/t';
const PAYLOAD = Buffer.alloc(64, 0x61);
const BATCH = 1000;
const role = process.argv[2];

/**
 * Raw 3.1.1 subscriber (QoS 0 grant): counts PUBLISH packets, reports when a target is reached.
 * Reads through `onread` into one buffer and scans packet boundaries with a byte-level state
 * machine (no copies, no stream machinery), so the measuring side costs as little as it can.
 */
function runSubscriber() {
  const port = Number(process.argv[3]);
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  // Scanner state: 0 = expecting a fixed header byte, 1 = in the remaining length, 2 = in the body.
  let state = 0;
  let type = 0;
  let length = 0;
  let mult = 1;
  let skip = 0;
  const packetStart = (t) => {
    if (t === 3) {
      if (++count >= target) {
        target = Number.POSITIVE_INFINITY;
        process.send({ done: count });
      }
    } else if (t === 9) process.send({ ready: true });
  };
  const scan = (buf, n) => {
    let i = 0;
    while (i < n) {
      if (state === 2) {
        const take = Math.min(skip, n - i);
        skip -= take;
        i += take;
        if (skip === 0) state = 0;
      } else if (state === 0) {
        type = buf[i++] >> 4;
        state = 1;
        length = 0;
        mult = 1;
      } else {
        const b = buf[i++];
        length += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          packetStart(type);
          skip = length;
          state = skip > 0 ? 2 : 0;
        }
      }
    }
    return true;
  };
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: Buffer.allocUnsafe(1 << 16), callback: (n, buf) => scan(buf, n) } });
  socket.on('error', (err) => {
    console.error('subscriber:', err.message);
    process.exit(1);
  });
  socket.write(Buffer.concat([rawConnect(`bench-sub-${process.pid}`), rawSubscribe(1, TOPIC, 0)]));
  process.on('message', (m) => {
    if (m.cmd === 'expect') {
      target = count + m.n;
      process.send({ armed: true, base: count });
    } else if (m.cmd === 'count') process.send({ count });
  });
}

/** One client under test in its own process: {open} → {ready}; {run, n} → {ran}; {cpu} → {cpu}. */
async function runWorker() {
  let client;
  let kind;
  let cpuStart = process.cpuUsage();
  const fail = (err) => {
    console.error('worker:', err?.message ?? err);
    process.exit(1);
  };
  process.on('message', async (m) => {
    if (m.cmd === 'open') {
      kind = m.client;
      client = kind === 'hato' ? await openHato(m) : kind === 'mqttjs' ? await openMqttjs(m) : await openRaw(m);
      process.send({ ready: true, receiveMaximum: client.receiveMaximum });
    } else if (m.cmd === 'run') {
      cpuStart = process.cpuUsage();
      const t0 = performance.now();
      if (client.burst) await (m.qos === 0 ? client.burst(m.n) : client.windowed(m.n, m.window));
      else if (m.qos === 0) await burst(client.qos0, m.n);
      else await windowed(client.qos1, m.n, m.window).catch(fail);
      process.send({ ran: true, ms: performance.now() - t0 });
    } else if (m.cmd === 'flood') {
      process.send({ flooded: await flood(client.qos0Awaited, m.seconds) });
    } else if (m.cmd === 'cpu') {
      const c = process.cpuUsage(cpuStart);
      process.send({ cpu: (c.user + c.system) / 1e6 });
    }
  });
}

async function openHato({ port, version }) {
  const { connectAsync } = await import('@hato/client/node');
  const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: version, reconnect: false });
  const connack = await c.connected();
  const opts1 = { qos: 1 };
  return {
    receiveMaximum: connack.properties?.receiveMaximum,
    qos0: () => c.publish(TOPIC, PAYLOAD),
    qos0Awaited: () => c.publish(TOPIC, PAYLOAD),
    qos1: (done, fail) => c.publish(TOPIC, PAYLOAD, opts1).then(done, fail),
  };
}

async function openMqttjs({ port, version }) {
  const mqtt = (await import('mqtt')).default;
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: version, reconnectPeriod: 0 });
  const opts0 = { qos: 0 };
  const opts1 = { qos: 1 };
  return {
    receiveMaximum: undefined,
    qos0: () => c.publish(TOPIC, PAYLOAD, opts0),
    qos0Awaited: () => c.publishAsync(TOPIC, PAYLOAD, opts0),
    qos1: (done, fail) => c.publish(TOPIC, PAYLOAD, opts1, (err) => (err ? fail(err) : done())),
  };
}

/**
 * The reference without a library: pre-encoded 3.1.1 PUBLISH packets written in batches,
 * PUBACKs counted by a byte scan. For QoS 0 it is the ceiling the broker and the
 * subscriber allow on this machine.
 */
async function openRaw({ port }) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const q0 = rawPublish(TOPIC, PAYLOAD, 0).bytes;
  const batch0 = Buffer.concat(Array.from({ length: 100 }, () => q0));
  const q1 = rawPublish(TOPIC, PAYLOAD, 1);
  let onAck = null;
  let pending = 0; // PUBACK bytes still to skip of a packet split across reads
  let connected;
  const ready = new Promise((r) => (connected = r));
  socket.on('data', (chunk) => {
    let i = pending;
    pending = 0;
    if (connected) {
      connected();
      connected = null;
      i += 4; // CONNACK
    }
    let acks = 0;
    for (; i < chunk.length; i += 4) acks++; // only PUBACKs (4 bytes) follow
    pending = i - chunk.length;
    if (acks > 0) onAck?.(acks);
  });
  socket.write(rawConnect(`bench-raw-${process.pid}`));
  await ready;
  let id = 0;
  const packet1 = () => {
    const b = Buffer.from(q1.bytes);
    id = (id % 65535) + 1;
    b.writeUInt16BE(id, q1.idOffset);
    return b;
  };
  return {
    receiveMaximum: undefined,
    burst: async (n) => {
      for (let i = 0; i < n; i += 100) {
        socket.write(i + 100 <= n ? batch0 : Buffer.concat(Array.from({ length: n - i }, () => q0)));
        if (i % 1000 === 900) await new Promise(setImmediate);
      }
    },
    windowed: (n, window) =>
      new Promise((resolve) => {
        let sent = Math.min(window, n);
        let acked = 0;
        onAck = (k) => {
          acked += k;
          const more = Math.min(k, n - sent);
          if (more > 0) socket.write(Buffer.concat(Array.from({ length: more }, packet1)));
          sent += more;
          if (acked >= n) resolve();
        };
        socket.write(Buffer.concat(Array.from({ length: sent }, packet1)));
      }),
  };
}

/** QoS 0: n publishes, BATCH per macrotask so the socket drains while we publish. */
async function burst(publish, n) {
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + BATCH);
    for (; i < end; i++) publish();
    await new Promise(setImmediate);
  }
}

/**
 * --memory: `await publish()` in a tight loop for `seconds`. The clock and memory are read
 * in the loop (every 4096 messages): a loop that never waits never lets a timer run.
 */
async function flood(publish, seconds) {
  const samples = []; // [ms since start, messages, rss, heap + array buffers]
  const sample = (t, n) => {
    const m = process.memoryUsage();
    samples.push([t, n, m.rss, m.heapUsed + m.arrayBuffers]);
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let n = 0;
  let next = 0;
  for (;;) {
    await publish();
    if ((++n & 4095) === 0) {
      const t = performance.now() - t0;
      if (t >= next) {
        sample(t, n);
        next = t + 100;
      }
      if (t >= seconds * 1000) break;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { samples, usPerMsg: (cpu.user + cpu.system) / n };
}

/** QoS 1: n publishes, `window` of them awaiting their PUBACK at any time. */
function windowed(publish, n, window) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const done = () => {
      acked++;
      if (sent < n) {
        sent++;
        publish(done, reject);
      } else if (acked === n) resolve();
    };
    for (; sent < Math.min(window, n); ) {
      sent++;
      publish(done, reject);
    }
  });
}

// ---------------------------------------------------------------- orchestrator

async function startBroker(windowSize, which) {
  const mosquitto = which === 'hato' ? undefined : ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
  if (mosquitto) {
    // max_inflight_messages is also the Receive Maximum mosquitto announces to 5.0 clients.
    const m = await startMosquitto([`max_inflight_messages ${windowSize}`, 'max_queued_messages 0', 'log_type error']);
    return { name: `mosquitto (${mosquitto})`, ...m };
  }
  const child = fork(join(here, 'servers', 'hato.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const why = which === 'hato' ? '--broker hato' : 'mosquitto not installed';
  return { name: `hato broker (bench/servers/hato.js; ${why})`, port, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

/** One measurement: fresh client process, warm-up, then n messages end-to-end. */
async function measure(broker, subscriber, client, version, qos, n, window) {
  const worker = fork(self, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await ask(worker, { cmd: 'open', client, port: broker.port, version }, 'ready');
    const once = async (count) => {
      const { base } = await ask(subscriber, { cmd: 'expect', n: count }, 'armed');
      const b0 = cpuSeconds(broker.pid);
      const s0 = cpuSeconds(subscriber.pid);
      const t0 = performance.now();
      // A broker may drop QoS 0 messages (slow-consumer policy): give up waiting after a while.
      let timer;
      const timeout = new Promise((r) => {
        timer = setTimeout(r, 20_000 + count / 5, 'timeout');
      });
      const delivered = Promise.race([ask(subscriber, null, 'done'), timeout]);
      const [{ ms }, outcome] = await Promise.all([ask(worker, { cmd: 'run', qos, n: count, window }, 'ran'), delivered]);
      clearTimeout(timer);
      let got = count;
      if (outcome === 'timeout') got = (await ask(subscriber, { cmd: 'count' }, 'count')).count - base;
      const seconds = (performance.now() - t0) / 1000;
      const brokerPct = (100 * (cpuSeconds(broker.pid) - b0)) / seconds;
      const subPct = (100 * (cpuSeconds(subscriber.pid) - s0)) / seconds;
      const { cpu } = await ask(worker, { cmd: 'cpu' }, 'cpu');
      return { lost: count - got, rate: got / seconds, apiRate: (1000 * count) / ms, cpuPct: (100 * cpu) / seconds, usPerMsg: (1e6 * cpu) / count, brokerPct, subPct };
    };
    await once(Math.max(1000, Math.floor(n / 5)));
    return await once(n);
  } finally {
    worker.kill('SIGKILL');
  }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');

async function benchThroughput(args) {
  const window = Number(args.window);
  const broker = await startBroker(window, args.broker);
  const subscriber = fork(self, ['--subscriber', String(broker.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await ask(subscriber, null, 'ready');
    const rounds = Number(args.rounds);
    console.log(`# client publish throughput, 64 B, one broker: ${broker.name}; node ${process.version}`);
    console.log(`# median of ${rounds} rounds (order alternates), fresh client process per run after a warm-up`);
    console.log(`# QoS 0: n=${args.n0}, ${BATCH} publishes per macrotask, until a raw subscriber got all`);
    console.log('#   (publish calls/s: how fast the publish loop itself ran, the client-side rate)');
    console.log(`# QoS 1: n=${args.n1}, ${window} in flight (broker Receive Maximum ${window})`);
    console.log('# client CPU = user+system of the client process over the run (µs per message: the client\'s own cost)');
    console.log('# raw = no library: pre-encoded packets, acks counted by a byte scan; for QoS 0 the broker\'s ceiling');
    for (const version of args.versions.split(',').map(Number)) {
      for (const qos of args.qos.split(',').map(Number)) {
        const n = Number(qos === 0 ? args.n0 : args.n1);
        const contestants = args.raw ? ['hato', 'mqttjs', 'raw'] : ['hato', 'mqttjs'];
        const runs = Object.fromEntries(contestants.map((c) => [c, []]));
        for (let r = 0; r < rounds; r++) {
          // Rotate who goes first, so drift in the machine's load does not favour one client.
          const order = contestants.map((_, i) => contestants[(i + r) % contestants.length]);
          for (const c of order) runs[c].push(await measure(broker, subscriber, c, version, qos, n, window));
        }
        const label = `v${version === 5 ? '5.0' : '3.1.1'} QoS ${qos}`;
        const med = {};
        for (const c of contestants) {
          const rates = runs[c].map((x) => x.rate);
          const lost = runs[c].reduce((a, x) => a + x.lost, 0);
          med[c] = median(rates);
          const m = (key) => median(runs[c].map((x) => x[key]));
          med[`${c}Us`] = m('usPerMsg');
          const name = { hato: 'hato   ', mqttjs: 'MQTT.js', raw: 'raw    ' }[c];
          console.log(
            `${label} ${name} ${fmt(med[c]).padStart(9)} msg/s   client CPU ${m('cpuPct').toFixed(0).padStart(3)}% ${m('usPerMsg').toFixed(2).padStart(6)} µs/msg${qos === 0 ? `   publish calls ${fmt(m('apiRate')).padStart(9)}/s` : ''}   broker ${m('brokerPct').toFixed(0)}%  subscriber ${m('subPct').toFixed(0)}%   runs ${rates.map(fmt).join(' / ')}${lost > 0 ? `   LOST ${fmt(lost)} messages (rate counts delivered ones)` : ''}`,
          );
        }
        console.log(
          `${label} ratio hato/MQTT.js: ${(med.hato / med.mqttjs).toFixed(2)}x msg/s, ${(med.mqttjsUs / med.hatoUs).toFixed(1)}x less client CPU per message` +
            (args.raw ? `; hato at ${((100 * med.hato) / med.raw).toFixed(0)}% of the raw client` : ''),
        );
      }
    }
  } finally {
    subscriber.kill('SIGKILL');
    broker.stop();
  }
}

/** --memory: one fresh process per client, awaited QoS 0 publishes for `seconds`, memory sampled. */
async function benchMemory(args) {
  const broker = await startBroker(Number(args.window), args.broker);
  const subscriber = fork(self, ['--subscriber', String(broker.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seconds = Number(args.seconds);
  const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
  try {
    await ask(subscriber, null, 'ready');
    console.log(`# QoS 0 back-pressure: \`await publish()\` in a tight loop for ${seconds} s, 64 B, one broker: ${broker.name}; node ${process.version}`);
    console.log('# (MQTT.js: await publishAsync()); a raw subscriber reads everything; memory of the publishing process');
    console.log('# first s / last s: messages per second and memory (RSS; heap used + array buffers) at the end of that second');
    for (const version of args.versions.split(',').map(Number)) {
      for (const client of ['hato', 'mqttjs']) {
        const worker = fork(self, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        try {
          await ask(worker, { cmd: 'open', client, port: broker.port, version }, 'ready');
          const { flooded } = await ask(worker, { cmd: 'flood', seconds }, 'flooded');
          const s = flooded.samples;
          const at = (ms) => s.slice(1).reduce((best, x) => (Math.abs(x[0] - ms) < Math.abs(best[0] - ms) ? x : best));
          const first = at(1000);
          const end = s[s.length - 1];
          const lastStart = at(end[0] - 1000);
          const rate = (a, b) => fmt(((b[1] - a[1]) * 1000) / (b[0] - a[0]));
          const maxRss = Math.max(...s.map((x) => x[2]));
          const maxHeap = Math.max(...s.map((x) => x[3]));
          const name = client === 'hato' ? 'hato   ' : 'MQTT.js';
          console.log(
            `memory v${version === 5 ? '5.0' : '3.1.1'} ${name} ${fmt(end[1]).padStart(10)} msgs in ${(end[0] / 1000).toFixed(1)} s = ${rate(s[0], end).padStart(9)} msg/s` +
              `   first s ${rate(s[0], first).padStart(9)} msg/s  rss ${mib(first[2])}  heap ${mib(first[3])}` +
              `   last s ${rate(lastStart, end).padStart(9)} msg/s  rss ${mib(end[2])}  heap ${mib(end[3])}` +
              `   max rss ${mib(maxRss)}  max heap ${mib(maxHeap)}   client CPU ${flooded.usPerMsg.toFixed(2)} µs/msg`,
          );
        } finally {
          worker.kill('SIGKILL');
        }
      }
    }
  } finally {
    subscriber.kill('SIGKILL');
    broker.stop();
  }
}

async function benchBundles() {
  const { bundle } = await import('../packages/client/scripts/bundle.js');
  const hato = await bundle();
  const mqttPath = join(root, 'node_modules', 'mqtt', 'dist', 'mqtt.esm.js');
  const code = readFileSync(mqttPath);
  const mqttjs = { bytes: code.length, gzip: gzipSync(code).length };
  const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
  console.log('\n# browser ESM bundle, minified (gzip via node:zlib, default level)');
  console.log(`bundle hato    ${kb(hato.bytes).padStart(10)} min  ${kb(hato.gzip).padStart(9)} gzip   (packages/client/bundle/hato-client.min.js)`);
  console.log(`bundle MQTT.js ${kb(mqttjs.bytes).padStart(10)} min  ${kb(mqttjs.gzip).padStart(9)} gzip   (mqtt/dist/mqtt.esm.js, as shipped)`);
  console.log(`bundle ratio MQTT.js/hato: ${(mqttjs.bytes / hato.bytes).toFixed(1)}x minified, ${(mqttjs.gzip / hato.gzip).toFixed(1)}x gzipped`);
}

async function main() {
  const { values: args } = parseArgs({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string', default: '3' },
      n0: { type: 'string', default: '100000' },
      n1: { type: 'string', default: '30000' },
      window: { type: 'string', default: '100' },
      versions: { type: 'string', default: '5,4' },
      qos: { type: 'string', default: '0,1' },
      'no-bundle': { type: 'boolean', default: false },
      raw: { type: 'boolean', default: true },
      'no-raw': { type: 'boolean', default: false },
      'bundle-only': { type: 'boolean', default: false },
      broker: { type: 'string', default: 'mosquitto' },
      memory: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '8' },
    },
  });
  if (args.memory) {
    if (args.versions === '5,4') args.versions = '5';
    await benchMemory(args);
    return;
  }
  if (args['no-raw']) args.raw = false;
  if (!args['bundle-only']) await benchThroughput(args);
  if (!args['no-bundle']) await benchBundles();
}

if (role === '--subscriber') runSubscriber();
else if (role === '--worker') runWorker();
else await main();
