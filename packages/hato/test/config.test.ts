// The config file: validation messages name the key path, ${ENV} substitution, flags over
// the file, the secure defaults, and --print-config masking.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${ENV} is the config file syntax under test
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { effectiveConfig, printable, StartRefusedError } from '../src/config/effective.js';
import { ConfigError, loadConfigFile, validateConfig } from '../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config validation', () => {
  it('names the key path and the reason of each problem', () => {
    const found = problems({
      listeners: [{ type: 'tcp', port: 1883 }, { type: 'tcp', port: 70000 }, { type: 'quic', port: 1 }, { type: 'tls', port: 8883 }],
      maxKeepAlive: 'soon',
      maximumQoS: 3,
      colour: 'blue',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'listeners[1].port: must be 0-65535 (0 picks a free port)',
        'listeners[2].type: must be one of tcp, tls, ws, wss',
        'listeners[3].cert: required for a tls listener',
        'listeners[3].key: required for a tls listener',
        'maxKeepAlive: must be 1-65535',
        'maximumQoS: must be 0, 1 or 2',
        'colour: unknown key',
      ]),
    );
    expect(found).toHaveLength(7);
  });

  it('refuses options that do not belong to the listener type', () => {
    expect(problems({ listeners: [{ type: 'tcp', port: 1, path: '/mqtt', cert: 'c' }] })).toEqual([
      'listeners[0].cert: only for tls and wss listeners, not tcp',
      'listeners[0].path: only for ws and wss listeners, not tcp',
    ]);
    expect(problems({ listeners: [{ type: 'tls', port: 1, cert: 'c', key: 'k', useCommonNameAsUsername: true }] })).toEqual([
      'listeners[0].useCommonNameAsUsername: needs requireClientCert: true',
    ]);
    expect(problems({ listeners: [{ type: 'ws', port: 1, protocolVersions: [4, 6] }] })).toEqual(['listeners[0].protocolVersions[1]: must be 3, 4 or 5']);
  });

  // Changed with issue 10: sqlite (the CLI's default) and redis persistence are available now; issue 11: the redis cluster too.
  it('accepts memory, sqlite and redis persistence and a memory cluster; refuses bad persistence settings', () => {
    expect(problems({ persistence: 'memory', cluster: { type: 'memory' } })).toEqual([]);
    expect(problems({ persistence: 'sqlite' })).toEqual([]);
    expect(problems({ persistence: 'sqlite:/var/lib/hato/state.db', dataDir: '/var/lib/hato' })).toEqual([]);
    expect(problems({ persistence: { type: 'sqlite', path: 'x.db', synchronous: 'full' } })).toEqual([]);
    expect(problems({ persistence: { type: 'sqlite', synchronous: 'sometimes' } })).toEqual(["persistence: synchronous must be 'normal' or 'full' (got 'sometimes')"]);
    expect(problems({ persistence: 'rediss://:pw@redis.example:6380' })).toEqual([]);
    expect(problems({ persistence: { type: 'redis', url: 'redis://10.0.0.5:6379/2', prefix: 'site-a:' } })).toEqual([]);
    expect(problems({ persistence: { type: 'redis' } })).toEqual(['persistence: redis needs a URL: redis://HOST:PORT[/DB]']);
    expect(problems({ persistence: { type: 'redis', url: 'redis://h:6379', prefix: '' } })).toEqual(['persistence: redis prefix must be a non-empty string']);
    expect(problems({ persistence: 'redis://127.0.0.1:6379/zero' })).toEqual(["persistence: redis database must be a number: redis://HOST:PORT/DB (got 'zero')"]);
    expect(problems({ persistence: 'redis://127.0.0.1:99999' })).toEqual(['persistence: not a URL: redis://HOST:PORT[/DB] (got \'redis://127.0.0.1:99999\')']);
    expect(problems({ persistence: 'mongo' })).toEqual(["persistence: must be 'memory', 'sqlite[:PATH]' or 'redis://HOST:PORT[/DB]' (got 'mongo')"]);
  });

  it('cluster: a Redis URL or { url, nodeId?, prefix?, heartbeatMs?, deadAfterMs? }; each problem names the key', () => {
    expect(problems({ cluster: 'memory' })).toEqual([]);
    expect(problems({ cluster: 'redis://127.0.0.1:6379' })).toEqual([]);
    expect(problems({ cluster: 'rediss://:pw@redis.example:6380/2' })).toEqual([]);
    expect(problems({ cluster: { url: 'redis://h:1/0', nodeId: 'node-a', prefix: 'site-a:', heartbeatMs: 200, deadAfterMs: '1500' } })).toEqual([]);
    expect(problems({ cluster: { type: 'redis', url: 'redis://h:1' } })).toEqual([]);
    expect(problems({ cluster: 'redis' })).toEqual(["cluster: must be 'memory' (a single node) or a Redis URL: redis://HOST:PORT[/DB] (got 'redis')"]);
    expect(problems({ cluster: { nodeId: 'a' } })).toEqual(["cluster: must be 'memory' (a single node) or a Redis URL: redis://HOST:PORT[/DB] (got no url)"]);
    expect(problems({ cluster: 'redis://:s3cret@h:1/db' })).toEqual(["cluster: redis database must be a number: redis://HOST:PORT/DB (got 'db')"]);
    expect(problems({ cluster: 'http://:s3cret@h:1' })).toEqual(["cluster: must be 'memory' (a single node) or a Redis URL: redis://HOST:PORT[/DB] (got 'http://***@h:1')"]);
    expect(problems({ cluster: { url: 'redis://h:1', heartbeatMs: 0 } })).toEqual(['cluster: heartbeatMs must be a whole number of milliseconds ≥ 1']);
    expect(problems({ cluster: { url: 'redis://h:1', deadAfterMs: 'soon' } })).toEqual(['cluster: deadAfterMs must be a whole number of milliseconds ≥ 1']);
    expect(problems({ cluster: { url: 'redis://h:1', heartbeatMs: 2000, deadAfterMs: 2000 } })).toEqual([
      'cluster: deadAfterMs (2000) must be more than heartbeatMs (2000): a live node would be taken for dead',
    ]);
    expect(problems({ cluster: { url: 'redis://h:1', nodeId: 'node a' } })).toEqual(['cluster: nodeId must be 1-128 printable characters without spaces']);
    expect(problems({ cluster: { url: 'redis://h:1', prefix: '' } })).toEqual(['cluster: prefix must be a non-empty string']);
    expect(problems({ cluster: { url: 'redis://h:1', heartbeat: 5 } })).toEqual(['cluster: unknown key heartbeat (url, nodeId, prefix, heartbeatMs, deadAfterMs)']);
    expect(problems({ cluster: { type: 'nats', url: 'redis://h:1' } })).toEqual(["cluster: type must be 'redis' (got 'nats')"]);
    expect(problems({ cluster: 7 })).toEqual(['cluster: must be a Redis URL (redis://HOST:PORT[/DB]) or { url, nodeId?, prefix?, heartbeatMs?, deadAfterMs? }']);
    expect(problems({ cluster: null })).toEqual(['cluster: must be a Redis URL (redis://HOST:PORT[/DB]) or { url, nodeId?, prefix?, heartbeatMs?, deadAfterMs? }']);
    expect(problems({ cluster: '' })).toEqual(["cluster: must be 'memory' (a single node) or a Redis URL: redis://HOST:PORT[/DB] (got '')"]);
  });

  it('--cluster / cluster: the store is that Redis unless given; a store elsewhere is refused, naming cluster', () => {
    const listen = { host: '127.0.0.1' };
    const flag = effectiveConfig(undefined, { ...listen, cluster: 'redis://127.0.0.1:6379/2' });
    expect(flag.cluster).toEqual({ url: 'redis://127.0.0.1:6379/2', prefix: undefined, nodeId: undefined, heartbeatMs: undefined, deadAfterMs: undefined });
    expect(flag.store).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379/2', prefix: undefined });
    // The flag replaces the file's URL and keeps its other keys.
    const file = validateConfig({ cluster: { url: 'redis://h:1', nodeId: 'n1', heartbeatMs: 100, deadAfterMs: 600, prefix: 'p:' } });
    const merged = effectiveConfig(file, { ...listen, cluster: 'redis://h:2' });
    expect(merged.cluster).toEqual({ url: 'redis://h:2', nodeId: 'n1', heartbeatMs: 100, deadAfterMs: 600, prefix: 'p:' });
    expect(merged.store).toEqual({ type: 'redis', url: 'redis://h:2', prefix: 'p:' });
    // The same Redis named both ways (default port and database spelled or not); the cluster takes the store's prefix.
    const both = effectiveConfig(validateConfig({ persistence: { type: 'redis', url: 'redis://h:6379/0', prefix: 's:' } }), { ...listen, cluster: 'redis://h' });
    expect(both.store).toEqual({ type: 'redis', url: 'redis://h:6379/0', prefix: 's:' });
    expect(both.cluster?.prefix).toBe('s:');
    expect(effectiveConfig(validateConfig({ cluster: 'memory' }), listen).cluster).toBeUndefined();
    expect(effectiveConfig(undefined, { ...listen, persistence: 'memory' }).cluster).toBeUndefined();
    for (const persistence of ['memory', 'sqlite', 'sqlite:x.db']) {
      expect(() => effectiveConfig(undefined, { ...listen, cluster: 'redis://h:1', persistence })).toThrowError(
        /^--cluster: a cluster keeps its sessions, queues and retained messages in the shared Redis/,
      );
      expect(() => effectiveConfig(validateConfig({ cluster: 'redis://h:1', persistence }), listen)).toThrowError(/^cluster: a cluster keeps its sessions/);
    }
    expect(() => effectiveConfig(undefined, { ...listen, cluster: 'redis://h:1', persistence: 'redis://h:1/1' })).toThrowError(
      '--cluster: the persistence (redis://h:1/1) and the cluster (redis://h:1) must name the same Redis server and database',
    );
    expect(() => effectiveConfig(validateConfig({ cluster: { url: 'redis://h:1', prefix: 'a:' }, persistence: 'redis://h:1' }), listen)).toThrowError(
      'cluster: the persistence prefix (hato:) and the cluster prefix (a:) must be the same',
    );
    expect(() => effectiveConfig(undefined, { ...listen, cluster: 'redis://h:1/x' })).toThrowError(/^--cluster: redis database must be a number/);
    expect(() => effectiveConfig(undefined, { ...listen, cluster: 'redis://h:1', persistence: 'mongo' })).toThrowError(/^--persistence: must be/);
  });

  it('--print-config hides passwords in Redis URLs', () => {
    const printed = JSON.stringify(printable(effectiveConfig(undefined, { host: '127.0.0.1', cluster: 'redis://:s3cret@h:1/0' })));
    expect(printed).not.toContain('s3cret');
    expect(printed).toContain('"url":"redis://***@h:1/0"');
  });

  it('--persistence redis://HOST:PORT[/DB] and the config key name a Redis store (prefix from the file)', () => {
    const listen = { host: '127.0.0.1' };
    expect(effectiveConfig(undefined, { ...listen, persistence: 'redis://127.0.0.1:6379/3' }).store).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379/3', prefix: undefined });
    expect(effectiveConfig({ persistence: { type: 'redis', url: 'redis://h:1', prefix: 'p:' } }, listen).store).toEqual({ type: 'redis', url: 'redis://h:1', prefix: 'p:' });
    expect(() => effectiveConfig(undefined, { ...listen, persistence: 'redis://h:1/x' })).toThrowError(/--persistence: redis database must be a number/);
  });

  it('the default store is SQLite in the data directory; --persistence and --data-dir override the file', () => {
    const listen = { host: '127.0.0.1' };
    expect(effectiveConfig({ dataDir: '/d' }, listen).store).toEqual({ type: 'sqlite', file: '/d/hato.db', synchronous: 'normal' });
    expect(effectiveConfig({ dataDir: '/d', persistence: 'sqlite:sub/x.db' }, listen).store).toEqual({ type: 'sqlite', file: '/d/sub/x.db', synchronous: 'normal' });
    expect(effectiveConfig({ dataDir: '/d', persistence: 'sqlite' }, { ...listen, persistence: 'memory' }).store).toEqual({ type: 'memory' });
    expect(effectiveConfig({ dataDir: '/d' }, { ...listen, dataDir: '/e' }).store).toEqual({ type: 'sqlite', file: '/e/hato.db', synchronous: 'normal' });
    expect(effectiveConfig(undefined, listen).dataDir).toMatch(/hato$/);
    expect(() => effectiveConfig(undefined, { ...listen, persistence: 'sqlite:' })).toThrowError(/--persistence: 'sqlite:' needs a file path/);
  });

  it('substitutes ${ENV} (numbers too), ${ENV:-default}, and names the key of a missing variable', () => {
    const config = validateConfig({ maxKeepAlive: '${KEEP}', listeners: [{ type: 'tcp', port: '${PORT:-1884}', host: '${HOST}' }] }, { KEEP: '60', HOST: '127.0.0.2' });
    expect(config.maxKeepAlive).toBe(60);
    expect(config.listeners).toEqual([{ type: 'tcp', port: 1884, host: '127.0.0.2' }]);
    expect(problems({ listeners: [{ type: 'tls', port: 1, cert: 'c', key: 'k', passphrase: '${TLS_PASS}' }] })).toEqual([
      'listeners[0].passphrase: environment variable TLS_PASS is not set',
    ]);
  });

  it('reads YAML, JSON and .mjs files; paths are relative to the file', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'listeners:\n  - type: tls\n    port: 8883\n    cert: certs/s.crt\n    key: /abs/s.key\npasswordFile: passwd\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ maxKeepAlive: 30 }));
    writeFileSync(join(dir, 'c.mjs'), 'export default { receiveMaximum: 10 };\n');
    const yaml = await loadConfigFile(join(dir, 'a.yaml'));
    expect(yaml.listeners?.[0]).toMatchObject({ cert: join(dir, 'certs/s.crt'), key: '/abs/s.key' });
    expect(yaml.passwordFile).toBe(join(dir, 'passwd'));
    expect((await loadConfigFile(join(dir, 'b.json'))).maxKeepAlive).toBe(30);
    expect((await loadConfigFile(join(dir, 'c.mjs'))).receiveMaximum).toBe(10);
    await expect(loadConfigFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read/);
  });
});

describe('effective config and secure defaults', () => {
  it('no config, no password file, no --host: loopback only (local only mode)', () => {
    const config = effectiveConfig(undefined, { port: 0 });
    expect(config.localOnly).toBe(true);
    expect(config.listeners).toEqual([
      { type: 'tcp', port: 0, host: '127.0.0.1' },
      { type: 'ws', port: 8083, host: '127.0.0.1' },
    ]);
    expect(config.allowAnonymous).toBe(true);
  });

  it('open beyond loopback: refused without a password file or an explicit allowAnonymous', () => {
    expect(() => effectiveConfig(undefined, { host: '0.0.0.0' })).toThrow(StartRefusedError);
    expect(() => effectiveConfig({ listeners: [{ type: 'tcp', port: 1883 }] }, {})).toThrow(/password file/);
    expect(effectiveConfig(undefined, { host: '0.0.0.0', allowAnonymous: true }).allowAnonymous).toBe(true);
    const withPasswords = effectiveConfig({ listeners: [{ type: 'tcp', port: 1883 }] }, { passwordFile: '/x' });
    expect([withPasswords.localOnly, withPasswords.allowAnonymous]).toEqual([false, false]);
  });

  it('flags override the file: ports of the first listener of a kind, --host for all, --no-ws', () => {
    const file = validateConfig({
      allowAnonymous: true,
      listeners: [
        { type: 'tcp', port: 1883, host: '10.0.0.1' },
        { type: 'ws', port: 8083 },
        { type: 'tcp', port: 1884 },
      ],
    });
    const config = effectiveConfig(file, { port: 2883, host: '127.0.0.1', noWs: true, adminPort: 9100 });
    expect(config.listeners).toEqual([
      { type: 'tcp', port: 2883, host: '127.0.0.1' },
      { type: 'tcp', port: 1884, host: '127.0.0.1' },
    ]);
    expect(config.admin).toEqual({ port: 9100, host: '127.0.0.1' });
  });

  it('--print-config masks secrets', () => {
    const file = validateConfig({ listeners: [{ type: 'tls', port: 8883, host: '127.0.0.1', cert: 'c', key: 'k', passphrase: 'hunter2' }] });
    const printed = JSON.stringify(printable(effectiveConfig(file, {})));
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain('"passphrase":"********"');
  });
});
