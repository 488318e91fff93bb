/**
 * `hato sub` / `hato pub` (the built CLI) against a broker that misbehaves: the five
 * cases of issue 12 that used to hang `hato sub -C 1 -W 2`, and signals in every
 * connection state. Each case runs mosquitto_sub / mosquitto_pub against the same
 * script when installed, and both must give the expected exit code and output.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasMosquittoClients, hato, type Result, run } from './client-support/cli-process.js';
import { CONNACK_311, connackThen, hex, type Script, ScriptBroker } from './client-support/script-broker.js';

const brokers: ScriptBroker[] = [];
async function broker(script: Script): Promise<ScriptBroker> {
  const b = await new ScriptBroker(script).listen();
  brokers.push(b);
  return b;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
});
afterAll(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

const PROTOCOL_ERROR = 'Error: A network protocol error occurred when communicating with the broker.\n';

/** Issue 12: the broker answers CONNECT with a 3.1.1 CONNACK, sends one packet and closes. */
const hangingCases: { name: string; packet: string; expected: Result }[] = [
  {
    name: 'a valid QoS 0 PUBLISH (a/b, empty payload) before the SUBACK',
    packet: '30 05 00 03 61 2f 62',
    expected: { code: 0, stdout: '', stderr: '' }, // mosquitto_sub prints nothing for an empty payload
  },
  {
    name: 'a QoS 1 PUBLISH cut short before its packet id',
    packet: '32 05 00 03 61 2f 62',
    expected: { code: 2, stdout: '', stderr: PROTOCOL_ERROR },
  },
  {
    name: 'a SUBACK before the SUBSCRIBE is sent',
    packet: '90 03 00 01 00',
    expected: { code: 27, stdout: '', stderr: 'Timed out\n' },
  },
  { name: 'a PUBACK for an unknown id', packet: '40 02 00 07', expected: { code: 27, stdout: '', stderr: 'Timed out\n' } },
  { name: 'a PUBREL for an unknown id', packet: '62 02 00 07', expected: { code: 27, stdout: '', stderr: 'Timed out\n' } },
];

describe('issue 12: hato sub -V 311 -t # -C 1 -W 2 exits as mosquitto_sub does', () => {
  for (const c of hangingCases) {
    it(c.name, async () => {
      const b = await broker(connackThen(hex(c.packet)));
      const args = ['-p', `${b.port}`, '-V', '311', '-t', '#', '-C', '1', '-W', '2'];
      const [ours, theirs] = await Promise.all([
        hato(['sub', ...args]).done,
        hasMosquittoClients ? run('mosquitto_sub', args).done : undefined,
      ]);
      expect(ours).toEqual(c.expected);
      if (theirs) expect(theirs).toEqual(c.expected);
    });
  }
});

/** Never answers: the client stays in 'connecting'. */
const silent: Script = () => {};
/** Accepts, then closes at once, every time: the client goes connected → offline → connecting. */
const flapping: Script = (socket) => {
  socket.write(CONNACK_311);
  socket.end();
};
/** Accepts, grants every SUBSCRIBE, then ignores everything and never closes (not even after DISCONNECT). */
const sticky: Script = (socket) => {
  socket.write(CONNACK_311);
  socket.on('data', (d: Buffer) => {
    if (d[0] === 0x82) socket.write(Buffer.from([0x90, 0x03, d[2]!, d[3]!, 0x00]));
  });
};

async function signalled(
  command: string,
  args: (port: number) => string[],
  script: Script,
  signal: NodeJS.Signals,
): Promise<Result> {
  const b = await broker(script);
  const p = command === 'hato' ? hato(args(b.port)) : run(command, args(b.port));
  await b.connection(1);
  // Give the client time to read what the script sent (and mosquitto_sub, which installs
  // its handlers after connecting, time to install them).
  await new Promise((r) => setTimeout(r, 300));
  p.child.kill(signal);
  return p.done;
}

it('a PUBLISH in the same read as the CONNACK is printed (not lost before the listener is attached)', async () => {
  const script = connackThen(hex('30 06 00 03 61 2f 62 78')); // a/b "x"
  const [ours, theirs] = await Promise.all([broker(script), broker(script)]);
  const args = (b: ScriptBroker) => ['-p', `${b.port}`, '-V', '311', '-t', '#', '-C', '1', '-W', '2'];
  const [hatoResult, mosquittoResult] = await Promise.all([
    hato(['sub', ...args(ours)]).done,
    hasMosquittoClients ? run('mosquitto_sub', args(theirs)).done : undefined,
  ]);
  expect(hatoResult).toEqual({ code: 0, stdout: 'x\n', stderr: '' });
  expect(ours.connections).toBe(1); // the first message counted: no reconnect to get another
  if (mosquittoResult) expect(mosquittoResult).toEqual(hatoResult);
});

it('hato sub -v prints `topic (null)` for an empty payload, as mosquitto_sub', async () => {
  const b = await broker(connackThen(hex('30 05 00 03 61 2f 62')));
  const args = ['-p', `${b.port}`, '-V', '311', '-t', '#', '-C', '1', '-v'];
  const [ours, theirs] = await Promise.all([
    hato(['sub', ...args]).done,
    hasMosquittoClients ? run('mosquitto_sub', args).done : undefined,
  ]);
  expect(ours).toEqual({ code: 0, stdout: 'a/b (null)\n', stderr: '' });
  if (theirs) expect(theirs).toEqual(ours);
});

describe('hato pub -q 1 against a broker that misbehaves after CONNACK exits as mosquitto_pub does', () => {
  const cases: { name: string; packet: string; expected: Result }[] = [
    { name: 'the connection closes', packet: '', expected: { code: 7, stdout: '', stderr: 'Error: The connection was lost.\n' } },
    { name: 'a PUBACK for an unknown id, then close', packet: '40 02 00 ff', expected: { code: 7, stdout: '', stderr: 'Error: The connection was lost.\n' } },
    { name: 'a QoS 1 PUBLISH cut short', packet: '32 05 00 03 61 2f 62', expected: { code: 2, stdout: '', stderr: PROTOCOL_ERROR } },
    { name: 'a DISCONNECT from a 3.1.1 server', packet: 'e0 00', expected: { code: 2, stdout: '', stderr: PROTOCOL_ERROR } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const b = await broker(connackThen(hex(c.packet)));
      const args = ['-p', `${b.port}`, '-V', '311', '-t', 'a', '-m', 'x', '-q', '1'];
      const [ours, theirs] = await Promise.all([
        hato(['pub', ...args]).done,
        hasMosquittoClients ? run('mosquitto_pub', args).done : undefined,
      ]);
      expect(ours).toEqual(c.expected);
      if (theirs) expect(theirs).toEqual(c.expected);
    });
  }
});

describe('a broker that does not speak MQTT 5.0', () => {
  it('hato pub -V 5 against Aedes (3.1.1 only): says the broker refused 5.0, suggests -V 311, exits 132 as mosquitto_pub', async () => {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const args = ['-p', `${port}`, '-V', '5', '-t', 'a', '-m', 'x'];
      const [ours, theirs] = await Promise.all([
        hato(['pub', ...args]).done,
        hasMosquittoClients ? run('mosquitto_pub', args).done : undefined,
      ]);
      expect(ours).toEqual({
        code: 132,
        stdout: '',
        stderr: 'Connection error: the broker refused protocol MQTT 5.0 (Unsupported Protocol Version). Try -V 311.\n',
      });
      if (theirs) expect(theirs.code).toBe(132);
      const v311 = await hato(['pub', ...args.with(3, '311')]).done;
      expect(v311).toEqual({ code: 0, stdout: '', stderr: '' });
    } finally {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('signals end the CLI in every connection state', () => {
  const subArgs = (args: string[]) => (port: number) => ['-p', `${port}`, '-V', '311', '-t', 'a/#', ...args];
  const cases: { name: string; script: Script; signal: NodeJS.Signals; code: number }[] = [
    { name: 'SIGINT while waiting for CONNACK → 255, silent', script: silent, signal: 'SIGINT', code: 255 },
    { name: 'SIGTERM while waiting for CONNACK → 255, silent', script: silent, signal: 'SIGTERM', code: 255 },
    { name: 'SIGTERM while the broker keeps dropping the connection → 0', script: flapping, signal: 'SIGTERM', code: 0 },
    { name: 'SIGINT while subscribed → 0', script: sticky, signal: 'SIGINT', code: 0 },
  ];
  for (const c of cases) {
    it(`hato sub: ${c.name}`, async () => {
      const [ours, theirs] = await Promise.all([
        signalled('hato', (port) => ['sub', ...subArgs([])(port)], c.script, c.signal),
        hasMosquittoClients ? signalled('mosquitto_sub', subArgs([]), c.script, c.signal) : undefined,
      ]);
      expect(ours).toEqual({ code: c.code, stdout: '', stderr: '' });
      if (theirs) expect(theirs).toEqual({ code: c.code, stdout: '', stderr: '' });
    });
  }

  it('hato sub: -W before any CONNACK → 255, silent (as mosquitto_sub)', async () => {
    const b = await broker(silent);
    const args = ['-p', `${b.port}`, '-t', '#', '-W', '1'];
    const [ours, theirs] = await Promise.all([
      hato(['sub', ...args]).done,
      hasMosquittoClients ? run('mosquitto_sub', args).done : undefined,
    ]);
    expect(ours).toEqual({ code: 255, stdout: '', stderr: '' });
    if (theirs) expect(theirs).toEqual(ours);
  });

  it('hato sub: -E waits for the SUBACK, and -W still ends it when none comes (27, one message)', async () => {
    const b = await broker((socket) => socket.write(CONNACK_311));
    const result = await hato(['sub', '-p', `${b.port}`, '-V', '311', '-t', '#', '-E', '-W', '1']).done;
    expect(result).toEqual({ code: 27, stdout: '', stderr: 'Timed out\n' });
  });

  it('hato sub: a second SIGINT exits at once, without waiting for the broker to close', async () => {
    const b = await broker(sticky);
    const p = hato(['sub', '-p', `${b.port}`, '-V', '311', '-t', 'a/#', '-d']);
    await new Promise<void>((resolve) => {
      let out = '';
      p.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('received SUBACK')) resolve();
      });
    });
    p.child.kill('SIGINT'); // sends DISCONNECT, then waits (up to 2 s) for the broker to close
    await new Promise<void>((resolve) => {
      const check = () => (b.received[0]!.includes(hex('e0 00')) ? resolve() : setTimeout(check, 10));
      check();
    });
    const second = Date.now();
    p.child.kill('SIGINT');
    const result = await p.done;
    expect(result.code).toBe(0);
    expect(Date.now() - second).toBeLessThan(1500); // the end() wait for the broker's close is 2000 ms
  });

  it('hato pub: SIGTERM while waiting for a PUBACK that never comes → 143 (as mosquitto_pub)', async () => {
    const args = (port: number) => ['-p', `${port}`, '-V', '311', '-t', 'a', '-m', 'x', '-q', '1'];
    const [ours, theirs] = await Promise.all([
      signalled('hato', (port) => ['pub', ...args(port)], sticky, 'SIGTERM'),
      hasMosquittoClients ? signalled('mosquitto_pub', args, sticky, 'SIGTERM') : undefined,
    ]);
    expect(ours).toEqual({ code: 143, stdout: '', stderr: '' });
    if (theirs) expect(theirs.code ?? 143).toBe(143); // killed by the signal: no code of its own
  });

  it('hato pub: SIGINT while waiting for CONNACK → 130, silent', async () => {
    const result = await signalled('hato', (port) => ['pub', '-p', `${port}`, '-t', 'a', '-m', 'x'], silent, 'SIGINT');
    expect(result).toEqual({ code: 130, stdout: '', stderr: '' });
  });
});
