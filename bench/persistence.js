// `npm run bench` persistence section: the cost of durable state, in one run.
//
// 1. pairs, persistent: 20 publisher/subscriber pairs, QoS 1, 64 B, every client with a
//    persistent session (3.1.1 clean session 0), so every message is stored for its
//    subscriber before its PUBACK; the broker on each store, reported as a ratio to the
//    in-memory store in the same run (goal: SQLite ≥ 50%, Redis ≥ 35%). For reference, Aedes
//    on its in-memory persistence and on aedes-persistence-redis, in the same run.
// 2. 1,000,000 retained topics in SQLite and in Redis: the time from opening the store to
//    `ready` (the working set rebuilt), and the broker's memory then.
//
// Redis runs in a redis-server started here (127.0.0.1, free port, temp dir, appendonly yes,
// appendfsync everysec), a database of its own per run; without redis-server the Redis runs
// are left out, with a line that says so.
//
//   node bench/persistence.js [--seconds 5] [--stores memory,sqlite,sqlite-full,redis,aedes,aedes-redis]
//                             [--retained 1000000] [--retained-stores sqlite,redis]
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisPersistence } from '@hato/redis';
import { SqlitePersistence } from '@hato/sqlite';
import { startRedisServer } from '../packages/testkit/dist/redis-server.js';
import { ask, cpuSeconds, sleep } from './lib/procs.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    stores: { type: 'string', default: 'memory,sqlite,sqlite-full,redis,aedes,aedes-redis' },
    retained: { type: 'string', default: '1000000' },
    'retained-stores': { type: 'string', default: 'sqlite,redis' },
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
  redis: () => `${redis.url}/${nextDb()}`,
  aedes: () => 'aedes:memory',
  'aedes-redis': () => `aedes:${redis.url}/${nextDb()}`,
};
const usesRedis = (name) => name === 'redis' || name === 'aedes-redis';

/** The redis-server of the Redis runs, started when one is asked for; each run gets its own database (1-15). */
let redis;
let lastDb = 0;
const nextDb = () => (lastDb = (lastDb % 15) + 1);

/** hato on a store (bench/servers/hato-store.js), or Aedes: `aedes:memory` / `aedes:redis://...` (its redis persistence). */
function startBroker(spec) {
  const [script, arg] = !spec.startsWith('aedes:') ? ['hato-store.js', spec] : spec === 'aedes:memory' ? ['aedes.js', undefined] : ['aedes-redis.js', spec.slice('aedes:'.length)];
  const child = fork(join(here, 'servers', script), arg === undefined ? [] : [arg], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

/** `count` retained messages committed to `store` (any Persistence), 50,000 a commit. */
async function writeRetained(store, count) {
  const payload = Buffer.alloc(16, 0x61);
  for (let from = 0; from < count; from += 50_000) {
    const batch = [];
    for (let i = from; i < Math.min(count, from + 50_000); i++) {
      batch.push({ op: 'retain', message: { topic: `site/${i % 100}/device/${Math.floor(i / 100)}/state`, payload, qos: 1, retain: true, properties: undefined, expiresAt: 0, origin: undefined } });
    }
    await store.commit(batch);
  }
}

/** 1,000,000 retained messages written through the Redis adapter (50,000 a commit), then a broker started on them. */
async function retainedLoadRedis(count) {
  const url = `${redis.url}/${nextDb()}`;
  const store = await RedisPersistence.open(url);
  const started = performance.now();
  await writeRetained(store, count);
  await store.close();
  const writeMs = performance.now() - started;
  const broker = await startBroker(url);
  broker.stop();
  return { writeMs, ...broker };
}

async function retainedLoad(count) {
  const file = join(dir, 'retained.db');
  const store = new SqlitePersistence(file);
  const started = performance.now();
  await writeRetained(store, count);
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
const retainedStores = args['retained-stores'].split(',');
let stores = args.stores.split(',');
try {
  console.log(`# persistence, ${SECONDS} s per run after ${WARMUP_MS} ms warm-up; node ${process.version}`);
  if (stores.some(usesRedis) || retainedStores.includes('redis')) {
    try {
      redis = await startRedisServer();
      console.log(`redis-server on 127.0.0.1:${redis.port} (appendonly yes, appendfsync everysec)`);
    } catch (err) {
      console.log(`Redis runs left out: ${err.message}`);
      stores = stores.filter((name) => !usesRedis(name));
    }
  }
  console.log(`\n## pairs-persistent: ${PAIRS} publisher/subscriber pairs, QoS 1, 64 B, every session persistent (clean session 0)`);
  const results = {};
  for (const name of stores) {
    const r = await runPairs(STORES[name]());
    results[name] = r;
    console.log(`pairs-persistent ${name.padEnd(12)} ${fmt(r.rate).padStart(9)} msg/s delivered   loss ${(100 * r.loss).toFixed(1)}%   broker CPU ${r.brokerCpu.toFixed(0)}%`);
  }
  const ratio = (a, b) => {
    if (results[a] && results[b]) console.log(`pairs-persistent ratio ${a}/${b}: ${((100 * results[a].rate) / results[b].rate).toFixed(0)}%`);
  };
  for (const name of Object.keys(results).filter((n) => n !== 'memory' && !n.startsWith('aedes'))) ratio(name, 'memory');
  // Aedes for reference: its Redis persistence against its own in-memory one, and hato on Redis against it.
  ratio('aedes-redis', 'aedes');
  ratio('redis', 'aedes-redis');
  const count = Number(args.retained);
  if (count > 0 && retainedStores.includes('sqlite')) {
    console.log(`\n## retained-load: ${fmt(count)} retained topics in SQLite, broker start`);
    const r = await retainedLoad(count);
    console.log(`retained-load written in ${(r.writeMs / 1000).toFixed(1)} s (file ${mb(r.file)})`);
    console.log(`retained-load ${fmt(r.retained)} topics ready in ${(r.loadMs / 1000).toFixed(2)} s   RSS ${mb(r.rss)} (empty broker ${mb(r.baseRss)})   heap ${mb(r.heapUsed)} (empty ${mb(r.baseHeap)})`);
  }
  if (count > 0 && retainedStores.includes('redis') && redis !== undefined) {
    console.log(`\n## retained-load: ${fmt(count)} retained topics in Redis, broker start`);
    const r = await retainedLoadRedis(count);
    console.log(`retained-load redis written in ${(r.writeMs / 1000).toFixed(1)} s`);
    console.log(`retained-load redis ${fmt(r.retained)} topics ready in ${(r.loadMs / 1000).toFixed(2)} s   RSS ${mb(r.rss)}   heap ${mb(r.heapUsed)}`);
  }
} finally {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
}
