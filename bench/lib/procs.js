// Shared by the benchmark orchestrators (bench/run.js, bench/client.js, bench/cluster.js): free
// ports, child process requests over IPC, CPU accounting from /proc, medians, and a throwaway
// Mosquitto.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Sends `msg` (if any) to a forked child and resolves with its first reply that has `key`. */
export function ask(child, msg, key) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (key in m) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    if (msg) child.send(msg);
  });
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

/** CPU seconds (user + system) of a process, from /proc. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * `[command, args]` for spawn that runs `argv` with RLIMIT_NOFILE raised to `nofile`, or as far
 * as the hard limit allows (Node cannot raise its own); `exec` keeps the pid.
 */
export function withNofile(nofile, argv) {
  return ['sh', ['-c', `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'sh', ...argv]];
}

/** The hard RLIMIT_NOFILE a child process can raise its limit to. */
export function hardNofile() {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

/** Resident set size of a process in bytes (VmRSS in /proc/PID/status). */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/**
 * Starts Mosquitto on a free loopback port with `extraLines` of config; → { port, pid, stop }.
 * `nofile` raises its open-file limit (for many connections).
 */
export async function startMosquitto(extraLines = [], nofile = 0) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hato-bench-'));
  const conf = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...extraLines];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const argv = [MOSQUITTO, '-c', conf];
  const [command, args] = nofile > 0 ? withNofile(nofile, argv) : [argv[0], argv.slice(1)];
  const child = spawn(command, args, { stdio: 'ignore' });
  await waitForPort(port);
  const stop = async () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, pid: child.pid, stop };
}
