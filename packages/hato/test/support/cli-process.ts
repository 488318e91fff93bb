// `hato broker` as a real child process built from the TypeScript sources (esbuild, into a
// temp dir), for tests that kill it with SIGKILL and start it again on the same store.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '../../../..');

/** Dependencies loaded from the repository's node_modules at run time (native, or not worth bundling). */
const EXTERNAL = ['better-sqlite3', 'pino', 'pino-pretty', 'prom-client', 'yaml', 'zod', 'ws', 'bufferutil', 'utf-8-validate'];

export interface CliBundle {
  readonly file: string;
  dispose(): void;
}

/** Bundles packages/hato/src/cli.ts (workspace packages from their sources) into a fresh temp dir. */
export async function bundleCli(): Promise<CliBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'hato-cli-bundle-'));
  const file = join(dir, 'cli.cjs');
  await build({
    entryPoints: [join(ROOT, 'packages/hato/src/cli.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['source'],
    external: EXTERNAL,
    logLevel: 'silent',
  });
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface BrokerProcess {
  readonly child: ChildProcess;
  /** The TCP port from the listening line. */
  readonly port: number;
  /** The listening line (JSON). */
  readonly listening: Record<string, unknown>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/** Starts `hato broker ARGS` (port 0, loopback, no WebSocket, no $SYS) and waits for its listening line. */
export function startBrokerProcess(bundle: CliBundle, args: readonly string[], timeoutMs = 20_000): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [bundle.file, 'broker', '--host', '127.0.0.1', '--port', '0', '--no-ws', '--sys-interval', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hato broker did not listen within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('hato broker listening')) continue;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: Buffer) => (out += more.toString()));
        const listening = JSON.parse(line) as Record<string, unknown>;
        resolve({
          child,
          port: listening.port as number,
          listening,
          exited,
          output: () => out,
          kill9: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`hato broker exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}
