// npm run fuzz:broker -- --seconds N --seed S [--profile default|limits] [--cases N] [--concurrency N] [--batch N] [--out DIR] [--stop]
// npm run fuzz:broker -- --replay FILE
// npm run fuzz:broker -- --seed S --case N[,M|-M...] [--out FILE]   (rebuilds cases of seed S and plays them together)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bundleChild } from './broker-process.js';
import { caseToJson, generateCase } from './cases.js';
import { runFuzz } from './fuzzer.js';
import { loadReplay, replay } from './replay.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    seed: { type: 'string' },
    profile: { type: 'string' },
    cases: { type: 'string' },
    concurrency: { type: 'string' },
    batch: { type: 'string' },
    out: { type: 'string' },
    replay: { type: 'string' },
    case: { type: 'string' },
    stop: { type: 'boolean' },
    'no-minimize': { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

const num = (v, name) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
  return n;
};

async function main() {
  if (values.help) {
    console.log('usage: npm run fuzz:broker -- [--seconds N] [--seed S] [--profile default|limits] [--cases N] [--concurrency N] [--batch N] [--out DIR] [--stop] [--no-minimize]');
    console.log('       npm run fuzz:broker -- --replay FILE');
    console.log('       npm run fuzz:broker -- --seed S --case N[,M|N-M...] [--out FILE.json]');
    return 0;
  }
  if (values.case !== undefined) {
    const seed = num(values.seed, 'seed') ?? 1;
    // One index, or several (comma-separated, or FROM-TO): played together, as the fuzz does.
    const indexes = values.case.split(',').flatMap((part) => {
      const [from, to = from] = part.split('-').map((v) => num(v, 'case'));
      return Array.from({ length: to - from + 1 }, (_v, k) => from + k);
    });
    const cases = indexes.map((i) => caseToJson(generateCase(seed, i)));
    const data = { seed, profile: values.profile ?? (seed % 2 === 1 ? 'limits' : 'default'), cases };
    if (cases.length === 1) console.log(JSON.stringify(cases[0], null, 2));
    if (values.out) writeFileSync(values.out, `${JSON.stringify(data, null, 2)}\n`);
    const { file, dispose } = await bundleChild();
    try {
      const result = await replay(file, data);
      const ended = result.timedOut.length === 0 ? 'all ended' : `cases that did not end: ${result.timedOut.map((i) => indexes[i]).join(', ')}`;
      console.log(`invariant: ${result.failure ?? 'holds'}; connections: ${ended}\n${result.stderr}`);
      return result.failure || result.timedOut.length ? 1 : 0;
    } finally {
      dispose();
    }
  }
  if (values.replay) {
    const data = loadReplay(values.replay);
    const { file, dispose } = await bundleChild();
    try {
      const result = await replay(file, data);
      const problems = [];
      if (result.failure) problems.push(`invariant: ${result.failure}`);
      if (result.notClosed.length) problems.push(`broker did not close case(s) ${result.notClosed.join(', ')}`);
      if (result.timedOut.length) problems.push(`case(s) ${result.timedOut.join(', ')} did not end`);
      if (problems.length === 0) {
        console.log(`replay ${values.replay}: ${data.cases.length} case(s), invariant holds`);
        if (process.env.HATO_FUZZ_LOG_ERRORS) console.log(result.stderr);
        return 0;
      }
      console.log(`replay ${values.replay}: ${problems.join('; ')}\n${result.stderr}`);
      return 1;
    } finally {
      dispose();
    }
  }
  const seconds = num(values.seconds, 'seconds');
  const maxCases = num(values.cases, 'cases');
  const seed = num(values.seed, 'seed') ?? Date.now() % 1_000_000;
  const summary = await runFuzz({
    seed,
    profile: values.profile,
    seconds: seconds ?? (maxCases === undefined ? 10 : undefined),
    maxCases,
    concurrency: num(values.concurrency, 'concurrency'),
    batchSize: num(values.batch, 'batch'),
    out: values.out,
    stopOnFailure: values.stop,
    minimize: !values['no-minimize'],
    log: console.log,
  });
  console.log(
    `fuzz:broker seed ${summary.seed} (broker profile ${summary.profile}): ${summary.cases} cases in ${summary.seconds.toFixed(1)} s = ${summary.casesPerSecond} cases/s; ` +
      `${summary.connections} connections (${summary.wsCases} cases over WebSocket); ${summary.closedByBroker} closed by the broker, ` +
      `${summary.timeouts} timed out; ${summary.invariantChecks} invariant checks (${summary.healthRetries} retried); crashes ${summary.crashes}, invariant failures ${summary.failures.length}` +
      ` (next case index ${summary.nextIndex})`,
  );
  const b = summary.brokerStats;
  if (b) {
    console.log(
      `  broker (since its last start): ${b.connected} sessions accepted, ${b.clientErrors} client errors, ${b.published} messages routed, ` +
        `${b.subscribed} SUBSCRIBEs granted; ${b.sessions} sessions (${b.online} online), ${b.retained} retained; rss ${(b.rss / 1048576).toFixed(0)} MB, heap ${(b.heapUsed / 1048576).toFixed(0)} MB`,
    );
  }
  if (summary.timedOutCases.length) console.log(`  cases whose connection did not end in time (first 20): ${summary.timedOutCases.join(', ')}`);
  for (const f of summary.failures) console.log(`  ${f.failure}\n    ${f.file}${f.minimizedFile ? `\n    ${f.minimizedFile}` : ''}`);
  return summary.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 2;
  },
);
