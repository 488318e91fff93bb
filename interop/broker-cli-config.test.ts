// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${ENV} is the config file syntax under test
// `hato broker -c FILE` as a real process with real peers (mosquitto_pub/sub, MQTT.js, ws):
// config errors, every listener kind from examples/hato.yaml, per-listener protocol versions,
// client certificates (CN as user name) and maxConnections, allowedOrigins, the local only
// default, --print-config. Certificates are made at test time with openssl in a temp dir.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HATO_CLI, type HatoProcess, makePki, startHato } from './client-support/hato-cli.js';
import { mosquittoPub, mosquittoSub, type SubProcess } from './mosquitto-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-cli-config-'));
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

function hato(args: string[], env: NodeJS.ProcessEnv = {}): HatoProcess {
  const started = startHato(args, env);
  running.push(started);
  return started;
}

interface Listening {
  port: number;
  tlsPort: number;
  wsPort: number;
  wssPort: number;
  listeners: { type: string; host: string; port: number }[];
}

async function listening(process: HatoProcess): Promise<Listening> {
  return (await process.waitFor(/hato broker listening/)) as unknown as Listening;
}

function upgradeStatus(port: number, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt', { headers: { Origin: origin } });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_request, response) => {
      ws.terminate();
      resolve(response.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

describe.skipIf(!existsSync(HATO_CLI))('hato broker -c FILE (CLI process)', () => {
  it('a bad config file names the key path and reason; the broker exits 1 without starting', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listeners:\n  - type: tcp\n    port: 1883\n  - type: ws\n    port: 99999\nmaxKeepAlive: 0\nallowAnonymus: true\n');
    const process = hato(['-c', file]);
    expect(await process.exited).toBe(1);
    expect(process.stderr()).toContain('listeners[1].port: must be 0-65535');
    expect(process.stderr()).toContain('maxKeepAlive: must be 1-65535');
    expect(process.stderr()).toContain('allowAnonymus: unknown key');
    expect(process.lines.some((line) => /listening/.test(String(line.msg)))).toBe(false);
  });

  it('a listener that cannot bind (port in use) stops the start: exit 1, the listener named', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as AddressInfo).port;
    const file = join(dir, 'busy.yaml');
    writeFileSync(file, `listeners:\n  - type: tcp\n    port: 0\n    host: 127.0.0.1\n  - type: ws\n    port: ${taken}\n    host: 127.0.0.1\n`);
    const process = hato(['-c', file, '--sys-interval', '0']);
    const failed = await process.waitFor(/could not start/);
    expect(String(failed.err)).toMatch(new RegExp(`^listeners\\[1\\] \\(ws 127\\.0\\.0\\.1:${taken}\\): .*EADDRINUSE`));
    expect(await process.exited).toBe(1);
    busy.close();
  });

  it('a missing ${ENV} is a config error naming the key', async () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(file, 'listeners:\n  - type: tcp\n    port: ${HATO_TEST_UNSET_PORT}\n');
    const process = hato(['-c', file], { HATO_TEST_UNSET_PORT: undefined });
    expect(await process.exited).toBe(1);
    expect(process.stderr()).toContain('listeners[0].port: environment variable HATO_TEST_UNSET_PORT is not set');
  });

  it('examples/hato.yaml starts tcp, tls, ws and wss listeners; messages cross all four', async () => {
    const example = join(dir, 'example');
    mkdirSync(join(example, 'certs'), { recursive: true });
    copyFileSync(join(import.meta.dirname, '../examples/hato.yaml'), join(example, 'hato.yaml'));
    const pki = makePki(join(example, 'certs'));
    const env = { HATO_TCP_PORT: '0', HATO_TLS_PORT: '0', HATO_WS_PORT: '0', HATO_WSS_PORT: '0' };
    const process = hato(['-c', join(example, 'hato.yaml'), '--sys-interval', '0'], env);
    const ports = await listening(process);
    expect(ports.listeners.map((listener) => listener.type)).toEqual(['tcp', 'tls', 'ws', 'wss']);
    const sub = mosquittoSub(['-h', '127.0.0.1', '-p', String(ports.port), '-t', 'kinds/#', '-v', '-C', '3']);
    subs.push(sub);
    await sub.subscribed;
    await mosquittoPub(['-h', '127.0.0.1', '-p', String(ports.tlsPort), '--cafile', pki.ca, '-t', 'kinds/tls', '-m', 'a']);
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${ports.wsPort}/mqtt`, { reconnectPeriod: 0 });
    await ws.publishAsync('kinds/ws', 'b');
    await ws.endAsync();
    const wss = await mqtt.connectAsync(`wss://localhost:${ports.wssPort}/mqtt`, { reconnectPeriod: 0, ca: [readFileSync(pki.ca)] });
    await wss.publishAsync('kinds/wss', 'c');
    await wss.endAsync();
    expect(await sub.waitForLines(3)).toEqual(['kinds/tls a', 'kinds/ws b', 'kinds/wss c']);
    // The example's tls listener takes 3.1.1 and 5.0 only: MQTT 3.1 gets return code 1.
    await expect(mosquittoPub(['-V', 'mqttv31', '-h', '127.0.0.1', '-p', String(ports.tlsPort), '--cafile', pki.ca, '-t', 'x', '-m', 'y'])).rejects.toThrow(/unacceptable protocol version/i);
    // The example's ws listener lists its origins: another site's page is refused (403).
    expect(await upgradeStatus(ports.wsPort, 'https://evil.example.net')).toBe(403);
    expect(await upgradeStatus(ports.wsPort, 'https://dashboard.example.com')).toBe(101);
  });

  it('tls listener: client certificate CN as user name, maxConnections, protocolVersions', async () => {
    const pkiDir = join(dir, 'mtls');
    mkdirSync(pkiDir);
    const pki = makePki(pkiDir, ['alice']);
    const file = join(pkiDir, 'hato.json');
    const tls = { type: 'tls', port: 0, host: '127.0.0.1', cert: 'server.crt', key: 'server.key', ca: 'ca.crt', requireClientCert: true, useCommonNameAsUsername: true, maxConnections: 1 };
    const v5only = { type: 'tcp', port: 0, host: '127.0.0.1', protocolVersions: [5] };
    const wss = { ...tls, type: 'wss', maxConnections: undefined };
    writeFileSync(file, JSON.stringify({ listeners: [tls, v5only, wss] }));
    const process = hato(['-c', file, '--sys-interval', '0']);
    const ports = await listening(process);
    const args = ['-h', '127.0.0.1', '-p', String(ports.tlsPort), '--cafile', pki.ca];
    const sub = mosquittoSub([...args, '--cert', pki.clients.alice!.cert, '--key', pki.clients.alice!.key, '-i', 'alice-sub', '-t', 'x', '-C', '1']);
    subs.push(sub);
    await sub.subscribed;
    const connected = await process.waitFor(/client connected/);
    expect(connected).toMatchObject({ clientId: 'alice-sub', username: 'alice', listener: 'tls:0' });
    // The one connection the listener allows is taken: the next is closed at accept.
    await expect(mosquittoPub([...args, '--cert', pki.clients.alice!.cert, '--key', pki.clients.alice!.key, '-t', 'x', '-m', 'y'])).rejects.toThrow(/exited/);
    // Without a client certificate, the handshake itself fails.
    sub.child.kill();
    await sub.exited;
    await expect(mosquittoPub([...args, '-t', 'x', '-m', 'y'])).rejects.toThrow(/exited/);
    // The second listener takes MQTT 5.0 only.
    await expect(mosquittoPub(['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(ports.port), '-t', 'x', '-m', 'y'])).rejects.toThrow(/unacceptable protocol version/i);
    await mosquittoPub(['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(ports.port), '-t', 'x', '-m', 'y']);
    // WSS takes client certificates the same way.
    const alice = pki.clients.alice!;
    const viaWss = await mqtt.connectAsync(`wss://localhost:${ports.wssPort}/mqtt`, {
      reconnectPeriod: 0,
      clientId: 'alice-wss',
      ca: [readFileSync(pki.ca)],
      cert: readFileSync(alice.cert),
      key: readFileSync(alice.key),
    });
    await viaWss.endAsync();
    await expect.poll(() => process.lines.find((line) => line.clientId === 'alice-wss' && line.msg === 'client connected')).toMatchObject({ username: 'alice', listener: 'wss:0' });
  });

  it('no config and no password file: loopback only, and says so; --host 0.0.0.0 alone refuses to start', async () => {
    const local = hato(['--port', '0', '--ws-port', '0', '--sys-interval', '0']);
    await local.waitFor(/local only mode/);
    const ports = await listening(local);
    expect(ports.listeners.map((listener) => listener.host)).toEqual(['127.0.0.1', '127.0.0.1']);
    await mosquittoPub(['-h', '127.0.0.1', '-p', String(ports.port), '-t', 'x', '-m', 'y']);
    const open = hato(['--host', '0.0.0.0', '--port', '0', '--no-ws']);
    expect(await open.exited).toBe(1);
    expect(open.stderr()).toMatch(/password file .* allow anonymous clients explicitly/);
  });

  it('--print-config prints the effective config, flags over the file, secrets masked', async () => {
    const file = join(dir, 'print.yaml');
    writeFileSync(file, 'listeners:\n  - type: tls\n    port: 8883\n    host: 127.0.0.1\n    cert: s.crt\n    key: s.key\n    passphrase: ${HATO_TEST_PASS}\nmaxKeepAlive: 60\n');
    const process = hato(['-c', file, '--print-config', '--tls-port', '9883', '--admin-port', '9100'], { HATO_TEST_PASS: 'hunter2' });
    expect(await process.exited).toBe(0);
    const printed = JSON.parse(process.stdout()) as Record<string, unknown>;
    expect(printed).toMatchObject({
      listeners: [{ type: 'tls', port: 9883, host: '127.0.0.1', cert: join(dir, 's.crt'), passphrase: '********' }],
      maxKeepAlive: 60,
      admin: { port: 9100, host: '127.0.0.1' },
      allowAnonymous: true,
    });
    expect(JSON.stringify(printed)).not.toContain('hunter2');
  });

  it('--admin-port serves /healthz, /readyz and /metrics on loopback; $SYS is published', async () => {
    const process = hato(['--port', '0', '--no-ws', '--admin-port', '0', '--sys-interval', '1']);
    const ports = (await listening(process)) as Listening & { adminPort: number };
    expect(ports.adminPort).toBeGreaterThan(0);
    const sub = mosquittoSub(['-h', '127.0.0.1', '-p', String(ports.port), '-t', '$SYS/broker/clients/connected', '-v']);
    subs.push(sub);
    await sub.subscribed;
    // The retained figure may still be from before this subscriber; the next update counts it.
    await expect.poll(() => sub.lines, { timeout: 5000 }).toContain('$SYS/broker/clients/connected 1');
    const admin = `http://127.0.0.1:${ports.adminPort}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/^hato_listener_connections\{listener="tcp:0"\} 1$/m);
  });
});
