/**
 * The client fuzzer: runs seeded cases (client-case.ts) against the fuzz broker
 * (fuzz-broker.ts), several at a time, and checks the run-wide invariants: no uncaught
 * exception or unhandled rejection, and a heap that stays bounded (measured after
 * forced GCs, baseline taken once warmed up).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type CaseStats, runCase } from './client-case.js';
import { FuzzBroker } from './fuzz-broker.js';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases... */
  cases?: number;
  /** ...or after this many seconds, whichever comes first. */
  seconds?: number;
  /** Cases in flight at once (default 32). */
  concurrency?: number;
  /**
   * Every n-th case runs over loopback TCP (the real Node transport); the others over
   * the in-process MemoryPipe, the same fuzz broker behind it (default 8; 1 = all TCP).
   */
  tcpEvery?: number;
  /** Allowed heap growth over the warmed-up baseline, in MiB (default 64). */
  heapBudgetMb?: number;
  onProgress?(report: FuzzReport): void;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  connections: number;
  findings: string[];
  errors: Record<string, number>;
  mutations: Record<string, number>;
  heapMb: { baseline: number; max: number; final: number };
}

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return () => gc?.();
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const gc = collector();
  const broker = await new FuzzBroker().listen();
  const stats: CaseStats = { connections: 0, errors: new Map(), mutations: new Map(), findings: [] };
  const onUncaught = (err: unknown) => stats.findings.push(`uncaught exception: ${(err as Error)?.stack ?? String(err)}`);
  const onRejection = (err: unknown) => stats.findings.push(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const maxCases = options.cases ?? Number.POSITIVE_INFINITY;
  const deadline = options.seconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.seconds * 1000;
  const warmup = Math.min(500, Math.floor(maxCases / 10));
  let started = 0;
  let finished = 0;
  const heap = { baseline: 0, max: 0, final: 0 };
  const report = (): FuzzReport => ({
    seed: options.seed,
    cases: finished,
    connections: stats.connections,
    findings: stats.findings.slice(0, 50),
    errors: Object.fromEntries(stats.errors),
    mutations: Object.fromEntries(stats.mutations),
    heapMb: { baseline: mb(heap.baseline), max: mb(heap.max), final: mb(heap.final) },
  });
  const sample = () => {
    gc();
    const used = process.memoryUsage().heapUsed;
    if (heap.baseline === 0) heap.baseline = used;
    heap.max = Math.max(heap.max, used);
    return used;
  };
  const tcpEvery = options.tcpEvery ?? 8;
  const worker = async () => {
    while (started < maxCases && Date.now() < deadline && stats.findings.length < 50) {
      const index = started++;
      await runCase(broker, options.seed, index, stats, index % tcpEvery === 0);
      finished++;
      if (finished === warmup) sample();
      if (finished % 20_000 === 0) {
        sample();
        options.onProgress?.(report());
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker));
    await new Promise((resolve) => setTimeout(resolve, 50));
    heap.final = sample();
    const budget = (options.heapBudgetMb ?? 64) * 1048576;
    if (heap.final > heap.baseline + budget)
      stats.findings.push(`heap grew from ${mb(heap.baseline)} MiB to ${mb(heap.final)} MiB over ${finished} cases`);
    if (broker.sockets.size > 0) stats.findings.push(`${broker.sockets.size} client sockets still open after every case ended`);
    if (broker.pipes.size > 0) stats.findings.push(`${broker.pipes.size} memory pipes still open after every case ended`);
    stats.findings.push(...broker.findings);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    await broker.close();
  }
  return report();
}
