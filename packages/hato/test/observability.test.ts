// $SYS topics read by the real mosquitto_sub (and refused as the ACL says), and the admin
// HTTP listener: /metrics parsed with the figures the traffic made, /healthz, /readyz.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '@hato/broker';
import { parsePrometheus } from '@hato/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoPub, mosquittoSub, type SubProcess } from '../../../interop/mosquitto-cli.js';
import { startAdmin, startSys } from '../src/observability/index.js';
import { createAccessControl } from '../src/security/access-control.js';

const dir = mkdtempSync(join(tmpdir(), 'hato-observability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const subs: SubProcess[] = [];
afterEach(() => {
  for (const sub of subs.splice(0)) sub.child.kill('SIGKILL');
});
async function subscribe(args: string[]): Promise<SubProcess> {
  const sub = mosquittoSub(args);
  subs.push(sub);
  await sub.subscribed;
  return sub;
}

describe('$SYS/broker topics', () => {
  let broker: Broker;
  let port = 0;
  let sys: { stop(): void };
  beforeAll(async () => {
    const aclFile = join(dir, 'acl');
    writeFileSync(aclFile, 'topic read public/#\nuser operator\ntopic read $SYS/#\nuser bob\ntopic readwrite #\n');
    const access = await createAccessControl({ aclFile, allowAnonymous: true, logger: silent });
    broker = new Broker({ hooks: access.compose() });
    port = (await broker.listen({ port: 0, host: '127.0.0.1' })).port;
    sys = startSys(broker, { intervalSeconds: 0.1 });
  });
  afterAll(async () => {
    sys.stop();
    await broker.close();
  });
  const base = (...user: string[]) => ['-h', '127.0.0.1', '-p', String(port), ...(user.length === 0 ? [] : ['-u', user[0]!])];

  it('clients/connected reports the real count, read with mosquitto_sub by a user the ACL allows', async () => {
    await subscribe([...base(), '-t', 'public/a']);
    await subscribe([...base(), '-t', 'public/b']);
    // Two idle clients and the reader itself: the value reaches 3 (retained, then on change).
    const reader = await subscribe([...base('operator'), '-t', '$SYS/broker/clients/connected']);
    await expect.poll(() => reader.lines.at(-1), { timeout: 10_000 }).toBe('3');
    subs.shift()!.child.kill('SIGKILL');
    await expect.poll(() => reader.lines.at(-1), { timeout: 10_000 }).toBe('2');
  });

  it('publishes version, uptime, byte and message counts, loads, subscriptions and retained counts', async () => {
    // Topic and value split by a tab: Mosquitto's "retained messages/count" has a space.
    const reader = await subscribe([...base('operator'), '-t', '$SYS/broker/#', '-F', '%t\t%p']);
    const latest = () => new Map(reader.lines.map((line) => line.split('\t') as [string, string]));
    // The retained values come first; the reader's own subscription shows in the next update.
    await expect.poll(() => latest().get('$SYS/broker/subscriptions/count'), { timeout: 10_000 }).toBe('1');
    const topics = latest();
    expect(topics.get('$SYS/broker/load/bytes/received/15min')).toMatch(/^\d+\.\d\d$/);
    expect(topics.get('$SYS/broker/version')).toMatch(/^hato \d+\.\d+\.\d+/);
    expect(topics.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    for (const name of ['bytes/received', 'bytes/sent', 'publish/messages/received', 'publish/messages/sent', 'subscriptions/count', 'retained messages/count', 'heap/current', 'clients/maximum']) {
      expect(topics.get(`$SYS/broker/${name}`), name).toMatch(/^\d+$/);
    }
    expect(Number(topics.get('$SYS/broker/bytes/received'))).toBeGreaterThan(0);
  });

  it('is readable only as the ACL allows: SUBACK 0x80 without a rule covering $SYS (`#` does not)', async () => {
    for (const user of [[], ['bob']]) {
      const sub = mosquittoSub([...base(...user), '-t', '$SYS/#', '-E', '-V', 'mqttv311']);
      subs.push(sub);
      let out = '';
      sub.child.stdout?.on('data', (d) => (out += d));
      await sub.exited;
      expect(out).toMatch(/Subscribed \(mid: \d+\): 128/);
    }
  });
});


describe('admin HTTP listener', () => {
  it('/metrics reports the traffic mosquitto clients made; /healthz; /readyz follows isReady', async () => {
    const broker = new Broker();
    const listener = await broker.listen({ port: 0, host: '127.0.0.1' });
    let ready = false;
    const admin = await startAdmin(broker, { port: 0, isReady: () => ready, listeners: () => [{ name: 'tcp', connections: listener.connections }] });
    try {
      const url = (path: string) => `http://127.0.0.1:${admin.port}${path}`;
      expect((await fetch(url('/healthz'))).status).toBe(200);
      expect((await fetch(url('/readyz'))).status).toBe(503);
      ready = true;
      expect((await fetch(url('/readyz'))).status).toBe(200);
      expect((await fetch(url('/nothing'))).status).toBe(404);

      const sub = await subscribe(['-h', '127.0.0.1', '-p', String(listener.port), '-t', 'm/#', '-q', '1']);
      for (const payload of ['one', 'two', 'three']) await mosquittoPub(['-h', '127.0.0.1', '-p', String(listener.port), '-t', 'm/x', '-q', '1', '-m', payload]);
      await sub.waitForLines(3);
      // The last mosquitto_pub's DISCONNECT handled and its socket closed.
      await expect.poll(() => broker.metrics.clientsConnected).toBe(1);
      await expect.poll(() => listener.connections).toBe(1);
      const response = await fetch(url('/metrics'));
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/# TYPE hato_messages_received_total counter/);
      const values = parsePrometheus(text);
      expect(values.get('hato_messages_received_total')).toBe(3);
      expect(values.get('hato_messages_sent_total')).toBe(3);
      expect(values.get('hato_clients_connected')).toBe(1);
      expect(values.get('hato_clients_maximum')).toBeGreaterThanOrEqual(2);
      expect(values.get('hato_subscriptions')).toBe(1);
      expect(values.get('hato_listener_connections{listener="tcp"}')).toBe(1);
      expect(values.get('hato_bytes_received_total')).toBe(broker.metrics.bytesReceived);
      expect(values.get('hato_bytes_sent_total')).toBe(broker.metrics.bytesSent);
      // Each payload's PUBLISH went in once and out once: at least their bytes both ways.
      expect(values.get('hato_bytes_received_total')).toBeGreaterThan('onetwothree'.length + 3 * 'm/x'.length);
      expect(values.get('hato_messages_dropped_total')).toBe(0);
      expect(values.get('hato_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await admin.close();
      await broker.close();
    }
  });

  it('binds to loopback by default', async () => {
    const broker = new Broker();
    const admin = await startAdmin(broker, { port: 0, isReady: () => true });
    try {
      expect(admin.host).toBe('127.0.0.1');
    } finally {
      await admin.close();
      await broker.close();
    }
  });

  it('in a cluster: /readyz is 503 and says why while the cluster link is down; hato_cluster_up and hato_cluster_nodes', async () => {
    const broker = new Broker();
    const link = { up: true, nodes: ['b', 'c'] };
    const admin = await startAdmin(broker, { port: 0, isReady: () => true, cluster: () => link });
    try {
      const url = (path: string) => `http://127.0.0.1:${admin.port}${path}`;
      let values = parsePrometheus(await (await fetch(url('/metrics'))).text());
      expect(values.get('hato_cluster_up')).toBe(1);
      expect(values.get('hato_cluster_nodes')).toBe(3);
      expect((await fetch(url('/readyz'))).status).toBe(200);
      link.up = false;
      link.nodes = [];
      const readyz = await fetch(url('/readyz'));
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toMatch(/cluster link \(Redis\) is down/);
      values = parsePrometheus(await (await fetch(url('/metrics'))).text());
      expect(values.get('hato_cluster_up')).toBe(0);
      expect(values.get('hato_cluster_nodes')).toBe(1);
      expect((await fetch(url('/healthz'))).status).toBe(200);
    } finally {
      await admin.close();
      await broker.close();
    }
  });

  it('a single node has no cluster gauges', async () => {
    const broker = new Broker();
    const admin = await startAdmin(broker, { port: 0, isReady: () => true });
    try {
      const text = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
      expect(text).not.toContain('hato_cluster_');
    } finally {
      await admin.close();
      await broker.close();
    }
  });
});
