// Interop: the real mosquitto_pub / mosquitto_sub (Debian mosquitto-clients) against hato's
// broker, for MQTT 3.1.1 and 5.0. Covers QoS 0/1/2 round trips, retained messages, the will
// of a killed client, a persistent session catching up, and 1:1, 1:N, N:1, N:N fan patterns.
import { startBroker, type BrokerUnderTest } from '@hato/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mosquittoPub, mosquittoSub, type SubProcess } from './mosquitto-cli.js';

const versions = [['mqttv311'], ['mqttv5']] as const;

describe.each(versions)('mosquitto_pub/sub -V %s against hato', (version) => {
  let broker: BrokerUnderTest;
  const subs: SubProcess[] = [];
  const base = () => ['-h', '127.0.0.1', '-p', String(broker.port), '-V', version];
  const sub = async (args: string[]) => {
    const s = mosquittoSub([...base(), ...args]);
    subs.push(s);
    await s.subscribed;
    return s;
  };
  const pub = (args: string[], stdin?: string) => mosquittoPub([...base(), ...args], stdin);

  beforeEach(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    for (const s of subs.splice(0)) s.child.kill('SIGKILL');
    await broker.close();
  });

  for (const qos of [0, 1, 2]) {
    it(`QoS ${qos} round trip with UTF-8 payload, 1:1`, async () => {
      const s = await sub(['-t', 'interop/qos', '-q', String(qos), '-v', '-C', '1']);
      await pub(['-t', 'interop/qos', '-q', String(qos), '-m', `こんにちわ qos${qos}`]);
      expect(await s.waitForLines(1)).toEqual([`interop/qos こんにちわ qos${qos}`]);
      expect(await s.exited).toBe(0);
    });
  }

  it('retained message is delivered to a later subscriber with the retain flag, and deleted by an empty one', async () => {
    await pub(['-t', 'interop/retained', '-r', '-q', '1', '-m', 'kept']);
    const s = await sub(['-t', 'interop/#', '-v', '-C', '1', '--retained-only']);
    // --retained-only prints only messages with the retain flag set, so this proves the flag.
    expect(await s.waitForLines(1)).toEqual(['interop/retained kept']);
    await pub(['-t', 'interop/retained', '-r', '-n']);
    const after = mosquittoSub([...base(), '-t', 'interop/#', '-v', '--retained-only', '-W', '1']);
    subs.push(after);
    await after.exited;
    expect(after.lines).toEqual([]);
  });

  it('will of a killed client is published; a clean exit publishes none', async () => {
    const watcher = await sub(['-t', 'interop/will/#', '-v']);
    const doomed = await sub(['-t', 'interop/nothing', '-i', `doomed-${version}`, '--will-topic', 'interop/will/doomed', '--will-payload', 'gone', '--will-qos', '1']);
    doomed.child.kill('SIGKILL');
    expect(await watcher.waitForLines(1)).toEqual(['interop/will/doomed gone']);
    // mosquitto_sub exits cleanly with -C 1 (DISCONNECT): no will.
    const polite = await sub(['-t', 'interop/polite', '-C', '1', '--will-topic', 'interop/will/polite', '--will-payload', 'x']);
    await pub(['-t', 'interop/polite', '-m', 'bye']);
    expect(await polite.exited).toBe(0);
    await pub(['-t', 'interop/will/marker', '-m', 'end']);
    expect(await watcher.waitForLines(2)).toEqual(['interop/will/doomed gone', 'interop/will/marker end']);
  });

  it('persistent session catches up on messages published while offline, in order', async () => {
    const id = `persistent-${version}`;
    const session = version === 'mqttv5' ? ['-x', '300'] : [];
    const first = await sub(['-t', 'interop/session', '-q', '1', '-c', '-i', id, ...session]);
    first.child.kill('SIGINT'); // mosquitto_sub disconnects cleanly on SIGINT
    await first.exited;
    for (let i = 1; i <= 5; i++) await pub(['-t', 'interop/session', '-q', '1', '-m', `m${i}`]);
    const again = mosquittoSub([...base(), '-t', 'interop/session', '-q', '1', '-c', '-i', id, ...session, '-C', '5']);
    subs.push(again);
    expect(await again.waitForLines(5)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('1:N: one publisher reaches every subscriber', async () => {
    const many = await Promise.all([1, 2, 3, 4].map(() => sub(['-t', 'interop/fan', '-q', '1', '-C', '3'])));
    await pub(['-t', 'interop/fan', '-q', '1', '-l'], 'a\nb\nc\n');
    for (const s of many) expect(await s.waitForLines(3)).toEqual(['a', 'b', 'c']);
  });

  it('N:1 and N:N: every subscriber gets every publisher\'s messages', async () => {
    const subscribers = await Promise.all([1, 2, 3].map(() => sub(['-t', 'interop/nn/+', '-q', '1', '-v', '-C', '9'])));
    await Promise.all([1, 2, 3].map((p) => pub(['-t', `interop/nn/p${p}`, '-q', '1', '-l'], 'x\ny\nz\n')));
    for (const s of subscribers) {
      const lines = await s.waitForLines(9);
      expect([...lines].sort()).toEqual(
        [1, 2, 3].flatMap((p) => ['x', 'y', 'z'].map((m) => `interop/nn/p${p} ${m}`)).sort(),
      );
      // per publisher, order is kept [MQTT-4.6.0-6]
      for (const p of [1, 2, 3]) {
        expect(lines.filter((l) => l.startsWith(`interop/nn/p${p} `))).toEqual(['x', 'y', 'z'].map((m) => `interop/nn/p${p} ${m}`));
      }
    }
  });
});
