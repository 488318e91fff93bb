// `hato broker --cluster` as a real process, for what needs no cluster peer: the store a
// cluster refuses (named `cluster` in the error), --print-config with the password hidden.
// The cluster itself (3 processes on a real redis-server) is tested in interop/cluster-*.test.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleCli, type CliBundle } from './support/cli-process.js';

const ROOT = join(import.meta.dirname, '../../..');
const dataHome = mkdtempSync(join(tmpdir(), 'hato-cluster-cli-'));
let bundle: CliBundle;
beforeAll(async () => {
  bundle = await bundleCli();
}, 60_000);
afterAll(() => {
  bundle?.dispose();
  rmSync(dataHome, { recursive: true, force: true });
});

/** Runs `hato broker ARGS` to its exit: the code and both outputs. */
function broker(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bundle.file, 'broker', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), XDG_DATA_HOME: dataHome },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

it('refuses a SQLite or in-memory store with --cluster, naming cluster', async () => {
  for (const persistence of ['sqlite', 'memory']) {
    const run = await broker(['--port', '0', '--no-ws', '--cluster', 'redis://127.0.0.1:1/0', '--persistence', persistence]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`hato broker: --cluster: a cluster keeps its sessions, queues and retained messages in the shared Redis`);
    expect(run.stderr).toContain(`got '${persistence}'`);
    expect(run.stdout).not.toContain('hato broker listening');
  }
}, 60_000);

it('refuses a bad --cluster URL, naming the flag', async () => {
  const run = await broker(['--port', '0', '--no-ws', '--cluster', 'redis://127.0.0.1:6379/zero']);
  expect(run.code).toBe(1);
  expect(run.stderr).toBe("hato broker: --cluster: redis database must be a number: redis://HOST:PORT/DB (got 'zero')\n");
}, 60_000);

it('--print-config shows the cluster and its Redis store, the password hidden', async () => {
  const run = await broker(['--print-config', '--cluster', 'redis://:s3cret@127.0.0.1:6390/2']);
  expect(run.code).toBe(0);
  expect(run.stdout).not.toContain('s3cret');
  const printed = JSON.parse(run.stdout) as Record<string, unknown>;
  expect(printed.cluster).toEqual({ url: 'redis://***@127.0.0.1:6390/2' });
  expect(printed.store).toEqual({ type: 'redis', url: 'redis://***@127.0.0.1:6390/2' });
}, 60_000);
