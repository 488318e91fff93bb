// `npm run bench`: the broker benchmark (bench/run.js), then the client benchmark
// (bench/client.js), each in its own process with this process's stdio, one after the
// other so they do not compete for the CPU. For options, run either script directly.
// Exits non-zero if either fails (the other still runs).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
let failed = false;
for (const script of ['run.js', 'client.js']) {
  const r = spawnSync(process.execPath, [join(here, script)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${script} failed (${r.signal ?? `exit ${r.status}`})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
