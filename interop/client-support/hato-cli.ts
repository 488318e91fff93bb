// `hato broker` as a child process for tests: its pino JSON lines, the listening line, exit.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HATO_CLI = join(import.meta.dirname, '../../packages/hato/dist/cli.js');

export interface HatoProcess {
  child: ChildProcess;
  /** Parsed stdout JSON lines so far. */
  lines: Record<string, unknown>[];
  stderr(): string;
  stdout(): string;
  /** The first line (present or future) whose msg matches; rejects on exit or after ms. */
  waitFor(msg: RegExp, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function startHato(args: string[], env: NodeJS.ProcessEnv = {}): HatoProcess {
  // hato keeps its state durably in the data directory by default: a temp one per process
  // (XDG_DATA_HOME), removed when it exits, so a test never writes into the home directory.
  const dataHome = mkdtempSync(join(tmpdir(), 'hato-data-'));
  const child = spawn(process.execPath, [HATO_CLI, 'broker', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dataHome, ...env } });
  child.once('exit', () => rmSync(dataHome, { recursive: true, force: true }));
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  let errText = '';
  let outText = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    outText += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.on('data', (d) => (errText += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  const waitFor = (msg: RegExp, ms = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no log line ${msg} within ${ms} ms: ${JSON.stringify(lines)} ${errText}`)), ms);
      const finish = (result: Record<string, unknown> | Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const check = () => {
        const found = lines.find((line) => msg.test(String(line.msg)));
        if (found !== undefined) finish(found);
        else if (done) finish(new Error(`hato exited before ${msg}: ${JSON.stringify(lines)} ${errText}`));
      };
      waiters.add(check);
      check();
    });
  return { child, lines, stderr: () => errText, stdout: () => outText, waitFor, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
}

/** A CA, a server certificate for localhost/127.0.0.1, and client certificates with the given CNs. */
export function makePki(dir: string, clients: string[] = []): { ca: string; cert: string; key: string; clients: Record<string, { cert: string; key: string }> } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=hato test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  const made: Record<string, { cert: string; key: string }> = {};
  for (const cn of clients) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`);
    run('x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${cn}.crt`, '-days', '2');
    made[cn] = { cert: join(dir, `${cn}.crt`), key: join(dir, `${cn}.key`) };
  }
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), clients: made };
}
