// Runs child.js (the broker, bundled from the TypeScript sources with esbuild) in a child
// process on run-time ports of 127.0.0.1, and watches it: a crash is the child exiting.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This folder; main.js sets it when the fuzzer runs as a bundle (where import.meta.url is the bundle's). */
const here = () => globalThis.hatoFuzzDir ?? fileURLToPath(new URL('.', import.meta.url));
const STDERR_KEEP = 64 * 1024;

/** Bundles the broker child into a fresh temp dir; returns { file, dispose }. */
export async function bundleChild() {
  const { build } = globalThis.hatoFuzzEsbuild ?? (await import('esbuild'));
  const dir = mkdtempSync(join(tmpdir(), 'hato-fuzz-child-'));
  const file = join(dir, 'broker-child.cjs');
  await build({
    entryPoints: [join(here(), 'child.js')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['source'],
    external: ['bufferutil', 'utf-8-validate'],
    sourcemap: true,
    logLevel: 'silent',
  });
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the broker child from `bundle` (see bundleChild) with the options of `profile`
 * ('default' or 'limits', see child.js). Resolves with
 * { port, wsPort, pid, exited, exitInfo(), stderr(), stats(), stop() } once it listens.
 */
export function startBrokerProcess(bundle, profile = 'default') {
  const child = fork(bundle, [profile], {
    // HATO_FUZZ_CHILD_ARGS: extra node flags for the broker (e.g. --cpu-prof).
    execArgv: ['--enable-source-maps', ...(process.env.HATO_FUZZ_CHILD_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk.toString();
    if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
  });
  let exit;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return new Promise((resolve, reject) => {
    const onReady = (msg) => {
      if (!msg?.ready) return;
      child.off('message', onReady);
      resolve({
        port: msg.port,
        wsPort: msg.wsPort,
        pid: child.pid,
        exited,
        alive: () => exit === undefined,
        exitInfo: () => exit,
        stderr: () => stderr,
        stats: () => requestStats(child),
        stop: async () => {
          process.off('exit', killOnExit);
          if (exit === undefined) {
            // Closing the IPC channel ends the child (see child.js); SIGKILL if it lingers.
            if (child.connected) child.disconnect();
            const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
            await exited;
            clearTimeout(timer);
          }
        },
      });
    };
    child.on('message', onReady);
    exited.then(() => reject(new Error(`broker child exited before listening (${JSON.stringify(exit)}):\n${stderr}`)));
  });
}

function requestStats(child) {
  return new Promise((resolve) => {
    if (!child.connected) return resolve(undefined);
    const timer = setTimeout(() => {
      child.off('message', on);
      resolve(undefined);
    }, 2000);
    const on = (msg) => {
      if (!msg?.stats) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(msg.stats);
    };
    child.on('message', on);
    child.send({ stats: true });
  });
}
