// Password file, ACL and throttling with real peers: the Debian mosquitto_pub / mosquitto_sub
// against an embedded hato broker whose hooks come from createAccessControl, for MQTT 3.1.1
// and 5.0. Users come from files made by the real mosquitto_passwd and by `hato passwd`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, type Client, ScramSha256, verifyPassword as verifyScram } from '@hato/broker';
import { auth, connect, connectAndHandshake, getProp, type PacketOf, Prop, RawClient } from '@hato/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type SubProcess } from '../../../interop/mosquitto-cli.js';
import { run as passwd } from '../src/commands/passwd.js';
import { type AccessControl, createAccessControl } from '../src/security/access-control.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-security-broker-'));
const passwordFile = join(dir, 'passwords');
const aclFile = join(dir, 'acl');
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const quietIo = { readPassword: async () => undefined, out() {}, err() {} };

/** Runs a mosquitto client to its end: exit code and everything it printed (-d shows the packets). */
function mosquitto(command: 'mosquitto_pub' | 'mosquitto_sub', args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, ['-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

beforeAll(async () => {
  execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, 'alice', 'alice-pw']); // $7$ (PBKDF2-SHA512)
  execFileSync('mosquitto_passwd', ['-H', 'sha512', '-b', passwordFile, 'bob', 'bob-pw']); // $6$ (SHA-512)
  expect(await passwd(['-b', passwordFile, 'carol', 'carol-pw'], quietIo)).toBe(0); // hato: scrypt + SCRAM
  writeFileSync(
    aclFile,
    `# anonymous clients
topic read public/#

user alice
topic readwrite room/#
topic read $SYS/#

user bob
topic read room/#
topic write inbox/bob

user carol
topic readwrite #
pattern readwrite devices/%c/#
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(options: { allowAnonymous?: boolean; throttle?: { baseDelayMs: number; maxDelayMs: number } } = {}) {
  const access = await createAccessControl({ passwordFile, aclFile, allowAnonymous: options.allowAnonymous ?? false, logger: silent, throttle: options.throttle });
  const broker = new Broker({ hooks: access.compose() });
  await broker.whenReady();
  const listener = await broker.listen({ port: 0, host: '127.0.0.1' });
  return { access, broker, port: listener.port };
}

describe('password file with mosquitto_pub (CONNACK as Mosquitto sends it)', () => {
  let broker: Broker;
  let port = 0;
  beforeAll(async () => ({ broker, port } = await start({ throttle: { baseDelayMs: 1, maxDelayMs: 1 } })));
  afterAll(() => broker.close());
  const pub = (version: string, user: string[]) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-t', 'room/a', '-m', 'x', ...user]);

  it.each([
    ['mqttv311', 'alice', 'alice-pw', 'mosquitto_passwd $7$'],
    ['mqttv5', 'alice', 'alice-pw', 'mosquitto_passwd $7$'],
    ['mqttv311', 'bob', 'bob-pw', 'mosquitto_passwd -H sha512 $6$'],
    ['mqttv5', 'carol', 'carol-pw', 'hato passwd'],
  ])('%s: %s from a %s line is accepted', async (version, user, password) => {
    const result = await pub(version, ['-u', user, '-P', password]);
    expect(result.out).toMatch(/received CONNACK \(0\)/);
    expect(result.code).toBe(0);
  });

  it.each([
    ['mqttv311', 4],
    ['mqttv5', 0x86],
  ])('%s: a wrong password or an unknown user is refused with %i', async (version, code) => {
    for (const user of [['-u', 'alice', '-P', 'wrong'], ['-u', 'carol', '-P', 'alice-pw'], ['-u', 'nobody', '-P', 'x']]) {
      const result = await pub(version, user);
      expect(result.out).toContain(`received CONNACK (${code})`);
      expect(result.code).not.toBe(0);
    }
  });

  it.each([
    ['mqttv311', 5],
    ['mqttv5', 0x87],
  ])('%s: an anonymous client is refused with %i', async (version, code) => {
    const result = await pub(version, []);
    expect(result.out).toContain(`received CONNACK (${code})`);
    expect(result.code).not.toBe(0);
  });
});

describe('ACL with mosquitto_sub / mosquitto_pub', () => {
  let broker: Broker;
  let access: AccessControl;
  let port = 0;
  const subs: SubProcess[] = [];
  beforeAll(async () => ({ broker, port, access } = await start({ allowAnonymous: true })));
  afterAll(() => broker.close());
  afterEach(() => {
    for (const sub of subs.splice(0)) sub.child.kill('SIGKILL');
    RawClient.destroyAll();
  });
  const base = (version: string, user?: string) => ['-h', '127.0.0.1', '-p', String(port), '-V', version, ...(user === undefined ? [] : ['-u', user, '-P', `${user}-pw`])];
  const subscribe = async (args: string[]) => {
    const sub = mosquittoSub(args);
    subs.push(sub);
    await sub.subscribed;
    return sub;
  };

  it.each([
    ['mqttv311', 128],
    ['mqttv5', 0x87],
  ])('%s: SUBSCRIBE to a filter no read rule covers → SUBACK %i; a covered one is granted', async (version, code) => {
    const denied = await mosquitto('mosquitto_sub', [...base(version, 'bob'), '-t', 'secret/#', '-E']);
    expect(denied.out).toMatch(new RegExp(`Subscribed \\(mid: \\d+\\): ${code}`));
    // bob reads room/# : room/+ is covered, # is not.
    const mixed = await mosquitto('mosquitto_sub', [...base(version, 'bob'), '-t', 'room/+', '-t', '#', '-q', '1', '-E']);
    expect(mixed.out).toMatch(new RegExp(`Subscribed \\(mid: \\d+\\): 1, ${code}`));
    const anonymous = await mosquitto('mosquitto_sub', [...base(version), '-t', 'public/news', '-t', 'room/a', '-E']);
    expect(anonymous.out).toMatch(new RegExp(`Subscribed \\(mid: \\d+\\): 0, ${code}`));
  });

  it('mqttv5: PUBLISH to a topic without a write rule → PUBACK 0x87, not delivered', async () => {
    const sub = await subscribe([...base('mqttv5', 'alice'), '-t', 'room/#', '-v']);
    const denied = await mosquitto('mosquitto_pub', [...base('mqttv5', 'bob'), '-t', 'room/a', '-m', 'from bob', '-q', '1']);
    expect(denied.out).toMatch(/received PUBACK \(Mid: \d+, RC:135\)/);
    const allowed = await mosquitto('mosquitto_pub', [...base('mqttv5', 'alice'), '-t', 'room/a', '-m', 'from alice', '-q', '1']);
    expect(allowed.out).toMatch(/received PUBACK \(Mid: \d+, RC:0\)/);
    expect(await sub.waitForLines(1)).toEqual(['room/a from alice']);
  });

  it('mqttv311: PUBLISH without a write rule is acknowledged and dropped [MQTT-3.3.5-2]', async () => {
    const sub = await subscribe([...base('mqttv311', 'alice'), '-t', 'room/#', '-v']);
    const denied = await mosquitto('mosquitto_pub', [...base('mqttv311', 'bob'), '-t', 'room/a', '-m', 'from bob', '-q', '1']);
    expect(denied.out).toMatch(/received PUBACK \(Mid: \d+, RC:0\)/); // 3.1.1 has no reason code: 0 is all it can say
    expect(denied.code).toBe(0);
    await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/a', '-m', 'from alice', '-q', '1']);
    expect(await sub.waitForLines(1)).toEqual(['room/a from alice']);
  });

  it('mqttv5: a PUBLISH by topic alias is checked against the topic the alias stands for', async () => {
    const alice = await connectAndHandshake(port, { version: 5, username: 'alice', password: 'alice-pw' });
    try {
      const first = await alice.publishAcked({ topic: 'room/alias', qos: 1, payload: 'a', properties: [[Prop.TopicAlias, 1]] });
      const again = await alice.publishAcked({ topic: '', qos: 1, payload: 'b', properties: [[Prop.TopicAlias, 1]] });
      const other = await alice.publishAcked({ topic: 'inbox/bob', qos: 1, payload: 'c', properties: [[Prop.TopicAlias, 2]] });
      const otherAgain = await alice.publishAcked({ topic: '', qos: 1, payload: 'd', properties: [[Prop.TopicAlias, 2]] });
      // 0x10 No matching subscribers: allowed; 0x87: refused (alice may not write inbox/bob).
      expect([first, again, other, otherAgain].map((ack) => ack?.reasonCode)).toEqual([0x10, 0x10, 0x87, 0x87]);
    } finally {
      alice.close();
    }
  });

  it('pattern rules substitute %c: carol may only use devices/<her client id>/#, clients never write $SYS', async () => {
    const sub = await subscribe([...base('mqttv5', 'carol'), '-t', 'devices/#', '-v']);
    await mosquitto('mosquitto_pub', [...base('mqttv5', 'carol'), '-i', 'dev7', '-t', 'devices/dev7/t', '-m', 'own', '-q', '1']);
    const sys = await mosquitto('mosquitto_pub', [...base('mqttv5', 'carol'), '-t', '$SYS/broker/fake', '-m', 'x', '-q', '1']);
    expect(sys.out).toMatch(/RC:135/);
    expect(await sub.waitForLines(1)).toEqual(['devices/dev7/t own']);
  });

  it('a will its client may not publish is dropped, the CONNECT accepted (as Mosquitto)', async () => {
    const reader = await subscribe([...base('mqttv311', 'alice'), '-t', 'room/#', '-v']);
    // bob may not write room/#; carol may write anything.
    const bob = await subscribe([...base('mqttv311', 'bob'), '-t', 'room/x', '--will-topic', 'room/will', '--will-payload', 'bob died']);
    const carol = await subscribe([...base('mqttv5', 'carol'), '-t', 'room/x', '--will-topic', 'room/will', '--will-payload', 'carol died']);
    const connected = broker.metrics.clientsConnected;
    bob.child.kill('SIGKILL');
    await expect.poll(() => broker.metrics.clientsConnected).toBe(connected - 1);
    carol.child.kill('SIGKILL');
    expect(await reader.waitForLines(1)).toEqual(['room/will carol died']);
  });

  it('an ACL reload applies to subscriptions that already exist (checked again at delivery)', async () => {
    const sub = await subscribe([...base('mqttv311', 'bob'), '-t', 'room/#', '-v']);
    await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/a', '-m', 'before', '-q', '1']);
    expect(await sub.waitForLines(1)).toEqual(['room/a before']);
    const original = readFileSync(aclFile, 'utf8');
    try {
      writeFileSync(aclFile, original.replace('user bob\ntopic read room/#', 'user bob\ntopic read room/#\ntopic deny room/a'));
      await access.reload();
      await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/a', '-m', 'after', '-q', '1']);
      await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/b', '-m', 'other', '-q', '1']);
      // room/b is sent after room/a: once it is here, room/a was dropped for bob.
      expect(await sub.waitForLines(2)).toEqual(['room/a before', 'room/b other']);
    } finally {
      writeFileSync(aclFile, original);
      await access.reload();
    }
  });

  it('messages queued for an offline persistent session are checked against the rules in force when it returns', async () => {
    const resume = [...base('mqttv311', 'bob'), '-i', 'bob-persistent', '-c', '-q', '1', '-t', 'room/#', '-v'];
    const first = await subscribe(resume);
    first.child.kill('SIGKILL');
    await expect.poll(() => broker.sessions.get('bob-persistent')?.connection).toBeUndefined();
    for (const topic of ['room/a', 'room/b']) await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', topic, '-m', 'queued', '-q', '1']);
    const original = readFileSync(aclFile, 'utf8');
    try {
      writeFileSync(aclFile, original.replace('user bob\ntopic read room/#', 'user bob\ntopic read room/#\ntopic deny room/a'));
      await access.reload();
      const back = await subscribe(resume);
      expect(await back.waitForLines(1)).toEqual(['room/b queued']);
      await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/c', '-m', 'live', '-q', '1']);
      expect(await back.waitForLines(2)).toEqual(['room/b queued', 'room/c live']); // room/a never came
    } finally {
      writeFileSync(aclFile, original);
      await access.reload();
    }
  });

  it('a reload that fails keeps the previous rules, logs and throws', async () => {
    const original = readFileSync(aclFile, 'utf8');
    const sub = await subscribe([...base('mqttv311', 'bob'), '-t', 'room/#', '-v']);
    try {
      writeFileSync(aclFile, `${original}\ntopic sometimes room/x\nbogus line\n`);
      await expect(access.reload()).rejects.toThrow(/acl:\d+: unknown keyword 'bogus'/);
      await mosquitto('mosquitto_pub', [...base('mqttv311', 'alice'), '-t', 'room/c', '-m', 'still', '-q', '1']);
      expect(await sub.waitForLines(1)).toEqual(['room/c still']);
    } finally {
      writeFileSync(aclFile, original);
    }
  });
});

describe('failed-login throttling per IP address', () => {
  let broker: Broker;
  let port = 0;
  beforeAll(async () => ({ broker, port } = await start({ throttle: { baseDelayMs: 300, maxDelayMs: 600 } })));
  afterAll(() => broker.close());
  const pub = (password: string) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'alice', '-P', password, '-t', 'room/a', '-m', 'x']);

  it('delays each refusal, doubling; the right password is refused while blocked, accepted after', async () => {
    let started = Date.now();
    expect((await pub('wrong')).out).toContain('received CONNACK (4)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Blocked for another 300 ms after that refusal: wait it out, then the second failure costs 600 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    started = Date.now();
    expect((await pub('wrong')).out).toContain('received CONNACK (4)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    // Still blocked for 600 ms: the right password, tried at once, waits for the block's end and
    // is refused without being checked; tried again then, it is accepted.
    expect((await pub('alice-pw')).out).toContain('received CONNACK (4)');
    expect((await pub('alice-pw')).out).toContain('received CONNACK (0)');
  });
});

const hmac = (key: Uint8Array, data: string) => createHmac('sha256', key).update(data).digest();

/** A SCRAM-SHA-256 CONNECT written from RFC 5802 §3 on the client side; resolves the CONNACK reason code. */
async function scramConnect(port: number, username: string, password: string): Promise<number> {
  const c = await RawClient.connect(port, { version: 5 });
  try {
    const nonce = randomBytes(18).toString('base64');
    const bare = `n=${username},r=${nonce}`;
    const props = (data: string) => [[Prop.AuthenticationMethod, 'SCRAM-SHA-256'], [Prop.AuthenticationData, Buffer.from(data)]] as const;
    c.send(connect({ version: 5, clientId: `scram-${username}`, properties: props(`n,,${bare}`) }));
    const first = await c.expectPacket();
    if (first.type === 'connack') return first.reasonCode; // refused before any challenge
    const challenge = first as PacketOf<'auth'>;
    const serverFirst = Buffer.from(getProp(challenge.properties, Prop.AuthenticationData) as Uint8Array).toString();
    const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${attrs.r}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), `${bare},${serverFirst},${withoutProof}`);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    c.send(auth({ reasonCode: 0x18, properties: props(`${withoutProof},p=${proof.toString('base64')}`) }));
    return (await c.expectPacket('connack')).reasonCode;
  } finally {
    c.destroy();
  }
}

describe('SCRAM-SHA-256 from the same password file', () => {
  it('a hato passwd user logs in with SCRAM; a wrong password and a Mosquitto-hashed user do not', async () => {
    const access = await createAccessControl({ passwordFile, allowAnonymous: false, logger: silent, throttle: { baseDelayMs: 1, maxDelayMs: 1 } });
    const broker = new Broker({ hooks: access.compose(), authMethods: [new ScramSha256(access.credentialStore)] });
    try {
      const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
      expect(await scramConnect(port, 'carol', 'carol-pw')).toBe(0);
      expect(await scramConnect(port, 'carol', 'wrong')).toBeGreaterThanOrEqual(0x80);
      expect(await scramConnect(port, 'alice', 'alice-pw')).toBeGreaterThanOrEqual(0x80);
    } finally {
      await broker.close();
    }
  });

  it('access.authMethods throttles failed SCRAM exchanges per address, as failed passwords', async () => {
    const access = await createAccessControl({ passwordFile, allowAnonymous: false, logger: silent, throttle: { baseDelayMs: 300, maxDelayMs: 300 } });
    const broker = new Broker({ hooks: access.compose(), authMethods: access.authMethods });
    try {
      const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
      const started = Date.now();
      expect(await scramConnect(port, 'carol', 'wrong')).toBe(0x86);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      // Blocked for 300 ms more: the right password at once is refused without running SCRAM...
      expect(await scramConnect(port, 'carol', 'carol-pw')).toBe(0x86);
      // ...and accepted once the block is over; the password path shares the same throttle.
      expect(await scramConnect(port, 'carol', 'carol-pw')).toBe(0);
    } finally {
      await broker.close();
    }
  });
});

describe('AccessControl API', () => {
  it('the credential store gives SCRAM-SHA-256 keys for hato passwd users only', async () => {
    const access = await createAccessControl({ passwordFile, allowAnonymous: false, logger: silent });
    const carol = await access.credentialStore.get('carol');
    expect(carol).toBeDefined();
    expect(await verifyScram(carol!.scramSha256, new TextEncoder().encode('carol-pw'))).toBe(true);
    expect(await access.credentialStore.get('alice')).toBeUndefined(); // a Mosquitto hash cannot give SCRAM keys
  });

  it('compose: the files decide first, then the embedder hook must allow too', async () => {
    const access = await createAccessControl({ aclFile, allowAnonymous: true, logger: silent });
    const asked: string[] = [];
    const hooks = access.compose({
      authorizeSubscribe: (_client, subscription) => {
        asked.push(subscription.topicFilter);
        return subscription.topicFilter === 'public/b' ? false : 0;
      },
    });
    const client = { id: 'c', username: undefined, protocolVersion: 4, remoteAddress: '127.0.0.1' } as unknown as Client; // what the hooks read
    const sub = (topicFilter: string) => hooks.authorizeSubscribe!(client, { topicFilter, qos: 1 } as never);
    expect(sub('secret')).toBe(false);
    expect(sub('public/a')).toBe(0);
    expect(sub('$share/group/public/a')).toBe(0); // the rule is about the topics, not the group
    expect(sub('$share/public/secret')).toBe(false);
    expect(sub('public/b')).toBe(false);
    expect(asked).toEqual(['public/a', '$share/group/public/a', 'public/b']);
    expect(hooks.authorizeDelivery!(client, 'public/x')).toBe(true);
    expect(hooks.authorizeDelivery!(client, 'room/x')).toBe(false);
  });

  it('reload picks up users added by hato passwd; a broken password file keeps the previous users', async () => {
    const file = join(dir, 'reload-passwords');
    expect(await passwd(['-c', '-b', file, 'gina', 'g1'], quietIo)).toBe(0);
    const access = await createAccessControl({ passwordFile: file, allowAnonymous: false, logger: silent, throttle: { baseDelayMs: 1, maxDelayMs: 1 } });
    const client = { id: 'c', username: undefined, protocolVersion: 4, remoteAddress: '127.0.0.9' } as unknown as Client;
    const login = (user: string, password: string) => access.hooks.authenticate(client, user, new TextEncoder().encode(password));
    expect(await login('gina', 'g1')).toBe(true);
    expect(await login('hank', 'h1')).toBe(0x86);
    expect(await passwd(['-b', file, 'hank', 'h1'], quietIo)).toBe(0);
    await access.reload();
    expect(await login('hank', 'h1')).toBe(true);
    writeFileSync(file, `${readFileSync(file, 'utf8')}ivan:not-a-hash\n`);
    await expect(access.reload()).rejects.toThrow(/reload-passwords:3: user 'ivan'/);
    expect(await login('hank', 'h1')).toBe(true);
    expect(access.users?.has('ivan')).toBe(false);
  });

  it('warns when the password file can be read by other users', async () => {
    const warnings: string[] = [];
    const logger = { ...silent, warn: (_obj: object | string, msg?: string) => warnings.push(msg ?? '') };
    const open = join(dir, 'open-passwords');
    writeFileSync(open, readFileSync(passwordFile), { mode: 0o644 });
    await createAccessControl({ passwordFile: open, allowAnonymous: false, logger });
    expect(warnings).toEqual(['the password file can be read by other users: chmod 600 it']);
    warnings.length = 0;
    chmodSync(open, 0o600);
    await createAccessControl({ passwordFile: open, allowAnonymous: false, logger });
    expect(warnings).toEqual([]);
  });

  it('a missing or bad file is an error at start', async () => {
    await expect(createAccessControl({ passwordFile: join(dir, 'missing'), allowAnonymous: false, logger: silent })).rejects.toThrow(/ENOENT/);
    writeFileSync(join(dir, 'bad-acl'), 'topic read a/#/b\n');
    await expect(createAccessControl({ aclFile: join(dir, 'bad-acl'), allowAnonymous: false, logger: silent })).rejects.toThrow(/bad-acl:1/);
  });
});
