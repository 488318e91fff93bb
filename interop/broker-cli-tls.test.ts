// `hato broker --tls-port` serves MQTT over TLS: mosquitto_sub / mosquitto_pub with --cafile
// (the real Debian clients) round-trip a message through the CLI broker. Needs the build
// (`npm test` builds before vitest).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates } from './client-support/mosquitto.js';
import { mosquittoPub, mosquittoSub } from './mosquitto-cli.js';

const cli = join(import.meta.dirname, '../packages/hato/dist/cli.js');

describe.skipIf(!existsSync(cli))('hato broker --tls-port (CLI) with mosquitto clients', () => {
  let dir = '';
  let child: ChildProcess;
  let tlsPort = 0;
  let ca = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hato-cli-tls-'));
    const certs = makeCertificates(dir);
    ca = certs.ca;
    child = spawn(process.execPath, [cli, 'broker', '--persistence', 'memory', '--host', '127.0.0.1', '--port', '0', '--no-ws', '--tls-port', '0', '--cert', certs.cert, '--key', certs.key], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tlsPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('hato broker listening'));
        if (line) resolve(JSON.parse(line).tlsPort);
      });
      child.once('exit', (code) => reject(new Error(`hato broker exited ${code}: ${out}`)));
    });
  });
  afterAll(() => {
    child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the TLS port and round-trips a QoS 1 message over TLS', async () => {
    expect(tlsPort).toBeGreaterThan(0);
    const tls = ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', ca];
    const sub = mosquittoSub([...tls, '-t', 'tls/x', '-q', '1', '-v', '-C', '1']);
    await sub.subscribed;
    await mosquittoPub([...tls, '-t', 'tls/x', '-q', '1', '-m', 'über TLS']);
    expect(await sub.waitForLines(1)).toEqual(['tls/x über TLS']);
  });

  it('a client that trusts another CA cannot connect', async () => {
    const other = makeCertificates(mkdtempSync(join(dir, 'other-')));
    await expect(mosquittoPub(['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', other.ca, '-t', 'x', '-m', 'y'])).rejects.toThrow(/exited/);
  });
});
