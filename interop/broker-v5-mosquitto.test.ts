// Interop: the real mosquitto_pub / mosquitto_sub -V mqttv5 (Debian mosquitto-clients) against
// hato's broker, with 5.0 properties set by -D and printed by -F: forwarded properties,
// shared subscriptions (also for a 3.1.1 member), message expiry of queued messages,
// subscription identifiers, topic aliases from the client, Payload Format Indicator 0x99,
// will delay against session expiry, and an unsupported authentication method (0x8C).
//
// libmosquitto 2.0.11 does not resolve topic aliases it receives even when -D connect
// topic-alias-maximum announces some, so aliases toward mosquitto_sub are tested with
// MQTT.js (broker-v5-mqttjs.test.ts) and the raw client (conformance/12) instead.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrokerUnderTest, startBroker } from '@hato/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mosquittoPub, mosquittoSub, type SubProcess } from './mosquitto-cli.js';

/** Runs a mosquitto client to its end and returns its exit code and stderr (warnings included). */
function run(command: 'mosquitto_pub' | 'mosquitto_sub', args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mosquitto_pub/sub -V mqttv5 with -D properties against hato', () => {
  let broker: BrokerUnderTest;
  let dir: string;
  const subs: SubProcess[] = [];
  const base = (version = 'mqttv5') => ['-h', '127.0.0.1', '-p', String(broker.port), '-V', version];
  const sub = async (args: string[], version = 'mqttv5') => {
    const s = mosquittoSub([...base(version), ...args]);
    subs.push(s);
    await s.subscribed;
    return s;
  };
  const pub = (args: string[]) => mosquittoPub([...base(), ...args]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hato-v5-mosq-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    broker = await startBroker({ websocket: false });
  });
  afterEach(async () => {
    for (const s of subs.splice(0)) s.child.kill('SIGKILL');
    await broker.close();
  });

  it('PUBLISH properties set with -D publish reach mosquitto_sub unchanged (-F %P %C %R %D %F %E)', async () => {
    const s = await sub(['-t', 'v5/props', '-C', '1', '-F', '%t|%p|%P|%C|%R|%D|%F|%E']);
    await pub([
      '-t', 'v5/props', '-q', '1', '-m', 'hello',
      '-D', 'publish', 'user-property', 'region', 'eu',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'v5/replies',
      '-D', 'publish', 'correlation-data', 'req-42',
      '-D', 'publish', 'payload-format-indicator', '1',
      '-D', 'publish', 'message-expiry-interval', '600',
    ]);
    const [line] = await s.waitForLines(1);
    const [topic, payload, user, contentType, responseTopic, correlation, format, expiry] = line!.split('|');
    expect([topic, payload, user, contentType, responseTopic, correlation, format]).toEqual(['v5/props', 'hello', 'region:eu', 'text/plain', 'v5/replies', 'req-42', '1']);
    expect(Number(expiry)).toBeGreaterThan(595);
    expect(Number(expiry)).toBeLessThanOrEqual(600);
  });

  it('shared subscription $share/g/...: a 5.0 and a 3.1.1 member share the messages, each once', async () => {
    const a = await sub(['-t', '$share/g/v5/jobs', '-q', '1', '-F', '%p']);
    const b = await sub(['-t', '$share/g/v5/jobs', '-q', '1', '-F', '%p'], 'mqttv311');
    for (let i = 0; i < 4; i++) await pub(['-t', 'v5/jobs', '-q', '1', '-m', `job${i}`]);
    await a.waitForLines(2);
    await b.waitForLines(2);
    await sleep(300);
    expect(a.lines.length).toBe(2);
    expect(b.lines.length).toBe(2);
    expect([...a.lines, ...b.lines].sort()).toEqual(['job0', 'job1', 'job2', 'job3']);
  });

  it('message expiry: a queued message that expired is not delivered to the returning session; the other carries the time left', async () => {
    const session = ['-i', 'mosq-v5-expiry', '-c', '-x', '300', '-q', '1', '-t', 'v5/expiry'];
    const first = await run('mosquitto_sub', [...base(), ...session, '-E']);
    expect(first.code).toBe(0);
    await pub(['-t', 'v5/expiry', '-q', '1', '-m', 'short', '-D', 'publish', 'message-expiry-interval', '1']);
    await pub(['-t', 'v5/expiry', '-q', '1', '-m', 'long', '-D', 'publish', 'message-expiry-interval', '100']);
    await sleep(1600);
    const back = mosquittoSub([...base(), ...session, '-C', '1', '-F', '%p %E']);
    subs.push(back);
    const [line] = await back.waitForLines(1);
    const [payload, left] = line!.split(' ');
    expect(payload).toBe('long');
    expect(Number(left)).toBeGreaterThan(90);
    expect(Number(left)).toBeLessThan(100);
  });

  it('subscription identifier set with -D subscribe is sent back with matching messages (-F %S)', async () => {
    const s = await sub(['-t', 'v5/sid/#', '-C', '1', '-F', '%S %p', '-D', 'subscribe', 'subscription-identifier', '77']);
    await pub(['-t', 'v5/sid/x', '-m', 'tagged']);
    expect(await s.waitForLines(1)).toEqual(['77 tagged']);
  });

  it('a topic alias from mosquitto_pub (-D publish topic-alias) is resolved by hato', async () => {
    const s = await sub(['-t', 'v5/alias/#', '-C', '2', '-v']);
    await pub(['-t', 'v5/alias/long/topic/name', '-m', 'via-alias', '-D', 'publish', 'topic-alias', '3']);
    await pub(['-t', 'v5/alias/other', '-m', 'plain']);
    expect(await s.waitForLines(2)).toEqual(['v5/alias/long/topic/name via-alias', 'v5/alias/other plain']);
  });

  it('Payload Format Indicator 1 with a payload that is not UTF-8 is refused with 0x99 and not delivered', async () => {
    const s = await sub(['-t', 'v5/pfi', '-F', '%x']);
    const file = join(dir, 'invalid.bin');
    writeFileSync(file, Uint8Array.of(0x66, 0xff, 0xfe));
    const refused = await run('mosquitto_pub', [...base(), '-t', 'v5/pfi', '-q', '1', '-f', file, '-D', 'publish', 'payload-format-indicator', '1']);
    expect(refused.stderr).toMatch(/Payload format invalid/);
    await pub(['-t', 'v5/pfi', '-q', '1', '-f', file]); // without the indicator: just bytes
    expect(await s.waitForLines(1)).toEqual(['66fffe']);
  });

  it('will delay (-D will will-delay-interval): the will waits for the delay; with session expiry 0 it goes at once', async () => {
    const watcher = await sub(['-t', 'v5/will/#', '-v']);
    const delayed = await sub(['-t', 'v5/nothing', '-i', 'mosq-will-delay', '-x', '60', '--will-topic', 'v5/will/delayed', '--will-payload', 'late', '-D', 'will', 'will-delay-interval', '2']);
    const immediate = await sub(['-t', 'v5/nothing', '-i', 'mosq-will-now', '--will-topic', 'v5/will/now', '--will-payload', 'now', '-D', 'will', 'will-delay-interval', '30']);
    const killedAt = Date.now();
    delayed.child.kill('SIGKILL');
    immediate.child.kill('SIGKILL');
    expect(await watcher.waitForLines(1)).toEqual(['v5/will/now now']);
    await watcher.waitForLines(2, 5000);
    expect(watcher.lines[1]).toBe('v5/will/delayed late');
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1500);
  });

  it('an Authentication Method the broker does not offer is refused (CONNACK 0x8C)', async () => {
    const refused = await run('mosquitto_sub', [...base(), '-t', 'v5/x', '-C', '1', '-D', 'connect', 'authentication-method', 'UNKNOWN-MECH']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/authentication method/i);
  });
});
