// `npm run bench` latency scenario: end-to-end publish → deliver latency percentiles at a
// fixed, moderate load, for hato, Aedes and Mosquitto (when installed) in the same run.
// 10 publishers at 1000 msg/s each (open loop: they never wait), each to its own subscriber,
// 64 B payloads, QoS 1 and QoS 0. The broker is pinned to CPU 0 and the load generator, a C
// program (bench/load/latency.c, compiled here with cc), to CPU 1, so the two never share a
// core. Prints p50/p90/p99/p99.9/max in µs and the ratios hato/other.
//
//   node bench/latency.js [--seconds 10] [--brokers hato,aedes,mosquitto] [--qos 1,0]
//                         [--pubs 10] [--rate 1000]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MOSQUITTO, startMosquitto } from './lib/procs.js';
import { startNodeServer } from './lib/servers.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '10' },
    brokers: { type: 'string', default: 'hato,aedes,mosquitto' },
    qos: { type: 'string', default: '1,0' },
    pubs: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    // Runs the broker and the load generator under SCHED_FIFO (needs root): figures that hold
    // on a machine busy with other work. Both brokers get the same treatment.
    realtime: { type: 'boolean', default: false },
  },
});
const WARMUP = 2;

const cc = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0);
if (cc === undefined) {
  console.log('# latency: skipped (no C compiler: install gcc)');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'hato-latency-'));
const binary = join(dir, 'latency');
execFileSync(cc, ['-O2', '-o', binary, join(here, 'load', 'latency.c')]);
const taskset = spawnSync('taskset', ['--version']).status === 0 && availableParallelism() >= 2;

/** Pins every thread of `pid` to `cpu` (no-op without taskset or with one core). */
function pin(pid, cpu) {
  if (taskset) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  if (args.realtime) spawnSync('chrt', ['-a', '-f', '-p', '10', String(pid)], { stdio: 'ignore' });
}

async function start(name) {
  if (name === 'mosquitto') return startMosquitto(['max_queued_messages 1000', 'set_tcp_nodelay true']);
  return startNodeServer(join(here, 'servers', `${name}.js`));
}

function runLoad(port, qos) {
  const argv = ['127.0.0.1', port, args.pubs, args.rate, args.seconds, WARMUP, qos, 64].map(String);
  let command = binary;
  let argList = argv;
  if (taskset) [command, argList] = ['taskset', ['-c', '1', command, ...argList]];
  if (args.realtime) [command, argList] = ['chrt', ['-f', '10', command, ...argList]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argList, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`latency load generator exited ${code}`))));
  });
}

const brokers = args.brokers.split(',').filter((b) => b !== 'mosquitto' || MOSQUITTO);
const f = (n) => n.toFixed(0).padStart(6);
console.log(
  `# latency: ${args.pubs} publishers × ${args.rate} msg/s, 64 B, each to its own subscriber; ${args.seconds} s after ${WARMUP} s warm-up; ` +
    `broker ${taskset ? 'pinned to CPU 0, load generator (C) to CPU 1' : 'not pinned (no taskset or one core)'}; node ${process.version}`,
);
try {
  for (const qos of args.qos.split(',').map(Number)) {
    console.log(`\n## latency QoS ${qos} (µs, publish → delivered)`);
    const results = {};
    for (const name of brokers) {
      const broker = await start(name);
      try {
        pin(broker.pid, 0);
        const r = await runLoad(broker.port, qos);
        results[name] = r;
        console.log(
          `latency qos${qos} ${name.padEnd(9)} p50 ${f(r.p50)}  p90 ${f(r.p90)}  p99 ${f(r.p99)}  p99.9 ${f(r.p999)}  max ${f(r.max)}   ` +
            `(${r.received.toLocaleString('en-US')} of ${r.sent.toLocaleString('en-US')} delivered)`,
        );
      } finally {
        await broker.stop();
      }
    }
    if (results.hato) {
      for (const other of Object.keys(results).filter((n) => n !== 'hato')) {
        const o = results[other];
        console.log(`latency qos${qos} ratio hato/${other}: p50 ${(results.hato.p50 / o.p50).toFixed(2)}x  p99 ${(results.hato.p99 / o.p99).toFixed(2)}x`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
