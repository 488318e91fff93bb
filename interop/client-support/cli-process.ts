/** Runs the built `hato` CLI or a mosquitto client and collects exit code, stdout and stderr. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../packages/hato/dist/cli.js');
export const hasMosquittoClients = existsSync('/usr/bin/mosquitto_sub') && existsSync('/usr/bin/mosquitto_pub');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[]): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A hung process is a bug under test: kill it so the test fails instead of hanging.
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? -9 : null), stdout, stderr });
    }),
  );
  return { child, done };
}

export const hato = (args: string[]) => run(process.execPath, [CLI, ...args]);
