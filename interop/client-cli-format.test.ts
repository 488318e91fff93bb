/**
 * `hato sub -F` format strings and `hato pub -s / -f / -n`, byte for byte with
 * mosquitto_sub / mosquitto_pub 2.0 against one real Mosquitto broker. The messages a
 * subscriber formats are retained ones (published first, with a client of the repo), so
 * both tools receive the same messages in the same order without racing the subscribe.
 * Outputs are compared as bytes (binary payloads, NUL from `\0`); only clock readings
 * (`%I %U %j @...`) are compared by shape, digits masked.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from '../packages/client/src/node.js';
import { CLI, hasMosquittoClients } from './client-support/cli-process.js';
import { hasMosquitto, Mosquitto } from './client-support/mosquitto.js';

type Tool = 'hato' | 'mosquitto';
interface Out {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool (binary-safe stdout); killed after 15 s so a hang fails the test. */
function run(tool: Tool, command: 'sub' | 'pub', args: string[], stdin?: Uint8Array): Promise<Out> {
  const child =
    tool === 'hato'
      ? spawn(process.execPath, [CLI, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(`mosquitto_${command}`, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    }),
  );
}

const both = (command: 'sub' | 'pub', args: string[]) => Promise.all([run('hato', command, args), run('mosquitto', command, args)]);
/** Clock readings differ between two runs: compare their shape. */
const maskDigits = (b: Buffer) => b.toString('latin1').replace(/[0-9]/g, '9');

describe.skipIf(!hasMosquitto || !hasMosquittoClients)('hato sub -F and hato pub -s/-f/-n, byte for byte with mosquitto 2.0', () => {
  const m = new Mosquitto({ tls: false, websockets: false });
  const p = () => ['-p', `${m.port}`];
  let client: MqttClient;
  let dir: string;
  const prefix = `fmt/${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    await m.start();
    dir = mkdtempSync(join(tmpdir(), 'hato-format-'));
    client = await connectAsync(`mqtt://127.0.0.1:${m.port}`, { protocolVersion: 5 });
    const retain = (topic: string, payload: string | Uint8Array, options: Parameters<MqttClient['publish']>[2] = {}) =>
      client.publish(`${prefix}/${topic}`, payload, { retain: true, ...options });
    await retain('a', 'he"l\\lo wörld\ttab', { qos: 1 });
    await retain('c', Uint8Array.of(0x61, 0x01, 0xff, 0x00, 0x7a, 0x0a, 0x08, 0x0c, 0x0d));
    await retain('d', '{"x": [1, 2.5, "é"], "y": {"z": null}}', {
      qos: 1,
      properties: {
        userProperties: [
          ['k', 'v'],
          ['k', 'second'],
        ],
        contentType: 'text/json',
        responseTopic: 'r/t',
        correlationData: new TextEncoder().encode('cd'),
        messageExpiryInterval: 3600,
        payloadFormatIndicator: 1,
      },
    });
    await retain('quote"topic', 'x');
    // QoS 2 last: mosquitto_sub prints a QoS 2 message at its PUBREL, hato sub at its PUBLISH,
    // so one in the middle would come out in another order. (Not empty: that would clear it.)
    await retain('z', 'B', { qos: 2 });
  });
  afterAll(async () => {
    await client?.end({ force: true });
    await m.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const FIELDS =
    '%t|%5t|%-5t|%.2t|%3.1t|%%|%p|%5p|%-p|%-12p|%012p|%x|%X|%08x|%-8X|%l|%05l|%-4l|%m|%q|%r|%A|%5C|%C|%D|%05E|%F|%P|%R|%-3S|@@|\\t\\\\\\e\\a\\v\\r\\0|%j';

  for (const version of ['mqttv311', 'mqttv5']) {
    it(`-F with every message field, flags and escapes (${version}, QoS 2 subscription)`, async () => {
      const [ours, theirs] = await both('sub', [...p(), '-V', version, '-q', '2', '-t', `${prefix}/#`, '-C', '5', '-F', FIELDS]);
      const tst = (b: Buffer) => b.toString('latin1').replace(/"tst":"[^"]*"/g, '"tst":T');
      expect(theirs.code).toBe(0);
      expect(ours.code).toBe(theirs.code);
      expect(ours.stderr).toBe(theirs.stderr);
      // %05E (message expiry) counts down: it may differ by a second between the two runs, in
      // the field and in the JSON of %j alike (its digits are still compared by shape below).
      const expiry = (s: string) => s.replace(/\|\d{5}\|(\d?)\|k:v/g, '|EEEEE|$1|k:v').replace(/"message-expiry-interval":\d+/g, '"message-expiry-interval":E');
      expect(expiry(tst(ours.stdout))).toBe(expiry(tst(theirs.stdout)));
      expect(ours.stdout.length).toBe(theirs.stdout.length);
      expect(maskDigits(ours.stdout)).toBe(maskDigits(theirs.stdout)); // the tst fields too, by shape
    });
  }

  it('-F time sequences (%I %U @...) have mosquitto_sub\'s shape; -N drops the newline', async () => {
    const format = '%I|%U|@Y-@m-@dT@H:@M:@S.@N|@s|@a @A @b @B @C @d @e @F @H @I @j @k @l @M @p @R @S @T @u @w @y @z|@Q|%-30I|';
    const args = [...p(), '-t', `${prefix}/a`, '-C', '1', '-F', format];
    const [ours, theirs] = await both('sub', args);
    expect(ours.code).toBe(0);
    expect(maskDigits(ours.stdout)).toBe(maskDigits(theirs.stdout));
    expect(ours.stdout.toString().endsWith('|\n')).toBe(true);
    const [oursN, theirsN] = await both('sub', [...args, '-N']);
    expect(maskDigits(oursN.stdout)).toBe(maskDigits(theirsN.stdout));
    expect(oursN.stdout.toString().endsWith('|')).toBe(true);
  });

  it('-F %J: JSON payloads re-serialised, others reported on stderr as mosquitto_sub does', async () => {
    // 5.0 for both (mosquitto_sub defaults to 3.1.1, hato sub to 5.0): the properties are printed too.
    const [ours, theirs] = await both('sub', [...p(), '-V', 'mqttv5', '-t', `${prefix}/#`, '-C', '5', '-F', '%t %J']);
    const tst = (b: Buffer) => b.toString('latin1').replace(/"tst":"[^"]*"/g, '"tst":T');
    expect(ours.code).toBe(theirs.code);
    // The message expiry interval counts down: it may differ by a second between the two runs.
    const expiry = (s: string) => s.replace(/"message-expiry-interval":\d+/g, '"message-expiry-interval":N');
    expect(expiry(tst(ours.stdout))).toBe(expiry(tst(theirs.stdout)));
    expect(tst(ours.stdout)).toContain('"properties":{"user-properties":{"k":"v","k":"second"},"content-type":"text/json"');
    expect(ours.stderr).toBe(theirs.stderr);
    expect(ours.stderr).toContain(`Error: Message payload is not valid JSON on topic ${prefix}/a.`);
  });

  for (const format of ['%', 'a%', '%5', '%-', '%5.', '%.3', '@', 'x\\', '%Q', '%Z', '\\z', '%-0']) {
    it(`-F '${format}' is refused with mosquitto_sub's message`, async () => {
      const [ours, theirs] = await both('sub', [...p(), '-t', 'x', '-F', format]);
      expect(ours.code).toBe(1);
      expect(theirs.code).toBe(1);
      expect(ours.stderr.split('\n')[0]).toBe(theirs.stderr.split('\n')[0]);
    });
  }

  /** Publishes with each tool to its own topic; returns what a subscriber received from each. */
  async function published(args: (topic: string) => string[], stdin?: Uint8Array) {
    const got = new Map<string, { payload: Buffer; qos: number; retain: boolean }>();
    const topics = { hato: `${prefix}/pub/hato`, mosquitto: `${prefix}/pub/mosquitto` };
    await client.subscribe(`${prefix}/pub/#`, { qos: 2 });
    const onMessage = (topic: string, payload: Uint8Array, packet: { qos: number; retain: boolean }) =>
      got.set(topic, { payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain });
    client.on('message', onMessage);
    try {
      const codes = [];
      for (const tool of ['hato', 'mosquitto'] as const) codes.push((await run(tool, 'pub', [...p(), ...args(topics[tool])], stdin)).code);
      await client.unsubscribe(`${prefix}/pub/#`);
      // The UNSUBACK comes after every message routed to us before it: all are in.
      return { codes, hato: got.get(topics.hato), mosquitto: got.get(topics.mosquitto) };
    } finally {
      client.off('message', onMessage);
    }
  }

  it('pub -s sends the whole stdin (binary, newlines, NUL) as one message, as mosquitto_pub', async () => {
    const input = Uint8Array.of(0x6c, 0x31, 0x0a, 0x00, 0xff, 0x0a, 0x6c, 0x32);
    const r = await published((t) => ['-t', t, '-s', '-q', '1'], input);
    expect(r.codes).toEqual([0, 0]);
    expect(r.hato).toEqual({ payload: Buffer.from(input), qos: 1, retain: false });
    expect(r.mosquitto).toEqual(r.hato);
  });

  it('pub -f sends a file as one message; -n an empty one (with -r: clears the retained message)', async () => {
    const file = join(dir, 'payload.bin');
    writeFileSync(file, Uint8Array.of(0x00, 0x01, 0x02, 0xfe, 0x0a));
    const f = await published((t) => ['-t', t, '-f', file, '-q', '2']);
    expect(f.codes).toEqual([0, 0]);
    expect(f.hato?.payload).toEqual(Buffer.from([0x00, 0x01, 0x02, 0xfe, 0x0a]));
    expect(f.mosquitto).toEqual(f.hato);
    const n = await published((t) => ['-t', t, '-n']);
    expect(n.codes).toEqual([0, 0]);
    expect(n.hato).toEqual({ payload: Buffer.alloc(0), qos: 0, retain: false });
    expect(n.mosquitto).toEqual(n.hato);
  });

  it('pub with no message source, or two, is refused by both (exit 1)', async () => {
    const [none, noneTheirs] = await both('pub', [...p(), '-t', 'x']);
    expect(none.code).toBe(1);
    expect(noneTheirs.code).toBe(1);
    const [two, twoTheirs] = await both('pub', [...p(), '-t', 'x', '-n', '-m', 'a']);
    expect(two.code).toBe(1);
    expect(twoTheirs.code).toBe(1);
  });
});
