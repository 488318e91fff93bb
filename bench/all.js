// `npm run bench`: the broker benchmark (bench/run.js), the latency percentiles (bench/latency.js),
// the cost of idle connections (bench/connections.js), the cost of durable state
// (bench/persistence.js: persistent pairs per store, 1,000,000 retained topics), the cluster
// (bench/cluster.js: pairs on 1 node vs 2 nodes joined through Redis, the cross-node hop and its
// latency), then the client benchmark
// (bench/client.js) twice: against hato's broker, where the clients' own cost shows, and
// against Mosquitto (when installed), the reference broker, with the bundle sizes. Each runs in
// its own process with this process's stdio, one after the other so they do not compete for
// the CPU. For options, run a script directly. Exits non-zero if any fails (the others still run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const hasMosquitto = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].some((p) => existsSync(p));
const runs = [
  ['run.js'],
  ['latency.js'],
  ['connections.js'],
  ['persistence.js'],
  ['cluster.js'],
  ['client.js', '--broker', 'hato', ...(hasMosquitto ? ['--no-bundle'] : [])],
  ...(hasMosquitto ? [['client.js', '--broker', 'mosquitto']] : []),
];
let failed = false;
for (const [script, ...args] of runs) {
  const r = spawnSync(process.execPath, [join(here, script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${script} ${args.join(' ')} failed (${r.signal ?? `exit ${r.status}`})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
