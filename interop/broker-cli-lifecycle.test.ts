// `hato broker` signals as a real process: SIGTERM publishes wills, sends DISCONNECT 0x8B to
// 5.0 clients and exits 0; SIGHUP reloads the password file and the TLS certificates without
// dropping connections, and a failed reload keeps the previous certificates.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HATO_CLI, type HatoProcess, makePki, startHato } from './client-support/hato-cli.js';
import { mosquittoPub, mosquittoSub, type SubProcess } from './mosquitto-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-cli-lifecycle-'));
const running: HatoProcess[] = [];
const subs: SubProcess[] = [];
afterEach(async () => {
  for (const sub of subs.splice(0)) sub.child.kill();
  for (const hato of running.splice(0)) {
    hato.kill('SIGKILL');
    await hato.exited;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hato(args: string[]): HatoProcess {
  const started = startHato(args);
  running.push(started);
  return started;
}

interface Listening {
  port: number;
  tlsPort: number;
  wssPort: number;
}

describe.skipIf(!existsSync(HATO_CLI))('hato broker signals (CLI process)', () => {
  it('SIGTERM: wills are published, a 5.0 client gets DISCONNECT 0x8B, the process exits 0', async () => {
    const process = hato(['--port', '0', '--no-ws', '--sys-interval', '0']);
    const { port } = (await process.waitFor(/hato broker listening/)) as unknown as Listening;
    const watcher = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0, clientId: 'watcher' });
    const received: string[] = [];
    watcher.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    const disconnect = new Promise<number | undefined>((resolve) => watcher.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await watcher.subscribeAsync('will/#');
    const leaver = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, clientId: 'leaver', will: { topic: 'will/leaver', payload: Buffer.from('gone'), qos: 0, retain: false } });
    process.kill('SIGTERM');
    expect(await disconnect).toBe(0x8b);
    expect(received).toEqual(['will/leaver gone']);
    expect(await process.exited).toBe(0);
    expect(process.lines.map((line) => line.msg)).toContain('hato broker stopped');
    watcher.end(true);
    leaver.end(true);
  });

  it('SIGHUP reloads the password file and TLS certificates; connections stay; a bad certificate keeps the old one', async () => {
    const home = join(dir, 'hup');
    const first = join(home, 'pki1');
    const second = join(home, 'pki2');
    mkdirSync(first, { recursive: true });
    mkdirSync(second);
    const pki1 = makePki(first);
    const pki2 = makePki(second);
    copyFileSync(pki1.cert, join(home, 'server.crt'));
    copyFileSync(pki1.key, join(home, 'server.key'));
    const passwd = join(home, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'wonderland']);
    const config = join(home, 'hato.yaml');
    writeFileSync(
      config,
      'passwordFile: passwd\nlisteners:\n  - type: tcp\n    port: 0\n    host: 127.0.0.1\n  - type: tls\n    port: 0\n    host: 127.0.0.1\n    cert: server.crt\n    key: server.key\n' +
        '  - type: wss\n    port: 0\n    host: 127.0.0.1\n    cert: server.crt\n    key: server.key\n',
    );
    const process = hato(['-c', config, '--sys-interval', '0']);
    const { port, tlsPort, wssPort } = (await process.waitFor(/hato broker listening/)) as unknown as Listening;
    const tcp = ['-h', '127.0.0.1', '-p', String(port)];
    const wss = (ca: string) =>
      mqtt.connectAsync(`wss://localhost:${wssPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000, ca: [readFileSync(ca)], username: 'alice', password: 'wonderland' });
    const tls = (ca: string) => ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', ca, '-u', 'alice', '-P', 'wonderland'];
    const sub = mosquittoSub([...tcp, '-u', 'alice', '-P', 'wonderland', '-t', 'hup/#', '-v']);
    subs.push(sub);
    await sub.subscribed;
    // (No failed login for bob before the reload: the failed-login throttle would hold his retry.)

    execFileSync('mosquitto_passwd', ['-b', passwd, 'bob', 'builder']);
    copyFileSync(pki2.cert, join(home, 'server.crt'));
    copyFileSync(pki2.key, join(home, 'server.key'));
    process.kill('SIGHUP');
    await process.waitFor(/reload done/);
    await mosquittoPub([...tcp, '-u', 'bob', '-P', 'builder', '-t', 'hup/bob', '-m', 'after-reload']);
    await mosquittoPub([...tls(pki2.ca), '-t', 'hup/tls', '-m', 'new-cert']);
    await expect(mosquittoPub([...tls(pki1.ca), '-t', 'hup/x', '-m', 'old-ca'])).rejects.toThrow(/exited/);
    await (await wss(pki2.ca)).endAsync();
    await expect(wss(pki1.ca)).rejects.toThrow(/certificate/);
    // The subscriber connected before the reload is still there and got both.
    expect(await sub.waitForLines(2)).toEqual(['hup/bob after-reload', 'hup/tls new-cert']);

    writeFileSync(join(home, 'server.crt'), 'not a certificate\n');
    process.kill('SIGHUP');
    const failed = await process.waitFor(/tls certificate reload failed/);
    expect(failed.listener).toBe('tls:0');
    await process.waitFor(/reload done/);
    await mosquittoPub([...tls(pki2.ca), '-t', 'hup/tls', '-m', 'still-new-cert']);
    expect(await sub.waitForLines(3)).toContain('hup/tls still-new-cert');
    expect(process.child.exitCode).toBe(null);
  });

  it('SIGHUP with a changed ACL: a subscription made before the reload gets only what the new rules allow', async () => {
    const home = join(dir, 'acl');
    mkdirSync(home);
    const passwd = join(home, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'a-pass']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'bob', 'b-pass']);
    const acl = join(home, 'acl');
    writeFileSync(acl, 'user alice\ntopic read acl/#\n\nuser bob\ntopic write acl/#\n');
    const process = hato(['--port', '0', '--no-ws', '--host', '127.0.0.1', '--password-file', passwd, '--acl-file', acl, '--sys-interval', '0']);
    const { port } = (await process.waitFor(/hato broker listening/)) as unknown as Listening;
    const tcp = ['-h', '127.0.0.1', '-p', String(port)];
    const sub = mosquittoSub([...tcp, '-u', 'alice', '-P', 'a-pass', '-t', 'acl/#', '-v']);
    subs.push(sub);
    await sub.subscribed;
    const publish = (topic: string) => mosquittoPub([...tcp, '-u', 'bob', '-P', 'b-pass', '-t', topic, '-m', 'm']);
    await publish('acl/closed/1');
    expect(await sub.waitForLines(1)).toEqual(['acl/closed/1 m']);
    writeFileSync(acl, 'user alice\ntopic read acl/open/#\n\nuser bob\ntopic write acl/#\n');
    process.kill('SIGHUP');
    await process.waitFor(/password file and ACL reloaded/);
    await process.waitFor(/reload done/);
    await publish('acl/closed/2');
    await publish('acl/open/1');
    expect(await sub.waitForLines(2)).toEqual(['acl/closed/1 m', 'acl/open/1 m']);
    expect(sub.child.exitCode).toBe(null);
  });
});
