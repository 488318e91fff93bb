// `npm run bench` persistence section: the cost of durable state, in one run.
//
// 1. pairs, persistent: 20 publisher/subscriber pairs, QoS 1, 64 B, every client with a
//    persistent session (3.1.1 clean session 0), so every message is stored for its
//    subscriber before its PUBACK; the broker on each store, reported as a ratio to the
//    in-memory store in the same run (goal: SQLite ≥ 50%).
// 2. 1,000,000 retained topics in SQLite: the time from opening the store to `ready` (the
//    working set rebuilt), and the broker's memory then.
//
//   node bench/persistence.js [--seconds 5] [--stores memory,sqlite,sqlite-full] [--retained 1000000]
//   (redis: the slot in bench/servers/hato-store.js and STORES below)
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqlitePersistence } from '@hato/sqlite';
import { ask, cpuSeconds, sleep } from './lib/procs.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    stores: { type: 'string', default: 'memory,sqlite,sqlite-full' },
    retained: { type: 'string', default: '1000000' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP_MS = 1000;
const PAIRS = 20;
const dir = mkdtempSync(join(tmpdir(), 'hato-bench-persistence-'));

/** Store name → the spec bench/servers/hato-store.js opens (a fresh store per run). */
const STORES = {
  memory: () => 'memory',
  sqlite: () => `sqlite:${join(dir, `pairs-${Date.now()}.db`)}`,
  'sqlite-full': () => `sqlite:${join(dir, `pairs-full-${Date.now()}.db`)}:full`,
};

function startBroker(spec) {
  const child = fork(join(here, 'servers', 'hato-store.js'), [spec], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (info) => resolve({ ...info, pid: child.pid, stop: () => child.kill('SIGKILL') }));
    child.once('exit', (code) => reject(new Error(`hato-store ${spec} exited (${code})`)));
  });
}

async function runPairs(spec) {
  const broker = await startBroker(spec);
  const sub = fork(join(here, 'load', 'subscriber.js'));
  const pub = fork(join(here, 'load', 'publisher.js'));
  try {
    const topics = Array.from({ length: PAIRS }, (_, i) => `bench/pair/${i}`);
    await ask(sub, { cmd: 'start', port: broker.port, topics, qos: 1, prefix: 'sub', clean: false }, 'ready');
    await ask(pub, { cmd: 'open', port: broker.port, topics, qos: 1, payloadSize: 64, prefix: 'pub', clean: false }, 'ready');
    pub.send({ cmd: 'go' });
    await sleep(WARMUP_MS);
    const snap = async () => {
      const [p, s] = await Promise.all([ask(pub, { cmd: 'count' }, 'count'), ask(sub, { cmd: 'count' }, 'count')]);
      return { t: performance.now(), sent: p.count, delivered: s.count, brokerCpu: cpuSeconds(broker.pid) };
    };
    const a = await snap();
    await sleep(SECONDS * 1000);
    const b = await snap();
    const dt = (b.t - a.t) / 1000;
    const sent = b.sent - a.sent;
    return { rate: (b.delivered - a.delivered) / dt, loss: sent > 0 ? Math.max(0, 1 - (b.delivered - a.delivered) / sent) : 0, brokerCpu: (100 * (b.brokerCpu - a.brokerCpu)) / dt };
  } finally {
    sub.kill('SIGKILL');
    pub.kill('SIGKILL');
    broker.stop();
  }
}

async function retainedLoad(count) {
  const file = join(dir, 'retained.db');
  const store = new SqlitePersistence(file);
  const payload = Buffer.alloc(16, 0x61);
  const started = performance.now();
  for (let from = 0; from < count; from += 50_000) {
    const batch = [];
    for (let i = from; i < Math.min(count, from + 50_000); i++) {
      batch.push({ op: 'retain', message: { topic: `site/${i % 100}/device/${Math.floor(i / 100)}/state`, payload, qos: 1, retain: true, properties: undefined, expiresAt: 0, origin: undefined } });
    }
    store.commit(batch);
  }
  store.close();
  const writeMs = performance.now() - started;
  const empty = await startBroker('memory');
  empty.stop();
  const broker = await startBroker(`sqlite:${file}`);
  broker.stop();
  return { writeMs, file: statSync(file).size, ...broker, baseRss: empty.rss, baseHeap: empty.heapUsed };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
try {
  console.log(`# persistence, ${SECONDS} s per run after ${WARMUP_MS} ms warm-up; node ${process.version}`);
  console.log(`\n## pairs-persistent: ${PAIRS} publisher/subscriber pairs, QoS 1, 64 B, every session persistent (clean session 0)`);
  const results = {};
  for (const name of args.stores.split(',')) {
    const r = await runPairs(STORES[name]());
    results[name] = r;
    console.log(`pairs-persistent ${name.padEnd(12)} ${fmt(r.rate).padStart(9)} msg/s delivered   loss ${(100 * r.loss).toFixed(1)}%   broker CPU ${r.brokerCpu.toFixed(0)}%`);
  }
  if (results.memory) {
    for (const name of Object.keys(results).filter((n) => n !== 'memory')) {
      console.log(`pairs-persistent ratio ${name}/memory: ${((100 * results[name].rate) / results.memory.rate).toFixed(0)}%`);
    }
  }
  const count = Number(args.retained);
  if (count > 0) {
    console.log(`\n## retained-load: ${fmt(count)} retained topics in SQLite, broker start`);
    const r = await retainedLoad(count);
    console.log(`retained-load written in ${(r.writeMs / 1000).toFixed(1)} s (file ${mb(r.file)})`);
    console.log(`retained-load ${fmt(r.retained)} topics ready in ${(r.loadMs / 1000).toFixed(2)} s   RSS ${mb(r.rss)} (empty broker ${mb(r.baseRss)})   heap ${mb(r.heapUsed)} (empty ${mb(r.baseHeap)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
