import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The examples and the CLI run from the built packages (`npm run build`; the root
// `npm test` builds before running vitest).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(`${root}packages/hato/dist/index.js`) && existsSync(`${root}packages/broker/dist/index.js`);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return {
    child,
    output: () => out,
    waitFor: async (pattern, ms = 10_000) => {
      const startTime = Date.now();
      for (;;) {
        const match = out.match(pattern);
        if (match !== null) return match;
        if (Date.now() - startTime > ms) throw new Error(`timed out waiting for ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe.skipIf(!built)('examples and CLI (built packages)', () => {
  it('examples: the subscriber prints the publisher\'s こんにちわ via the embedded broker', async () => {
    const broker = start(['examples/broker.js'], { PORT: '0', HOST: '127.0.0.1' });
    const port = (await broker.waitFor(/listening on port (\d+)/))[1]!;
    const subscriber = start(['examples/subscriber.js'], { PORT: port });
    await subscriber.waitFor(/subscriber listening/);
    start(['examples/publisher.js'], { PORT: port });
    await subscriber.waitFor(/hello\/world: こんにちわ/);
    await subscriber.waitFor(/hello\/time: \d{4}-\d\d-\d\dT/);
    await broker.waitFor(/client connected: publisher/);
    await broker.waitFor(/published on hello\/world by publisher: こんにちわ/);
  });

  it('hato broker: logs the listening ports as JSON and exits 0 on SIGTERM', async () => {
    const cli = start(['packages/hato/dist/cli.js', 'broker', '--persistence', 'memory', '--port', '0', '--ws-port', '0', '--host', '127.0.0.1']);
    const line = (await cli.waitFor(/^.*hato broker listening.*$/m))[0];
    const log = JSON.parse(line) as { port: number; wsPort: number };
    expect(log.port).toBeGreaterThan(0);
    expect(log.wsPort).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => cli.child.once('exit', (code) => resolve(code)));
    cli.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('hato broker --no-ws listens on TCP only', async () => {
    const cli = start(['packages/hato/dist/cli.js', 'broker', '--persistence', 'memory', '--port', '0', '--no-ws', '--host', '127.0.0.1']);
    const line = (await cli.waitFor(/^.*hato broker listening.*$/m))[0];
    expect((JSON.parse(line) as { wsPort: number | null }).wsPort).toBeNull();
  });
});
