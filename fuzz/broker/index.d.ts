/** Types of the broker fuzzer's entry points used by tests (the fuzzer is plain ESM JavaScript). */

export interface FuzzFailure {
  failure: string;
  stderr: string;
  /** Replay file of the whole batch. */
  file: string;
  /** Replay file reduced to the fewest cases and bytes that still fail, when it reproduced. */
  minimizedFile: string | undefined;
}

export interface FuzzSummary {
  seed: number;
  profile: string;
  cases: number;
  seconds: number;
  casesPerSecond: number;
  connections: number;
  wsCases: number;
  closedByBroker: number;
  timeouts: number;
  /** Indexes of the first 20 cases whose connection did not end in time. */
  timedOutCases: number[];
  crashes: number;
  invariantChecks: number;
  /** Health checks that failed once and passed on a later attempt (a busy machine). */
  healthRetries: number;
  failures: FuzzFailure[];
  nextIndex: number;
  /** The broker child's counters and memory at the end (since its last start). */
  brokerStats: Record<string, number> | undefined;
}

export interface FuzzOptions {
  seed?: number;
  /** Broker options: 'default' or 'limits' (see child.js); default 'limits' for odd seeds. */
  profile?: 'default' | 'limits';
  seconds?: number;
  maxCases?: number;
  concurrency?: number;
  batchSize?: number;
  /** Directory for replay files; default a new temp dir (made only when something fails). */
  out?: string;
  minimize?: boolean;
  stopOnFailure?: boolean;
  startIndex?: number;
  log?: (line: string) => void;
}

export function runFuzz(options: FuzzOptions): Promise<FuzzSummary>;

export function bundleChild(): Promise<{ file: string; dispose(): void }>;

export interface ReplayCase {
  transport?: 'tcp' | 'ws';
  chunks: string[];
  pace?: 'sync' | 'immediate' | 'timer';
  close?: 'fin' | 'rst' | 'linger' | 'hold' | 'stall';
  /** How long 'hold' and 'stall' keep the connection open (ms). */
  holdMs?: number;
  waitUpgrade?: boolean;
  /** Played without ending the connection from the client side: the broker must close it. */
  expectClosedByBroker?: boolean;
}

export interface ReplayData {
  description?: string;
  /** Broker options the case was found with (see child.js); default 'default'. */
  profile?: string;
  failure?: string;
  cases: ReplayCase[];
}

export function loadReplay(file: string): ReplayData;

export interface ReplayResult {
  failure: string | undefined;
  stderr: string;
  notClosed: number[];
  timedOut: number[];
}

export function replay(bundle: string, data: ReplayData, concurrency?: number): Promise<ReplayResult>;
