// Password and ACL files: files made by the real mosquitto_passwd are read and verified,
// `hato passwd` edits files as mosquitto_passwd does, ACL parsing and matching follow
// Mosquitto's acl_file rules, and the failed-login throttle's delays and memory bound.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run as passwd, type PasswdIo } from '../src/commands/passwd.js';
import { AclFileError, checkSubscription, checkTopic, compileFor, filterCovers, parseAcl, READ, topicMatches, WRITE } from '../src/security/acl.js';
import { PasswordFileError, parsePasswordFile, readPasswordFile, verifyPassword } from '../src/security/password-file.js';
import { LoginThrottle } from '../src/security/throttle.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (text: string) => new TextEncoder().encode(text);

function fakeIo(answers: string[] = []): PasswdIo & { errors: string } {
  const io = {
    errors: '',
    readPassword: async () => answers.shift(),
    out: () => {},
    err: (text: string) => {
      io.errors += text;
    },
  };
  return io;
}

describe('password files made by mosquitto_passwd', () => {
  it('reads $7$ (PBKDF2-SHA512, the default) and $6$ (SHA-512) lines and checks their passwords', async () => {
    const file = join(dir, 'mosquitto.pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'alice', 'wonder land']);
    execFileSync('mosquitto_passwd', ['-H', 'sha512', '-b', file, 'bob', 'b:ob$pw']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^alice:\$7\$101\$/m);
    expect(text).toMatch(/^bob:\$6\$/m);
    const users = await readPasswordFile(file);
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    expect(users.get('alice')!.hash.kind).toBe('pbkdf2-sha512');
    expect(users.get('bob')!.hash.kind).toBe('sha512');
    expect(await verifyPassword(users.get('alice')!.hash, bytes('wonder land'))).toBe(true);
    expect(await verifyPassword(users.get('alice')!.hash, bytes('wonderland'))).toBe(false);
    expect(await verifyPassword(users.get('bob')!.hash, bytes('b:ob$pw'))).toBe(true);
    expect(await verifyPassword(users.get('bob')!.hash, bytes('b:ob$pw '))).toBe(false);
  });

  it('a bad line is refused with the file name and line number', () => {
    expect(() => parsePasswordFile('# users\nalice:plaintext\n', 'pw')).toThrow(PasswordFileError);
    expect(() => parsePasswordFile('# users\nalice:plaintext\n', 'pw')).toThrow(/^pw:2: user 'alice': not a hashed password/);
    expect(() => parsePasswordFile('nocolon\n', 'pw')).toThrow(/pw:1: expected user:hash/);
    expect(() => parsePasswordFile('a:$7$x$AAAA$AAAA\n', 'pw')).toThrow(/pw:1: .*not a positive integer/);
    expect(() => parsePasswordFile('a:$9$AAAA$AAAA\n', 'pw')).toThrow(/unknown hash type/);
  });
});

describe('hato passwd', () => {
  it('-c -b creates a 0600 file with a scrypt hash and SCRAM keys; the password checks, others do not', async () => {
    const file = join(dir, 'hato.pw');
    expect(await passwd(['-c', '-b', file, 'carol', 's3cret'], fakeIo())).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const carol = parsePasswordFile(readFileSync(file, 'utf8')).get('carol')!;
    expect(carol.hash.kind).toBe('scrypt');
    expect(carol.hash.kind === 'scrypt' && carol.hash.scram?.iterations).toBe(100_000);
    expect(await verifyPassword(carol.hash, bytes('s3cret'))).toBe(true);
    expect(await verifyPassword(carol.hash, bytes('s3cres'))).toBe(false);
  });

  it('adds and updates users next to Mosquitto lines, which stay untouched; -D deletes', async () => {
    const file = join(dir, 'mixed.pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'mosq', 'm1']);
    const mosquittoLine = readFileSync(file, 'utf8').trim();
    expect(await passwd(['-b', file, 'dave', 'd1'], fakeIo())).toBe(0);
    expect(await passwd(['-b', file, 'dave', 'd2'], fakeIo())).toBe(0);
    let lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(mosquittoLine);
    const users = parsePasswordFile(readFileSync(file, 'utf8'));
    expect(await verifyPassword(users.get('dave')!.hash, bytes('d2'))).toBe(true);
    expect(await verifyPassword(users.get('dave')!.hash, bytes('d1'))).toBe(false);
    expect(await passwd(['-D', file, 'dave'], fakeIo())).toBe(0);
    lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toEqual([mosquittoLine]);
    const io = fakeIo();
    expect(await passwd(['-D', file, 'nobody'], io)).toBe(1);
    expect(io.errors).toMatch(/'nobody' is not in/);
  });

  it('without -b asks twice; a mismatch writes nothing', async () => {
    const file = join(dir, 'prompt.pw');
    expect(await passwd(['-c', file, 'erin'], fakeIo(['pw-1', 'pw-1']))).toBe(0);
    const before = readFileSync(file, 'utf8');
    expect(await verifyPassword(parsePasswordFile(before).get('erin')!.hash, bytes('pw-1'))).toBe(true);
    const io = fakeIo(['pw-2', 'pw-3']);
    expect(await passwd([file, 'erin'], io)).toBe(1);
    expect(io.errors).toMatch(/do not match/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses bad usage as mosquitto_passwd does', async () => {
    const file = join(dir, 'usage.pw');
    expect(await passwd(['-c', '-D', file, 'u'], fakeIo())).toBe(1);
    expect(await passwd(['-b', file, 'u'], fakeIo())).toBe(1);
    expect(await passwd(['-c', '-b', file, 'a:b', 'p'], fakeIo())).toBe(1);
    expect(await passwd(['-b', join(dir, 'missing.pw'), 'u', 'p'], fakeIo())).toBe(1);
    writeFileSync(file, 'u:plain\n');
    expect(await passwd(['-b', file, 'v', 'p'], fakeIo())).toBe(1); // will not rewrite a file it cannot read
    expect(readFileSync(file, 'utf8')).toBe('u:plain\n');
  });
});

describe('ACL file (Mosquitto acl_file format)', () => {
  const acl = parseAcl(`# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic write shared/in
topic with spaces/x

user bob
topic read #

pattern readwrite devices/%c/#
pattern read users/%u/inbox
`);

  it('parses users, anonymous rules (before any user line) and patterns; no access word is readwrite', () => {
    expect(acl.anonymous).toEqual([{ access: READ, filter: 'public/#' }]);
    expect(acl.users.get('alice')).toEqual([
      { access: 3, filter: 'alice/#' },
      { access: 0, filter: 'alice/secret' },
      { access: WRITE, filter: 'shared/in' },
      { access: 3, filter: 'with spaces/x' },
    ]);
    expect(acl.patterns).toHaveLength(2);
  });

  it('checks topic names for read and write; deny wins; no rule means denied', () => {
    const alice = compileFor(acl, 'c1', 'alice');
    expect(checkTopic(alice, 'alice/x', WRITE)).toBe(true);
    expect(checkTopic(alice, 'alice/x', READ)).toBe(true);
    expect(checkTopic(alice, 'alice/secret', READ)).toBe(false);
    expect(checkTopic(alice, 'shared/in', WRITE)).toBe(true);
    expect(checkTopic(alice, 'shared/in', READ)).toBe(false);
    expect(checkTopic(alice, 'public/x', READ)).toBe(false); // anonymous rules are not alice's
    expect(checkTopic(alice, 'with spaces/x', READ)).toBe(true);
    const anonymous = compileFor(acl, 'c2', undefined);
    expect(checkTopic(anonymous, 'public/a/b', READ)).toBe(true);
    expect(checkTopic(anonymous, 'public/a/b', WRITE)).toBe(false);
    // A user with no section of their own gets the patterns only.
    expect(checkTopic(compileFor(acl, 'c3', 'zed'), 'public/a', READ)).toBe(false);
  });

  it('substitutes %c and %u in patterns, and skips them for ids or names with + # /', () => {
    expect(checkTopic(compileFor(acl, 'dev1', 'zed'), 'devices/dev1/temp', WRITE)).toBe(true);
    expect(checkTopic(compileFor(acl, 'dev1', 'zed'), 'devices/dev2/temp', WRITE)).toBe(false);
    expect(checkTopic(compileFor(acl, 'dev1', 'zed'), 'users/zed/inbox', READ)).toBe(true);
    expect(checkTopic(compileFor(acl, 'dev1', undefined), 'users/zed/inbox', READ)).toBe(false);
    expect(checkTopic(compileFor(acl, '#', 'zed'), 'devices/a/b', WRITE)).toBe(false);
    expect(checkTopic(compileFor(acl, 'x', 'a/b'), 'users/a/b/inbox', READ)).toBe(false);
  });

  it('`#` and `+` in a rule do not match $SYS topics [MQTT-4.7.2-1]', () => {
    const bob = compileFor(acl, 'c4', 'bob');
    expect(checkTopic(bob, 'anything/at/all', READ)).toBe(true);
    expect(checkTopic(bob, '$SYS/broker/uptime', READ)).toBe(false);
    expect(checkTopic(compileFor(parseAcl('topic read $SYS/#'), 'c', undefined), '$SYS/broker/uptime', READ)).toBe(true);
  });

  it('a SUBSCRIBE filter needs a read rule that covers it (filter-vs-filter, as Mosquitto)', () => {
    const rules = compileFor(parseAcl('topic read a/+\ntopic read b/#\ntopic read c\ntopic deny b/secret'), 'c', undefined);
    expect(checkSubscription(rules, 'a/x')).toBe(true);
    expect(checkSubscription(rules, 'a/+')).toBe(true);
    expect(checkSubscription(rules, 'a/#')).toBe(false);
    expect(checkSubscription(rules, 'a/x/y')).toBe(false);
    expect(checkSubscription(rules, 'b/#')).toBe(true);
    expect(checkSubscription(rules, 'b')).toBe(true);
    expect(checkSubscription(rules, 'b/+/z')).toBe(true);
    expect(checkSubscription(rules, 'b/secret')).toBe(false);
    expect(checkSubscription(rules, 'c')).toBe(true);
    expect(checkSubscription(rules, '+')).toBe(false);
    expect(checkSubscription(rules, '#')).toBe(false);
    // b/# is granted despite the deny on b/secret, which then applies per message at delivery.
    expect(checkTopic(rules, 'b/secret', READ)).toBe(false);
  });

  it('topic matching and filter coverage edge cases', () => {
    const split = (f: string) => f.split('/');
    expect(topicMatches(split('a/#'), 'a')).toBe(true);
    expect(topicMatches(split('a/+'), 'a/')).toBe(true);
    expect(topicMatches(split('a/+'), 'a')).toBe(false);
    expect(topicMatches(split('a/b'), 'a/bc')).toBe(false);
    expect(topicMatches(split('a/b'), 'a/b/')).toBe(false);
    expect(topicMatches(split('+/b'), '$x/b')).toBe(false);
    expect(topicMatches(split('#'), '/')).toBe(true);
    expect(filterCovers(split('#'), split('#'))).toBe(true);
    expect(filterCovers(split('#'), split('$SYS/#'))).toBe(false);
    expect(filterCovers(split('+/+'), split('+/x'))).toBe(true);
    expect(filterCovers(split('x/y'), split('x/+'))).toBe(false);
  });

  it('a bad line is refused with the file name and line number', () => {
    expect(() => parseAcl('user a\ntopic read a/#/b\n', 'acl')).toThrow(AclFileError);
    expect(() => parseAcl('user a\ntopic read a/#/b\n', 'acl')).toThrow(/^acl:2: 'a\/#\/b'/);
    expect(() => parseAcl('topik read a\n', 'acl')).toThrow(/acl:1: unknown keyword 'topik'/);
    expect(() => parseAcl('topic read\n', 'acl')).toThrow(/acl:1: topic needs a topic filter/);
    expect(() => parseAcl('user\n', 'acl')).toThrow(/acl:1: user needs a name/);
  });
});

describe('LoginThrottle', () => {
  it('doubles the delay per failure up to the cap; a success clears the address', () => {
    let now = 1000;
    const throttle = new LoginThrottle({ baseDelayMs: 100, maxDelayMs: 1000, now: () => now });
    expect(throttle.blockedFor('1.2.3.4')).toBe(0);
    expect([1, 2, 3, 4, 5, 6].map(() => throttle.failed('1.2.3.4'))).toEqual([100, 200, 400, 800, 1000, 1000]);
    // Blocked for the refusal's delay, then as long again after it.
    expect(throttle.blockedFor('1.2.3.4')).toBe(2000);
    expect(throttle.blockedFor('5.6.7.8')).toBe(0);
    now += 1400;
    expect(throttle.blockedFor('1.2.3.4')).toBe(600);
    throttle.succeeded('1.2.3.4');
    expect(throttle.blockedFor('1.2.3.4')).toBe(0);
    expect(throttle.failed('1.2.3.4')).toBe(100);
  });

  it('forgets an address after forgetAfterMs, and keeps at most maxAddresses', () => {
    let now = 0;
    const throttle = new LoginThrottle({ baseDelayMs: 100, forgetAfterMs: 10_000, maxAddresses: 3, now: () => now });
    throttle.failed('a');
    throttle.failed('a');
    now = 20_000;
    expect(throttle.failed('a')).toBe(100); // started over
    throttle.failed('b');
    throttle.failed('c');
    throttle.failed('d');
    expect(throttle.size).toBe(3);
    expect(throttle.failed('a')).toBe(100); // 'a' was the least recently failed, forgotten
  });
});
