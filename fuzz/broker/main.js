#!/usr/bin/env node
// npm run fuzz:broker -- --seconds N --seed S [--cases N] [--concurrency N] [--batch N] [--out DIR] [--stop]
// npm run fuzz:broker -- --replay FILE
import { parseArgs } from 'node:util';
import { bundleChild } from './broker-process.js';
import { runFuzz } from './fuzzer.js';
import { loadReplay, replay } from './replay.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    seed: { type: 'string' },
    cases: { type: 'string' },
    concurrency: { type: 'string' },
    batch: { type: 'string' },
    out: { type: 'string' },
    replay: { type: 'string' },
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
    console.log('usage: npm run fuzz:broker -- [--seconds N] [--seed S] [--cases N] [--concurrency N] [--batch N] [--out DIR] [--stop] [--no-minimize]');
    console.log('       npm run fuzz:broker -- --replay FILE');
    return 0;
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
    `fuzz:broker seed ${summary.seed}: ${summary.cases} cases in ${summary.seconds.toFixed(1)} s = ${summary.casesPerSecond} cases/s; ` +
      `${summary.connections} connections (${summary.wsCases} cases over WebSocket); ${summary.closedByBroker} closed by the broker, ` +
      `${summary.timeouts} timed out; ${summary.invariantChecks} invariant checks; crashes ${summary.crashes}, invariant failures ${summary.failures.length}` +
      ` (next case index ${summary.nextIndex})`,
  );
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
