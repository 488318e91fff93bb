// Helpers to drive the real mosquitto_pub / mosquitto_sub (Debian mosquitto-clients) from tests.
import { type ChildProcess, spawn } from 'node:child_process';

export interface SubProcess {
  child: ChildProcess;
  /** Message lines (`topic payload` with -v), debug lines removed. */
  lines: string[];
  /** Resolves once mosquitto_sub reports its SUBACK (it runs with -d). */
  subscribed: Promise<void>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves once `n` message lines have arrived. */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
}

const isDebug = (line: string) => /^Client \S+ (sending|received) /.test(line) || line.startsWith('Subscribed (mid');

export function mosquittoSub(args: string[]): SubProcess {
  // stdbuf: mosquitto_sub's debug lines are block-buffered on a pipe; line buffering shows the SUBACK at once.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  let onSuback: () => void = () => {};
  const subscribed = new Promise<void>((r) => (onSuback = r));
  const waiters: Array<{ n: number; resolve: (l: string[]) => void }> = [];
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.includes('received SUBACK')) onSuback();
      else if (!isDebug(line)) lines.push(line);
      nl = pending.indexOf('\n');
    }
    for (const w of waiters.splice(0)) {
      if (lines.length >= w.n) w.resolve(lines);
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const waitForLines = (n: number, timeoutMs = 10_000) =>
    new Promise<string[]>((resolve, reject) => {
      if (lines.length >= n) return resolve(lines);
      const t = setTimeout(() => reject(new Error(`mosquitto_sub: ${lines.length}/${n} lines: ${lines.join(' | ')}`)), timeoutMs);
      waiters.push({
        n,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  return { child, lines, subscribed, exited, waitForLines };
}

/** Runs mosquitto_pub to completion; rejects with its stderr on a non-zero exit. */
export function mosquittoPub(args: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_pub', args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    if (stdin !== undefined) child.stdin?.end(stdin);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${err}`))));
  });
}
