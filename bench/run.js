// `npm run bench`: end-to-end broker throughput, hato vs Aedes (and Mosquitto when installed),
// in one run, on loopback. Each broker runs in its own process; the load generator runs in
// separate processes with pre-encoded packets (bench/load/). Prints delivered messages/s per
// broker, the share of sent messages that never arrived (loss), the ratio hato/other, and the
// CPU use of the broker and of the load generator.
//
//   node bench/run.js [--seconds 5] [--brokers hato,aedes,mosquitto] [--scenarios fanout,pairs]
//                     [--cpu-prof <dir>]   (V8 CPU profile of each Node broker process)
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ask, cpuSeconds, MOSQUITTO, sleep, startMosquitto } from './lib/procs.js';

const here = new URL('.', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    brokers: { type: 'string', default: 'hato,aedes,mosquitto' },
    scenarios: { type: 'string', default: 'fanout,pairs' },
    // Writes a V8 CPU profile of each Node broker process into this directory (node --cpu-prof).
    'cpu-prof': { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP_MS = 1000;

const scenarios = {
  fanout: { title: '1 publisher → 50 subscribers, QoS 0, 64 B', qos: 0, pubs: 1, subs: 50, shared: true, subProcs: 2 },
  pairs: { title: '20 publisher/subscriber pairs, QoS 1, 64 B', qos: 1, pubs: 20, subs: 20, shared: false, subProcs: 1 },
};

async function startBroker(name) {
  if (name === 'mosquitto') return startMosquitto(['max_queued_messages 1000']);
  const execArgv = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child = fork(join(here, 'servers', `${name}.js`), [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const stop = async () => {
    if (!args['cpu-prof']) {
      child.kill('SIGKILL');
      return;
    }
    // A clean exit so that node writes the profile.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ cmd: 'stop' });
    await Promise.race([exited, sleep(5000)]);
    child.kill('SIGKILL');
  };
  return { port, pid: child.pid, stop };
}

async function runScenario(brokerName, sc) {
  const broker = await startBroker(brokerName);
  const subProcs = [];
  const pubProc = fork(join(here, 'load', 'publisher.js'));
  try {
    const perProc = Math.ceil(sc.subs / sc.subProcs);
    for (let p = 0; p < sc.subProcs; p++) {
      const child = fork(join(here, 'load', 'subscriber.js'));
      subProcs.push(child);
      const topics = [];
      for (let i = p * perProc; i < Math.min(sc.subs, (p + 1) * perProc); i++) {
        topics.push(sc.shared ? 'bench/fanout' : `bench/pair/${i}`);
      }
      await ask(child, { cmd: 'start', port: broker.port, topics, qos: sc.qos, prefix: `sub${p}` }, 'ready');
    }
    const pubTopics = Array.from({ length: sc.pubs }, (_, i) => (sc.shared ? 'bench/fanout' : `bench/pair/${i}`));
    await ask(pubProc, { cmd: 'open', port: broker.port, topics: pubTopics, qos: sc.qos, payloadSize: 64, prefix: 'pub' }, 'ready');
    pubProc.send({ cmd: 'go' });
    await sleep(WARMUP_MS);
    const load = [pubProc, ...subProcs];
    const snap = async () => {
      const counts = await Promise.all(load.map((c) => ask(c, { cmd: 'count' }, 'count')));
      return {
        t: performance.now(),
        sent: counts[0].count,
        delivered: counts.slice(1).reduce((a, c) => a + c.count, 0),
        loadCpu: counts.reduce((a, c) => a + c.cpuMicros, 0) / 1e6,
        brokerCpu: cpuSeconds(broker.pid),
      };
    };
    const a = await snap();
    await sleep(SECONDS * 1000);
    const b = await snap();
    const dt = (b.t - a.t) / 1000;
    // Every PUBLISH sent should reach each subscriber of its topic; the shortfall over the
    // window is what the broker dropped, plus what is still in transit at its end (so a few
    // percent can be a broker's buffering rather than loss; tens of percent is dropping).
    const expected = (b.sent - a.sent) * (sc.shared ? sc.subs : 1);
    return {
      rate: (b.delivered - a.delivered) / dt,
      loss: expected > 0 ? Math.max(0, 1 - (b.delivered - a.delivered) / expected) : 0,
      brokerCpu: (100 * (b.brokerCpu - a.brokerCpu)) / dt,
      loadCpu: (100 * (b.loadCpu - a.loadCpu)) / dt,
    };
  } finally {
    for (const c of [pubProc, ...subProcs]) c.kill('SIGKILL');
    await broker.stop();
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const brokers = args.brokers.split(',').filter((b) => b !== 'mosquitto' || MOSQUITTO);
console.log(`# broker throughput, ${SECONDS} s per run after ${WARMUP_MS} ms warm-up; node ${process.version}`);
for (const key of args.scenarios.split(',')) {
  const sc = scenarios[key];
  console.log(`\n## ${key}: ${sc.title}`);
  const results = {};
  for (const name of brokers) {
    const r = await runScenario(name, sc);
    results[name] = r;
    console.log(
      `${key} ${name.padEnd(9)} ${fmt(r.rate).padStart(11)} msg/s delivered   loss ${(100 * r.loss).toFixed(1)}%   broker CPU ${r.brokerCpu.toFixed(0)}% (${((r.brokerCpu * 1e4) / r.rate).toFixed(2)} µs/msg)   load-generator CPU ${r.loadCpu.toFixed(0)}%`,
    );
  }
  if (results.hato) {
    for (const other of Object.keys(results).filter((n) => n !== 'hato')) {
      console.log(`${key} ratio hato/${other}: ${(results.hato.rate / results[other].rate).toFixed(2)}x`);
    }
  }
}
