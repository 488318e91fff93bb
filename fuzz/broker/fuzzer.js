// The fuzz loop: batches of cases over many concurrent connections to a broker child
// process; after every batch the invariant is checked (the process is alive and serves a
// healthy client). A failure is saved as a replay file, then reduced to the fewest cases
// (and bytes) that still break the invariant.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from '@hato/testkit';
import { bundleChild, startBrokerProcess } from './broker-process.js';
import { caseToJson, generateCase } from './cases.js';
import { checkHealth } from './health.js';
import { runCase } from './run-case.js';

const HEALTH_TIMEOUT_MS = 10_000;

const HEALTH_ATTEMPTS = 3;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Why `broker` breaks the invariant now, or undefined when it holds. A health check that
 * fails while the process lives is tried again (up to HEALTH_ATTEMPTS in all, a second apart),
 * so a machine busy with other work does not pass for a broken broker; `onRetry` counts those.
 */
export async function checkInvariant(broker, onRetry = () => {}) {
  let lastError;
  for (let attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++) {
    if (!broker.alive()) return describeExit(broker);
    try {
      await withTimeout(checkHealth(broker), HEALTH_TIMEOUT_MS, 'health check');
      if (!broker.alive()) return describeExit(broker);
      return undefined;
    } catch (err) {
      lastError = err;
      // The process may have died while the healthy client was trying (its exit event may
      // come after the refused connection).
      await Promise.race([broker.exited, pause(attempt < HEALTH_ATTEMPTS ? 1000 : 500)]);
      if (!broker.alive()) return describeExit(broker);
      if (attempt < HEALTH_ATTEMPTS) onRetry(err);
    }
  }
  return `alive but not serving a healthy client (${HEALTH_ATTEMPTS} attempts): ${lastError?.message ?? lastError}`;
}

function describeExit(broker) {
  const { code, signal } = broker.exitInfo();
  return `broker process exited (code ${code}, signal ${signal})`;
}

/** Runs `cases` (at most `concurrency` at a time); stops starting new ones once the broker exits. */
export async function runCases(broker, cases, concurrency, onResult = () => {}) {
  let next = 0;
  const results = new Array(cases.length);
  const worker = async () => {
    while (next < cases.length && broker.alive()) {
      const i = next++;
      results[i] = await runCase(broker, cases[i]);
      onResult(cases[i], results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  return results;
}

/** Plays `cases` against a fresh broker child; resolves { failure, stderr, results }. */
export async function reproduce(bundle, profile, cases, concurrency = 64) {
  const broker = await startBrokerProcess(bundle, profile);
  try {
    const results = await runCases(broker, cases, concurrency);
    const failure = await checkInvariant(broker);
    return { failure, stderr: broker.stderr(), results };
  } finally {
    await broker.stop();
  }
}

/**
 * Reduces a failing set of cases: halves while one half fails alone, then single cases,
 * then the bytes of a single case (one chunk, shortest failing prefix). `budget` bounds the
 * number of broker restarts.
 */
export async function minimize(bundle, profile, cases, log, budget = 40) {
  let runs = 0;
  const fails = async (set) => {
    runs++;
    return (await reproduce(bundle, profile, set)).failure !== undefined;
  };
  let set = cases;
  if (!(await fails(set))) return { cases: set, reproduced: false, runs };
  while (set.length > 1 && runs < budget) {
    const half = Math.ceil(set.length / 2);
    const a = set.slice(0, half);
    const b = set.slice(half);
    if (await fails(a)) set = a;
    else if (await fails(b)) set = b;
    else break;
  }
  if (set.length > 1 && set.length <= 8) {
    for (const c of set) {
      if (runs >= budget) break;
      if (await fails([c])) {
        set = [c];
        break;
      }
    }
  }
  if (set.length === 1) {
    let c = set[0];
    const one = { ...c, chunks: [Buffer.concat(c.chunks.map((x) => Buffer.from(x)))], pace: 'sync' };
    if (c.chunks.length > 1 && !c.waitUpgrade && runs < budget && (await fails([one]))) c = one;
    if (c.chunks.length === 1) {
      // Shortest failing prefix, by bisection.
      const bytes = c.chunks[0];
      let lo = 0;
      let hi = bytes.length;
      while (lo + 1 < hi && runs < budget) {
        const mid = (lo + hi) >> 1;
        if (await fails([{ ...c, chunks: [bytes.subarray(0, mid)] }])) hi = mid;
        else lo = mid;
      }
      c = { ...c, chunks: [bytes.subarray(0, hi)] };
    }
    set = [c];
  }
  log?.(`  minimized to ${set.length} case(s) in ${runs} broker runs`);
  return { cases: set, reproduced: true, runs };
}

export function replayFile(data) {
  return JSON.stringify(data, null, 2);
}

/**
 * Runs cases on `broker` from `state.index`, keeping `ctx.concurrency` connections busy, and
 * checks the invariant each time another `ctx.batchSize` cases have completed (while the next
 * cases run; they may run at most two batches ahead of the last passing check), and once at
 * the end. Resolves { failure, suspects }: on failure, the cases no passing check cleared.
 */
async function runSegment(broker, state, ctx) {
  const waiters = [];
  const signal = () => {
    for (const wake of waiters.splice(0)) wake();
  };
  const changed = () => new Promise((resolve) => waiters.push(resolve));
  const suspects = new Set();
  const finished = new Set();
  let completed = 0;
  let gateBase = state.started;
  let stop = false;
  let workersDone = false;
  let failure;

  const worker = async () => {
    for (;;) {
      if (stop || !broker.alive() || state.started >= ctx.maxCases || Date.now() >= ctx.deadline) return;
      if (state.started - gateBase >= 2 * ctx.batchSize) {
        await changed();
        continue;
      }
      state.started++;
      const c = generateCase(ctx.seed, state.index++);
      suspects.add(c);
      const result = await runCase(broker, c);
      finished.add(c);
      completed++;
      ctx.onResult(c, result);
      signal();
    }
  };
  const checker = async () => {
    let nextAt = ctx.batchSize;
    // Every threshold below maxCases gets its check, even when reached late, so bounded runs
    // make the same checks every time; the final check covers the rest.
    while (nextAt < ctx.maxCases) {
      if (completed < nextAt) {
        if (workersDone) return;
        await changed();
        continue;
      }
      const base = state.started;
      const cleared = [...finished];
      failure = await ctx.check(broker);
      if (failure !== undefined) {
        stop = true;
        signal();
        return;
      }
      for (const c of cleared) {
        suspects.delete(c);
        finished.delete(c);
      }
      gateBase = base;
      nextAt += ctx.batchSize;
      await ctx.progress(broker);
      signal();
    }
  };
  const checking = checker();
  await Promise.all(Array.from({ length: ctx.concurrency }, worker));
  workersDone = true;
  signal();
  await checking;
  if (failure === undefined) failure = await ctx.check(broker);
  return { failure, suspects: [...suspects].sort((a, b) => a.index - b.index) };
}

/**
 * Runs the fuzzer. Options: seed, profile (broker options, see child.js; default 'limits'
 * for odd seeds, 'default' for even ones), seconds and/or maxCases (at least one), concurrency,
 * batchSize (cases between invariant checks), out (directory for replay files; default a new
 * temp dir), minimize (default true), stopOnFailure (default false), log (a console.log-like
 * function or undefined). Resolves a summary (see index.d.ts).
 */
export async function runFuzz(options = {}) {
  const seed = options.seed ?? 1;
  // Odd seeds run the broker with small limits, even seeds with its defaults.
  const profile = options.profile ?? (seed % 2 === 1 ? 'limits' : 'default');
  const maxCases = options.maxCases ?? Number.POSITIVE_INFINITY;
  const deadline = options.seconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.seconds * 1000;
  if (maxCases === Number.POSITIVE_INFINITY && deadline === Number.POSITIVE_INFINITY) throw new Error('runFuzz needs seconds or maxCases');
  const log = options.log;
  let outDir = options.out;
  const { file: bundle, dispose } = await bundleChild();
  const summary = {
    seed,
    profile,
    cases: 0,
    seconds: 0,
    casesPerSecond: 0,
    connections: 0,
    wsCases: 0,
    closedByBroker: 0,
    timeouts: 0,
    /** Indexes of the first cases whose connection did not end in time (replay with --case). */
    timedOutCases: [],
    crashes: 0,
    invariantChecks: 0,
    /** Health checks that failed once and passed on a later attempt (a busy machine). */
    healthRetries: 0,
    failures: [],
  };
  const started = Date.now();
  let lastProgress = started;
  const state = { index: options.startIndex ?? 0, started: 0 };
  const ctx = {
    seed,
    maxCases,
    deadline,
    concurrency: options.concurrency ?? 128,
    batchSize: options.batchSize ?? 1000,
    onResult(c, r) {
      summary.cases++;
      summary.connections++;
      if (c.transport === 'ws') summary.wsCases++;
      if (r.closedByBroker) summary.closedByBroker++;
      if (r.timedOut) {
        summary.timeouts++;
        if (summary.timedOutCases.length < 20) summary.timedOutCases.push(c.index);
      }
    },
    async check(broker) {
      summary.invariantChecks++;
      summary.connections += 5; // the healthy clients: two pairs over TCP, one over WebSocket
      return checkInvariant(broker, () => summary.healthRetries++);
    },
    async progress(broker) {
      if (!log || Date.now() - lastProgress < 10_000) return;
      lastProgress = Date.now();
      const s = (lastProgress - started) / 1000;
      const stats = await broker.stats();
      const rss = stats
        ? ` broker rss ${(stats.rss / 1048576).toFixed(0)} MB heap ${(stats.heapUsed / 1048576).toFixed(0)} MB, ${stats.sessions} sessions (${stats.online} online), ${stats.retained} retained`
        : '';
      log(`  ${summary.cases} cases in ${s.toFixed(0)} s (${Math.round(summary.cases / s)}/s), ${summary.failures.length} failures${rss}`);
    },
  };
  let broker = await startBrokerProcess(bundle, profile);
  try {
    for (;;) {
      const { failure, suspects } = await runSegment(broker, state, ctx);
      if (failure === undefined) break;
      if (!broker.alive()) summary.crashes++;
      const stderr = broker.stderr();
      const first = suspects[0]?.index ?? state.index;
      const last = suspects[suspects.length - 1]?.index ?? state.index;
      log?.(`INVARIANT FAILED after cases ${first}..${last} (seed ${seed}): ${failure}\n${stderr}`);
      outDir ??= mkdtempSync(join(tmpdir(), 'hato-fuzz-'));
      mkdirSync(outDir, { recursive: true });
      const record = { seed, profile, batch: [first, last], failure, stderr };
      const file = join(outDir, `broker-seed${seed}-case${first}.json`);
      writeFileSync(file, replayFile({ ...record, cases: suspects.map(caseToJson) }));
      log?.(`  replay file: ${file}`);
      const found = { failure, stderr, file, minimizedFile: undefined };
      await broker.stop();
      if (options.minimize !== false) {
        const reduced = await minimize(bundle, profile, suspects, log);
        if (reduced.reproduced) {
          const minimal = await reproduce(bundle, profile, reduced.cases);
          found.minimizedFile = join(outDir, `broker-seed${seed}-case${first}.min.json`);
          writeFileSync(found.minimizedFile, replayFile({ ...record, failure: minimal.failure ?? failure, stderr: minimal.stderr, cases: reduced.cases.map(caseToJson) }));
          log?.(`  minimized replay file: ${found.minimizedFile}`);
        } else {
          log?.('  the cases did not reproduce on a fresh broker (depends on earlier state or timing)');
        }
      }
      summary.failures.push(found);
      if (options.stopOnFailure || state.started >= maxCases || Date.now() >= deadline) break;
      broker = await startBrokerProcess(bundle, profile);
    }
    summary.brokerStats = await broker.stats();
  } finally {
    await broker.stop();
    dispose();
  }
  summary.seconds = (Date.now() - started) / 1000;
  summary.casesPerSecond = Math.round(summary.cases / summary.seconds);
  summary.nextIndex = state.index;
  return summary;
}
