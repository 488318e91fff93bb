/**
 * `npm run fuzz:client -- --seconds N --seed S [--cases N] [--concurrency C] [--tcp-every N]`: runs the
 * client fuzzer and prints one progress line per 20,000 cases, then the report. Exits 1
 * when an invariant broke (the findings say which case, by seed and index).
 */
import { type FuzzReport, runFuzz } from './fuzzer.js';

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number`);
  return n;
}

const line = (r: FuzzReport) =>
  `${r.cases} cases, ${r.connections} connections, heap ${r.heapMb.baseline} → ${r.heapMb.max} MiB max, ${r.findings.length} findings`;

const seed = arg('seed') ?? Date.now() % 1_000_000;
const seconds = arg('seconds') ?? 60;
const started = Date.now();
process.stdout.write(`client fuzzer: seed ${seed}, ${seconds} s\n`);
const options: Parameters<typeof runFuzz>[0] = {
  seed,
  seconds,
  concurrency: arg('concurrency') ?? 32,
  tcpEvery: arg('tcp-every') ?? 8,
  onProgress: (r) => process.stdout.write(`  ${Math.round((Date.now() - started) / 1000)} s: ${line(r)}\n`),
};
const cases = arg('cases');
if (cases !== undefined) options.cases = cases;
const report = await runFuzz(options);
process.stdout.write(`done: ${line(report)}\n`);
process.stdout.write(`error events: ${JSON.stringify(report.errors)}\n`);
process.stdout.write(`mutations: ${JSON.stringify(report.mutations)}\n`);
for (const f of report.findings) process.stdout.write(`FINDING: ${f}\n`);
process.exitCode = report.findings.length > 0 ? 1 : 0;
