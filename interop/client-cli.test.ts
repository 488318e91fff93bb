/**
 * `hato pub` / `hato sub` (the built CLI, packages/hato/dist/cli.js) against a real
 * Mosquitto: round trips, stdin lines, MQTT 5.0 properties, URL form, TLS, refusals
 * and exit codes as mosquitto_pub / mosquitto_sub give them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Broker } from '@hato/broker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from '../packages/client/src/node.js';
import { hasMosquitto, Mosquitto } from './client-support/mosquitto.js';

const CLI = join(import.meta.dirname, '../packages/hato/dist/cli.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hato(args: string[], stdin?: string): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  else child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

/** Starts `hato sub` and resolves once it is subscribed (seen through -d output). */
async function subscriber(args: string[]): Promise<{ done: Promise<Result> }> {
  const { child, done } = hato([...args, '-d']);
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('received SUBACK')) resolve();
    });
    child.on('close', () => reject(new Error(`hato sub exited early: ${seen}`)));
  });
  return { done };
}

const onlyMessages = (out: string) =>
  out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Client '))
    .join('\n');

describe.skipIf(!hasMosquitto)('hato pub / hato sub against mosquitto', () => {
  const m = new Mosquitto();
  const locked = new Mosquitto({ allowAnonymous: false, tls: false, websockets: false });
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    await Promise.all([m.start(), locked.start()]);
  });
  afterAll(async () => {
    await Promise.all([m.dispose(), locked.dispose()]);
  });

  it('pub → sub round trip with -C 1 -v (UTF-8 payload)', async () => {
    const sub = await subscriber(['sub', '-p', `${m.port}`, '-t', 'cli/rt/#', '-C', '1', '-v', '-q', '1']);
    const pub = await hato(['pub', '-p', `${m.port}`, '-t', 'cli/rt/a', '-m', 'こんにちは', '-q', '1']).done;
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    const out = await sub.done;
    expect(out.code).toBe(0);
    expect(onlyMessages(out.stdout)).toBe('cli/rt/a こんにちは');
  });

  it('-l publishes one message per stdin line, in order; -t is repeatable', async () => {
    const sub = await subscriber(['sub', '-p', `${m.port}`, '-t', 'cli/l1', '-t', 'cli/l2', '-C', '3', '-q', '2']);
    const pub = await hato(['pub', '-p', `${m.port}`, '-t', 'cli/l2', '-l', '-q', '2'], 'first\nsecond line\n三\n').done;
    expect(pub.code).toBe(0);
    const out = await sub.done;
    expect(onlyMessages(out.stdout)).toBe('first\nsecond line\n三');
  });

  it('-D publish user-property and -L url form', async () => {
    const watcher = await connectAsync(`mqtt://127.0.0.1:${m.port}`);
    const got = new Promise<unknown>((resolve) => watcher.on('message', (_t, _p, packet) => resolve(packet.properties)));
    await watcher.subscribe('cli/props');
    const pub = await hato([
      'pub', '-L', `mqtt://127.0.0.1:${m.port}/cli/props`, '-m', 'x',
      '-D', 'publish', 'user-property', 'k', 'v', '-D', 'publish', 'content-type', 'text/plain',
    ]).done;
    expect(pub.code).toBe(0);
    expect(await got).toMatchObject({ userProperties: [['k', 'v']], contentType: 'text/plain' });
    await watcher.end();
  });

  it('TLS with --cafile; -n sends an empty message', async () => {
    const cafile = join(m.dir, 'ca.crt');
    const sub = await subscriber(['sub', '-h', 'localhost', '-p', `${m.tlsPort}`, '--cafile', cafile, '-t', 'cli/tls', '-C', '1', '-v']);
    const pub = await hato(['pub', '-h', 'localhost', '-p', `${m.tlsPort}`, '--cafile', cafile, '-t', 'cli/tls', '-n']).done;
    expect(pub.code).toBe(0);
    // -v with an empty payload prints `topic (null)`, as mosquitto_sub 2.0 does (see client-cli-broken-broker.test.ts).
    expect(onlyMessages((await sub.done).stdout)).toBe('cli/tls (null)');
  });

  it('a refused connection prints the reason and exits with the reason code, like mosquitto', async () => {
    const v5 = await hato(['pub', '-p', `${locked.port}`, '-t', 'x', '-m', 'y']).done;
    expect(v5.stderr).toBe('Connection error: Connection refused: Not authorized (0x87)\n');
    expect(v5.code).toBe(0x87);
    const v311 = await hato(['sub', '-p', `${locked.port}`, '-t', 'x', '-V', 'mqttv311']).done;
    expect(v311.stderr).toBe('Connection error: Connection refused: not authorized (5)\n');
    expect(v311.code).toBe(5);
  });

  it('no broker listening: "Error: Connection refused", exit 1; -W timeout exits 27; bad usage exits 1', async () => {
    const closed = await hato(['sub', '-p', '1', '-t', 'x']).done;
    expect(closed).toMatchObject({ code: 1, stderr: 'Error: Connection refused\n' });
    const timeout = await hato(['sub', '-p', `${m.port}`, '-t', 'cli/none', '-W', '1']).done;
    expect(timeout).toMatchObject({ code: 27, stderr: 'Timed out\n' });
    const usage = await hato(['pub', '-p', `${m.port}`, '-t', 'x']).done;
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('Exactly one of -m, -f, -l, -n or -s');
  });

  it('-s sends the whole stdin as one message; -f a file; will options are accepted', async () => {
    const file = join(m.dir, 'payload.txt');
    writeFileSync(file, 'from a file');
    const sub = await subscriber(['sub', '-p', `${m.port}`, '-t', 'cli/s', '-C', '2']);
    const a = await hato(['pub', '-p', `${m.port}`, '-t', 'cli/s', '-s', '--will-topic', 'w', '--will-payload', 'p'], 'a\nb\n').done;
    expect(a.code).toBe(0);
    const b = await hato(['pub', '-p', `${m.port}`, '-t', 'cli/s', '-f', file]).done;
    expect(b.code).toBe(0);
    expect(onlyMessages((await sub.done).stdout)).toBe('a\nb\nfrom a file');
  });
});

describe('hato pub / hato sub against hato', () => {
  const broker = new Broker();
  let port = 0;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    port = (await broker.listen({ port: 0, host: '127.0.0.1' })).port;
  });
  afterAll(() => broker.close());

  it('pub -l → sub -C 2 -v round trip', async () => {
    const sub = await subscriber(['sub', '-h', '127.0.0.1', '-p', `${port}`, '-t', 'h/#', '-C', '2', '-v', '-q', '2']);
    const pub = await hato(['pub', '-h', '127.0.0.1', '-p', `${port}`, '-t', 'h/x', '-l', '-q', '1'], 'いち\nに\n').done;
    expect(pub.code).toBe(0);
    expect(onlyMessages((await sub.done).stdout)).toBe('h/x いち\nh/x に');
  });
});
