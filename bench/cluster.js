// `npm run bench` cluster section (issue 11): hato nodes joined through Redis, in one run.
//
// 1. pairs: 20 publisher/subscriber pairs, QoS 1, 64 B, clean sessions. The same four load
//    processes (2 publishers, 2 subscribers, 10 pairs each) against 1 node, then split across
//    2 nodes: the publisher and subscriber of a pair on the same node, pairs half on each.
//    msg/s delivered and the ratio 2 nodes / 1 node (goal ≥ 1.5x).
// 2. cross-node hop: the 20 pairs with every publisher on node A and every subscriber on
//    node B (each message goes through Redis), msg/s.
// 3. latency of one QoS 1 message publisher → subscriber (bench/load/latency.c, open loop at a
//    modest rate): both on node A, then publisher on A and subscriber on B; p50/p99 in µs.
//
// The machine's other work shows in the CPU figures printed with each run (nodes, redis-server,
// load generators): on 2 cores the 4 load processes compete with the 2 nodes.
//
// Every node is a Node process (bench/servers/hato-cluster.js: Redis persistence and
// RedisClusterBus on the same Redis, as `hato broker --cluster` runs) on a redis-server started
// here (127.0.0.1, free port, temp dir, appendonly yes, appendfsync everysec); each run has a
// key prefix of its own. Without redis-server the section is left out, with a line that says so.
//
//   node bench/cluster.js [--seconds 5] [--parts pairs,cross,latency] [--rate 500] [--latency-seconds 5]
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from '../packages/testkit/dist/redis-server.js';
import { ask, cpuSeconds, sleep } from './lib/procs.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    parts: { type: 'string', default: 'pairs,cross,latency' },
    rate: { type: 'string', default: '500' },
    'latency-seconds': { type: 'string', default: '5' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP_MS = 1000;
const PAIRS = 20;
const parts = args.parts.split(',');
const dir = mkdtempSync(join(tmpdir(), 'hato-bench-cluster-'));

let redis;
let run = 0;

/** Starts `count` nodes on a key prefix of their own and waits until each sees the others. */
async function startNodes(count) {
  const prefix = `bench${++run}:`;
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const nodeId = `node-${String.fromCharCode(97 + i)}`;
    const child = fork(join(here, 'servers', 'hato-cluster.js'), [`${redis.url}/0`, prefix, nodeId], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`hato-cluster ${nodeId} exited (${code}) before listening`)));
    });
    nodes.push({ nodeId, port, pid: child.pid, child, stop: () => child.kill('SIGKILL') });
  }
  for (const end = Date.now() + 30_000; ; ) {
    const statuses = await Promise.all(nodes.map((node) => ask(node.child, { cmd: 'status' }, 'status')));
    if (statuses.every(({ status }) => status.up && status.nodes.length === count - 1)) break;
    if (Date.now() > end) throw new Error(`the ${count} nodes did not see each other within 30 s: ${JSON.stringify(statuses)}`);
    await sleep(100);
  }
  return nodes;
}

const topicsOf = (from, to) => Array.from({ length: to - from }, (_, i) => `bench/pair/${from + i}`);

/**
 * The pairs load: `groups` of { pubPort, subPort, topics }, one publisher process and one
 * subscriber process per group; msg/s delivered over SECONDS after the warm-up.
 */
async function runPairs(nodes, groups) {
  const procs = [];
  try {
    const pubs = [];
    const subs = [];
    for (const [g, group] of groups.entries()) {
      const sub = fork(join(here, 'load', 'subscriber.js'));
      const pub = fork(join(here, 'load', 'publisher.js'));
      procs.push(sub, pub);
      subs.push(sub);
      pubs.push(pub);
      await ask(sub, { cmd: 'start', port: group.subPort, topics: group.topics, qos: 1, prefix: `sub${g}` }, 'ready');
      await ask(pub, { cmd: 'open', port: group.pubPort, topics: group.topics, qos: 1, payloadSize: 64, prefix: `pub${g}` }, 'ready');
    }
    // The subscriptions of one node known to the others before the clock starts.
    await sleep(500);
    for (const pub of pubs) pub.send({ cmd: 'go' });
    await sleep(WARMUP_MS);
    const snap = async () => {
      const [sent, delivered] = await Promise.all([
        Promise.all(pubs.map((p) => ask(p, { cmd: 'count' }, 'count'))),
        Promise.all(subs.map((s) => ask(s, { cmd: 'count' }, 'count'))),
      ]);
      return {
        t: performance.now(),
        sent: sent.reduce((a, c) => a + c.count, 0),
        delivered: delivered.reduce((a, c) => a + c.count, 0),
        loadCpu: [...sent, ...delivered].reduce((a, c) => a + c.cpuMicros, 0) / 1e6,
        cpu: nodes.map((node) => cpuSeconds(node.pid)),
        redisCpu: cpuSeconds(redis.pid),
      };
    };
    const a = await snap();
    await sleep(SECONDS * 1000);
    const b = await snap();
    const dt = (b.t - a.t) / 1000;
    const sent = b.sent - a.sent;
    const statuses = await Promise.all(nodes.map((node) => ask(node.child, { cmd: 'status' }, 'status')));
    return {
      dropped: statuses.reduce((n, { status }) => n + status.dropped, 0),
      rate: (b.delivered - a.delivered) / dt,
      loss: sent > 0 ? Math.max(0, 1 - (b.delivered - a.delivered) / sent) : 0,
      nodeCpu: nodes.map((_, i) => (100 * (b.cpu[i] - a.cpu[i])) / dt),
      redisCpu: (100 * (b.redisCpu - a.redisCpu)) / dt,
      loadCpu: (100 * (b.loadCpu - a.loadCpu)) / dt,
    };
  } finally {
    for (const child of procs) child.kill('SIGKILL');
  }
}

/** The same four load processes: 10 pairs each half. `split`: the second half on node B. */
async function pairsRun(count) {
  const nodes = await startNodes(count);
  try {
    const [a, b = a] = nodes;
    return await runPairs(nodes, [
      { pubPort: a.port, subPort: a.port, topics: topicsOf(0, PAIRS / 2) },
      { pubPort: b.port, subPort: b.port, topics: topicsOf(PAIRS / 2, PAIRS) },
    ]);
  } finally {
    for (const node of nodes) node.stop();
  }
}

/** Every publisher on node A, every subscriber on node B (the same four load processes). */
async function crossRun() {
  const nodes = await startNodes(2);
  try {
    const [a, b] = nodes;
    return await runPairs(nodes, [
      { pubPort: a.port, subPort: b.port, topics: topicsOf(0, PAIRS / 2) },
      { pubPort: a.port, subPort: b.port, topics: topicsOf(PAIRS / 2, PAIRS) },
    ]);
  } finally {
    for (const node of nodes) node.stop();
  }
}

/** bench/load/latency.c, one publisher and one subscriber, QoS 1: { p50, p99, ... } in µs. */
function latencyRun(binary, pubPort, subPort) {
  const argv = ['127.0.0.1', pubPort, 1, args.rate, args['latency-seconds'], 2, 1, 64, subPort].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`latency exited ${code}: ${out}`))));
  });
}

/** The redis-server's pid (INFO server: process_id), for its CPU figure. */
async function redisPid(url) {
  const client = new Redis(url);
  try {
    return Number(/process_id:(\d+)/.exec(await client.info('server'))[1]);
  } finally {
    client.disconnect();
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const cpus = (r) => `dropped by the nodes ${fmt(r.dropped)}   nodes CPU ${r.nodeCpu.map((c) => `${c.toFixed(0)}%`).join(' + ')}, redis ${r.redisCpu.toFixed(0)}%, load generators ${r.loadCpu.toFixed(0)}%`;
try {
  console.log(`# cluster, ${SECONDS} s per run after ${WARMUP_MS} ms warm-up; node ${process.version}`);
  try {
    redis = await startRedisServer();
  } catch (err) {
    console.log(`cluster runs left out: ${err.message}`);
    process.exit(0);
  }
  redis.pid = await redisPid(redis.url);
  console.log(`redis-server on 127.0.0.1:${redis.port} (appendonly yes, appendfsync everysec)`);
  if (parts.includes('pairs')) {
    console.log(`\n## pairs: ${PAIRS} publisher/subscriber pairs, QoS 1, 64 B; a pair's publisher and subscriber on the same node`);
    const one = await pairsRun(1);
    console.log(`cluster-pairs 1 node   ${fmt(one.rate).padStart(9)} msg/s delivered   loss ${(100 * one.loss).toFixed(1)}%   ${cpus(one)}`);
    const two = await pairsRun(2);
    console.log(`cluster-pairs 2 nodes  ${fmt(two.rate).padStart(9)} msg/s delivered   loss ${(100 * two.loss).toFixed(1)}%   ${cpus(two)}`);
    console.log(`cluster-pairs ratio 2 nodes / 1 node: ${(two.rate / one.rate).toFixed(2)}x (goal ≥ 1.5x)`);
  }
  if (parts.includes('cross')) {
    console.log(`\n## cross-node hop: ${PAIRS} pairs, QoS 1, 64 B, every publisher on node A, every subscriber on node B`);
    const cross = await crossRun();
    console.log(`cluster-cross A→B      ${fmt(cross.rate).padStart(9)} msg/s delivered   loss ${(100 * cross.loss).toFixed(1)}%   ${cpus(cross)}`);
  }
  if (parts.includes('latency')) {
    const cc = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0);
    if (cc === undefined) console.log('\n# cluster latency: skipped (no C compiler: install gcc)');
    else {
      const binary = join(dir, 'latency');
      execFileSync(cc, ['-O2', '-o', binary, join(here, 'load', 'latency.c')]);
      console.log(`\n## latency: 1 publisher → 1 subscriber, QoS 1, 64 B, ${args.rate} msg/s for ${args['latency-seconds']} s after 2 s warm-up (µs)`);
      const nodes = await startNodes(2);
      try {
        const [a, b] = nodes;
        for (const [label, subPort] of [
          ['same node (A→A)', a.port],
          ['cross-node (A→B)', b.port],
        ]) {
          const r = await latencyRun(binary, a.port, subPort);
          console.log(`cluster-latency ${label.padEnd(17)} p50 ${r.p50.toFixed(0).padStart(6)}   p99 ${r.p99.toFixed(0).padStart(6)}   max ${r.max.toFixed(0).padStart(7)}   (${fmt(r.received)} messages, loss ${(100 * r.loss).toFixed(1)}%)`);
        }
      } finally {
        for (const node of nodes) node.stop();
      }
    }
  }
} finally {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
}
