/**
 * Starts a real Mosquitto for client tests: TCP, TLS and WebSocket listeners on free
 * ports, a temp config, a CA + server certificate made with `openssl` at run time, and
 * persistence so that `restart()` (stop, start again on the same ports) keeps sessions.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const hasMosquitto = existsSync(MOSQUITTO);

const handedOut = new Set<number>();

/** A port nothing listens on now, never the same twice in this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${log()}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
}

/** A CA and a server certificate for 127.0.0.1 / localhost, made by openssl. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=hato test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

export interface MosquittoOptions {
  /** Extra config lines (e.g. `password_file`), or a function of the temp dir that makes them. */
  extraConfig?: string[] | ((dir: string) => string[]);
  tls?: boolean;
  websockets?: boolean;
  allowAnonymous?: boolean;
}

export class Mosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'hato-mosq-'));
  port = 0;
  tlsPort = 0;
  wsPort = 0;
  ca = '';
  private child: ChildProcess | undefined;
  log = '';

  constructor(private readonly options: MosquittoOptions = {}) {}

  async start(): Promise<this> {
    if (this.port === 0) {
      this.port = await freePort();
      if (this.options.tls !== false) this.tlsPort = await freePort();
      if (this.options.websockets !== false) this.wsPort = await freePort();
      this.writeConfig();
    }
    this.child = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    const child = this.child;
    const log = () => this.log;
    await waitForPort(this.port, child, log);
    if (this.wsPort) await waitForPort(this.wsPort, child, log);
    if (this.tlsPort) await waitForPort(this.tlsPort, child, log);
    return this;
  }

  /** SIGTERM and wait for exit (mosquitto saves its persistence file on the way out). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get caPem(): string {
    return readFileSync(this.ca, 'utf8');
  }

  private writeConfig(): void {
    const lines = [
      `persistence true`,
      `persistence_location ${this.dir}/`,
      `log_dest stderr`,
      `log_type error`,
      `log_type warning`,
      `per_listener_settings false`,
      `user ${process.getuid?.() === 0 ? 'root' : 'mosquitto'}`,
      `allow_anonymous ${this.options.allowAnonymous === false ? 'false' : 'true'}`,
      `listener ${this.port} 127.0.0.1`,
    ];
    if (this.tlsPort) {
      const c = makeCertificates(this.dir);
      this.ca = c.ca;
      lines.push(`listener ${this.tlsPort} 127.0.0.1`, `cafile ${c.ca}`, `certfile ${c.cert}`, `keyfile ${c.key}`);
    }
    if (this.wsPort) lines.push(`listener ${this.wsPort} 127.0.0.1`, 'protocol websockets');
    const extra = this.options.extraConfig;
    lines.push(...(typeof extra === 'function' ? extra(this.dir) : (extra ?? [])));
    writeFileSync(join(this.dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  }
}
