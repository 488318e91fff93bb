// `npm run bench` (connections): what idle connections cost. For hato, a bare Node server (a
// socket that answers CONNECT with a fixed CONNACK: the floor for a Node broker), Mosquitto (when
// installed) and Aedes, in one run, each server in its own process:
//   - the time to connect COUNT clients (3.1.1 CONNECT, keep alive 60 s, each CONNACK awaited;
//     at most 200 handshakes in flight), from a C load generator (bench/load/connload.c, compiled
//     here into a temp dir; bench/load/connload.js when gcc is missing);
//   - the server's RSS per idle connection (/proc/PID/status VmRSS after minus before, the Node
//     servers garbage-collected first), with the V8 heap and arrayBuffers per connection;
//   - ratios hato/bare. With --rounds N: the fastest time of N runs, the mean memory.
// Then hato, the bare server and Mosquitto with BIG idle connections (several loopback source addresses
// past 20,000; as many as the open-file limit allows): RSS per connection, and the CPU the server
// spends over REST seconds at rest, its clients sending PINGREQ every 60 s (keep alive at rest).
//
//   node bench/connections.js [--count 10000] [--big 50000] [--rest 10] [--rounds 3]
//                             [--servers hato,bare,mosquitto,aedes] [--big-servers hato,bare,mosquitto]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ask, cpuSeconds, hardNofile, MOSQUITTO, rssBytes, sleep, startMosquitto, withNofile } from './lib/procs.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    big: { type: 'string', default: '50000' },
    rest: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    servers: { type: 'string', default: 'hato,bare,mosquitto,aedes' },
    'big-servers': { type: 'string', default: 'hato,bare,mosquitto' },
  },
});
const COUNT = Number(args.count);
const ROUNDS = Math.max(1, Number(args.rounds));
const REST = Number(args.rest);
/** Wait before the CPU-at-rest window. */
const SETTLE_MS = 5000;
/** File descriptors a process needs beyond its connections. */
const SPARE_FDS = 200;

/** The load generator: the C program compiled into a temp dir, or the Node fallback. */
function buildGenerator() {
  const dir = mkdtempSync(join(tmpdir(), 'hato-connload-'));
  const exe = join(dir, 'connload');
  const cc = spawnSync('gcc', ['-O2', '-o', exe, join(here, 'load', 'connload.c')], { encoding: 'utf8' });
  if (cc.status === 0) return { name: 'C (gcc)', argv: [exe], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  rmSync(dir, { recursive: true, force: true });
  console.log(`# gcc unavailable (${cc.error?.message ?? cc.stderr.trim()}): Node load generator, accept times overstated`);
  return { name: 'Node (fallback)', argv: [process.execPath, join(here, 'load', 'connload.js')], cleanup: () => {} };
}

/** Opens `count` idle connections; resolves once all got their CONNACK → { ms, close }. */
async function connectIdle(generator, port, count) {
  const [command, argv] = withNofile(count + SPARE_FDS, [...generator.argv, String(port), String(count)]);
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise((resolve) => {
    lines.once('line', resolve);
    child.once('exit', (code) => resolve(`error load generator exited (${code})`));
  });
  const close = async () => {
    child.stdin.end();
    await Promise.race([exited, sleep(5000)]);
    child.kill('SIGKILL');
  };
  const [word, connected, ms] = line.split(' ');
  if (word !== 'ready' || Number(connected) !== count) {
    await close();
    throw new Error(`load generator: ${line}`);
  }
  return { ms: Number(ms), close };
}

/** A server in its own process with room for `count` connections → { port, pid, mem(), stop }. */
async function startServer(name, count) {
  if (name === 'mosquitto') {
    const m = await startMosquitto([], count + SPARE_FDS);
    return { ...m, mem: async () => undefined };
  }
  const script = join(here, 'servers', `${name}.js`);
  const preload = new URL('./lib/gc-ipc.js', import.meta.url).href;
  const [command, argv] = withNofile(count + SPARE_FDS, [process.execPath, '--expose-gc', '--import', preload, script]);
  const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port } = await ask(child, undefined, 'port');
  return {
    port,
    pid: child.pid,
    // Garbage-collected first, so RSS and the heap hold what is live.
    mem: async () => (await ask(child, { cmd: 'mem' }, 'mem')).mem,
    stop: async () => {
      child.kill('SIGKILL');
    },
  };
}

/** One server, `count` idle connections: accept time, memory per connection, CPU at rest. */
async function measure(generator, name, count, restSeconds) {
  const server = await startServer(name, count);
  let load;
  try {
    await sleep(300);
    const memBefore = await server.mem();
    const rssBefore = rssBytes(server.pid);
    load = await connectIdle(generator, server.port, count);
    await sleep(500);
    const memAfter = await server.mem();
    const rssAfter = rssBytes(server.pid);
    const per = (a, b) => (b - a) / count;
    const result = {
      ms: load.ms,
      rss: per(rssBefore, rssAfter),
      rssTotal: rssAfter,
      heap: memAfter && per(memBefore.heapUsed, memAfter.heapUsed),
      arrayBuffers: memAfter && per(memBefore.arrayBuffers, memAfter.arrayBuffers),
      restCpu: undefined,
    };
    if (restSeconds > 0) {
      // Settle first (V8 finishes its clean-up after the connection storm), then count the CPU
      // the server spends on idle connections whose clients ping every keep alive period.
      await sleep(SETTLE_MS);
      const cpu0 = cpuSeconds(server.pid);
      const t0 = performance.now();
      await sleep(restSeconds * 1000);
      result.restCpu = (cpuSeconds(server.pid) - cpu0) / ((performance.now() - t0) / 1000);
    }
    return result;
  } finally {
    await load?.close();
    await server.stop();
  }
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function line(prefix, name, r) {
  const v8 = r.heap === undefined ? '' : `   (heap ${kB(r.heap)}, arrayBuffers ${kB(r.arrayBuffers)})`;
  return `${prefix} ${name.padEnd(9)} RSS ${kB(r.rss).padStart(8)} per connection${v8.padEnd(40)}`;
}

const generator = buildGenerator();
try {
  const servers = args.servers.split(',').filter((s) => s !== 'mosquitto' || MOSQUITTO);
  console.log(`# idle connections: ${fmt(COUNT)} idle 3.1.1 clients (keep alive 60 s), ${generator.name} load generator; node ${process.version}`);
  const results = {};
  for (const name of servers) {
    // Over the rounds: the fastest time to connect (least disturbed), the mean memory.
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await measure(generator, name, COUNT, 0));
    const mean = (key) => (rounds[0][key] === undefined ? undefined : rounds.reduce((a, r) => a + r[key], 0) / rounds.length);
    const best = { ms: Math.min(...rounds.map((r) => r.ms)), rss: mean('rss'), heap: mean('heap'), arrayBuffers: mean('arrayBuffers') };
    results[name] = best;
    console.log(`${line('connections', name, best)}   connecting ${fmt(COUNT)}: ${(best.ms / 1000).toFixed(2)} s`);
  }
  if (results.hato && results.bare) {
    const h = results.hato;
    const b = results.bare;
    console.log(`connections ratio hato/bare: RSS per connection ${(h.rss / b.rss).toFixed(2)}x, time to connect ${(h.ms / b.ms).toFixed(2)}x`);
  }

  // Many idle connections: as many as the open-file limit allows, up to --big.
  const limit = Math.min(Number(args.big), hardNofile() - SPARE_FDS);
  if (limit > 0 && REST >= 0) {
    const note = limit < Number(args.big) ? ` (of ${fmt(Number(args.big))} asked: the hard open-file limit is ${hardNofile()})` : '';
    console.log(`\n## ${fmt(limit)} idle connections${note}, CPU at rest over ${REST} s`);
    for (const name of args['big-servers'].split(',').filter((s) => s !== 'mosquitto' || MOSQUITTO)) {
      const r = await measure(generator, name, limit, REST);
      console.log(
        `idle ${name.padEnd(9)} RSS ${(r.rssTotal / 1e6).toFixed(0).padStart(5)} MB (${kB(r.rss)} per connection)   connecting: ${(r.ms / 1000).toFixed(2)} s   CPU at rest ${(100 * r.restCpu).toFixed(2)}%`,
      );
    }
  }
} finally {
  generator.cleanup();
}
