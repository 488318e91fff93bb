/**
 * A real `redis-server` for tests: on a free 127.0.0.1 port, its data in a temporary directory,
 * append-only file on. Tests that need Redis FAIL when it is missing (never skip): install it
 * with `scripts/setup-test-env.sh` (or `apt-get install redis-server`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';

export interface RedisServerOptions {
  /**
   * Redis' `appendfsync`: `always` fsyncs the append-only file before each reply (what the
   * crash cases that kill Redis itself need), `everysec` (default) once a second.
   */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** An existing data directory (a restart on the same data); default a new temporary one, removed by stop(). */
  dir?: string;
  /** A port (a restart on the same address); default a free one. */
  port?: number;
}

export interface RedisServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `redis://127.0.0.1:PORT` (append `/DB` for another database). */
  readonly url: string;
  /** Where its append-only file lives. */
  readonly dir: string;
  /** SHUTDOWN-like stop (SIGTERM: Redis flushes and exits), then removes the directory if it made it. */
  stop(): Promise<void>;
  /** `kill -9`: the process dies at once, the directory stays (for `startRedisServer({ dir, port })`). */
  kill(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/** The redis-server binary: $REDIS_SERVER, a usual place, or the PATH. Throws a clear error when there is none. */
export function redisServerBinary(env: NodeJS.ProcessEnv = process.env, places: readonly string[] = CANDIDATES): string {
  if (env.REDIS_SERVER) {
    try {
      accessSync(env.REDIS_SERVER, constants.X_OK);
      return env.REDIS_SERVER;
    } catch {
      throw new Error(`REDIS_SERVER=${env.REDIS_SERVER} is not an executable redis-server`);
    }
  }
  const path = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, 'redis-server'));
  for (const candidate of [...places, ...path]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    'redis-server not found (looked at $REDIS_SERVER, /usr/bin, /usr/local/bin and the PATH): the Redis tests need a real server. Install it with scripts/setup-test-env.sh (or apt-get install redis-server).',
  );
}

/** Starts redis-server and resolves once it accepts connections. The caller stops it (stop() or kill()). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hato-redis-'));
  try {
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const started = await spawnServer(binary, dir, port, options.appendfsync ?? 'everysec');
      if (started.child !== undefined) return server(started.child, dir, port, ownDir);
      // Another process took the port between freePort() and the bind: try another one.
      if (!started.portTaken || options.port !== undefined || attempt >= 4) throw new Error(`redis-server did not start on 127.0.0.1:${port}:\n${started.output}`);
    }
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

interface Spawned {
  child?: ChildProcess;
  portTaken: boolean;
  output: string;
}

function spawnServer(binary: string, dir: string, port: number, appendfsync: string): Promise<Spawned> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    appendfsync,
    '--logfile',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ portTaken: false, output: `${output}\n(not ready within 10 s)` });
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, portTaken: false, output });
      }
    };
    const onExit = () => {
      clearTimeout(timer);
      resolve({ portTaken: /Address already in use/i.test(output), output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => {
      output += String(err);
    });
  });
}

function server(child: ChildProcess, dir: string, port: number, ownDir: boolean): RedisServer {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const end = async (signal: NodeJS.Signals) => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: async () => {
      await end('SIGTERM');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
  };
}
