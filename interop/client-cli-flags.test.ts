/**
 * The mosquitto_sub / mosquitto_pub flags people script with, compared byte for byte
 * with the mosquitto clients against one real Mosquitto broker: `hato sub -U`,
 * `--retained-only`, `--remove-retained`; `hato pub --repeat N --repeat-delay S`.
 * Each tool gets its own topic prefix; outputs are compared with the prefix removed.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasMosquittoClients, hato, type Result, run } from './client-support/cli-process.js';
import { hasMosquitto, Mosquitto } from './client-support/mosquitto.js';

type Tool = 'hato' | 'mosquitto';
const TOOLS: Tool[] = ['hato', 'mosquitto'];
const sub = (tool: Tool, args: string[]) => (tool === 'hato' ? hato(['sub', ...args]) : run('mosquitto_sub', args));
const pub = (tool: Tool, args: string[]) => (tool === 'hato' ? hato(['pub', ...args]) : run('mosquitto_pub', args));
const strip = (r: Result, prefix: string): Result => ({ ...r, stdout: r.stdout.replaceAll(prefix, 'P') });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasMosquitto || !hasMosquittoClients)('hato sub / pub flags, byte for byte with mosquitto_sub / mosquitto_pub', () => {
  const m = new Mosquitto({ tls: false, websockets: false });
  const p = () => ['-p', `${m.port}`];
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    await m.start();
  });
  afterAll(async () => {
    await m.dispose();
  });

  async function retain(prefix: string): Promise<void> {
    await run('mosquitto_pub', [...p(), '-t', `${prefix}/1`, '-m', 'one', '-r']).done;
    await run('mosquitto_pub', [...p(), '-t', `${prefix}/2`, '-m', 'two', '-r']).done;
  }

  /** Runs the same scenario for both tools, each on its own prefix; returns [hato, mosquitto]. */
  async function both(scenario: (tool: Tool, prefix: string) => Promise<Result>): Promise<Result[]> {
    const stamp = `${process.pid}-${Date.now()}`;
    return Promise.all(TOOLS.map(async (tool) => strip(await scenario(tool, `flags/${tool}-${stamp}`), `flags/${tool}-${stamp}`)));
  }

  it('--retained-only prints the retained messages and exits 0 at the first live one', async () => {
    const [ours, theirs] = await both(async (tool, prefix) => {
      await retain(prefix);
      const s = sub(tool, [...p(), '-t', `${prefix}/#`, '--retained-only', '-v']);
      let done = false;
      void s.done.then(() => (done = true));
      while (!done) {
        await pub('hato', [...p(), '-t', `${prefix}/live`, '-m', 'live']).done;
        await sleep(100);
      }
      return s.done;
    });
    expect(ours).toEqual({ code: 0, stdout: 'P/1 one\nP/2 two\n', stderr: '' });
    expect(theirs).toEqual(ours);
  });

  it('--remove-retained with -T clears the retained messages it prints, not those -T leaves out', async () => {
    const [ours, theirs] = await both(async (tool, prefix) => {
      await retain(prefix);
      const first = await sub(tool, [...p(), '-t', `${prefix}/#`, '-T', `${prefix}/2`, '--remove-retained', '-v', '-W', '1']).done;
      const after = await sub('hato', [...p(), '-t', `${prefix}/#`, '-v', '-W', '1']).done;
      return { ...first, stdout: `${first.stdout}--- after:\n${after.stdout}` };
    });
    // Its own empty retained PUBLISH comes back as a live message: `P/1 (null)`.
    expect(ours).toEqual({ code: 27, stdout: 'P/1 one\nP/1 (null)\n--- after:\nP/2 two\n', stderr: 'Timed out\n' });
    expect(theirs).toEqual(ours);
  });

  it('-R keeps --remove-retained from clearing the retained messages it hides', async () => {
    const [ours, theirs] = await both(async (tool, prefix) => {
      await retain(prefix);
      const first = await sub(tool, [...p(), '-t', `${prefix}/#`, '-R', '--remove-retained', '-v', '-W', '1']).done;
      const after = await sub('hato', [...p(), '-t', `${prefix}/#`, '-v', '-W', '1']).done;
      return { ...first, stdout: `${first.stdout}--- after:\n${after.stdout}` };
    });
    expect(ours).toEqual({ code: 27, stdout: '--- after:\nP/1 one\nP/2 two\n', stderr: 'Timed out\n' });
    expect(theirs).toEqual(ours);
  });

  it('-U unsubscribes after subscribing: -t F -U F gets the retained messages, then nothing', async () => {
    const [ours, theirs] = await both(async (tool, prefix) => {
      await retain(prefix);
      const s = sub(tool, [...p(), '-t', `${prefix}/#`, '-U', `${prefix}/#`, '-v', '-W', '2']);
      await sleep(1000);
      await pub('hato', [...p(), '-t', `${prefix}/live`, '-m', 'live']).done;
      return s.done;
    });
    // The retained messages come with the SUBACK, before the UNSUBSCRIBE takes effect.
    expect(ours).toEqual({ code: 27, stdout: 'P/1 one\nP/2 two\n', stderr: 'Timed out\n' });
    expect(theirs).toEqual(ours);
  });

  it('pub --repeat 3 --repeat-delay 0.1 publishes the message three times', async () => {
    const [ours, theirs] = await both(async (tool, prefix) => {
      const s = sub('hato', [...p(), '-t', `${prefix}/#`, '-v', '-C', '3', '-W', '5', '-d']);
      await new Promise<void>((resolve) => {
        let seen = '';
        s.child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes('received SUBACK')) resolve();
        });
      });
      const sent = await pub(tool, [...p(), '-t', `${prefix}/r`, '-m', 'again', '--repeat', '3', '--repeat-delay', '0.1', '-q', '1']).done;
      const got = await s.done;
      const messages = got.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Client '));
      return { code: sent.code, stdout: messages.map((l) => `${l}\n`).join(''), stderr: sent.stderr + got.stderr };
    });
    expect(ours).toEqual({ code: 0, stdout: 'P/r again\nP/r again\nP/r again\n', stderr: '' });
    expect(theirs).toEqual(ours);
  });
});
