// Issue 11, routing: three `hato broker --cluster` processes on one real redis-server, MQTT.js
// clients on every node. A publish on any node reaches each matching subscriber on every node
// once (QoS 0/1/2); a node with no matching subscriber receives nothing (its Redis inbox stream
// gets no entry); a shared group with one member per node delivers each message to one member
// in total; a retained message set on one node is seen by a new subscriber on another.
import { useRedisServer } from '@hato/testkit';
import type { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type SubProcess } from './mosquitto-cli.js';
import {
  awaitRoutes,
  ClusterHarness,
  type ClusterNode,
  logLines,
  publishAll,
  QUIET_MS,
  redisClient,
  requireBuiltCli,
  sleep,
  sorted,
  streamEntriesAdded,
  until,
  WAIT_MS,
} from './cluster-support/cluster.js';

const redis = useRedisServer();
const harness = new ClusterHarness();
const opened: Redis[] = [];
let testNumber = 0;

beforeAll(() => requireBuiltCli());
const subs: SubProcess[] = [];
afterEach(async () => {
  for (const sub of subs.splice(0)) sub.child.kill('SIGKILL');
  await harness.cleanup();
  for (const client of opened.splice(0)) client.disconnect();
});

/** Three nodes a, b, c on a database and key prefix of this test's own. */
async function threeNodes(): Promise<{ nodes: ClusterNode[]; url: string; prefix: string; admin: Redis }> {
  testNumber++;
  const url = `${redis().url}/${testNumber % 16}`;
  const prefix = `route${testNumber}:`;
  const nodes = await harness.startCluster(['a', 'b', 'c'], { url, prefix });
  const admin = redisClient(url);
  opened.push(admin);
  return { nodes, url, prefix, admin };
}

const range = (n: number, label: string) => Array.from({ length: n }, (_, i) => `${label}-${i}`);

describe('cluster of 3 hato processes: routing', () => {
  it('the listening line names the node id and the cluster URL; every node logs the others joining', async () => {
    const { nodes, url, prefix } = await threeNodes();
    for (const node of nodes) {
      expect(node.listening).toMatchObject({ nodeId: node.id, cluster: url, persistence: 'redis', data: url, prefix });
      const joined = logLines(node, 'cluster node joined').map((line) => line.nodeId);
      // A node started after the others may know them from the start (no join event for them); the later ones it hears join.
      const later = nodes.slice(nodes.indexOf(node) + 1).map((other) => other.id);
      expect(joined).toEqual(expect.arrayContaining(later));
      expect((await node.admin('/readyz')).status).toBe(200);
    }
  }, 120_000);

  it('QoS 0/1/2 published on a and c reach subscribers on a, b and c, each message exactly once, subscribed just before (SUBACK) on other nodes', async () => {
    const { nodes } = await threeNodes();
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const subscribers = await Promise.all([a, b, c].map((node) => harness.connect(node, { clientId: `sub-${node.id}` })));
    for (const sub of subscribers) await sub.client.subscribeAsync('q/#', { qos: 2 });
    const pubA = await harness.connect(a, { clientId: 'pub-a' });
    const pubC = await harness.connect(c, { clientId: 'pub-c', protocolVersion: 4 });
    const expected: string[] = [];
    for (const qos of [0, 1, 2] as const) {
      const fromA = range(40, `a-qos${qos}`);
      const fromC = range(40, `c-qos${qos}`);
      await Promise.all([publishAll(pubA, `q/${qos}`, fromA, qos), publishAll(pubC, `q/${qos}`, fromC, qos)]);
      expected.push(...fromA, ...fromC);
    }
    for (const sub of subscribers) await sub.waitFor(expected.length, 'q/');
    await sleep(QUIET_MS);
    for (const sub of subscribers) {
      expect(sorted(sub.payloads('q/'))).toEqual(sorted(expected));
      for (const message of sub.received) expect(message.qos).toBe(Number(message.topic.slice(2)));
    }
  }, 120_000);

  it('QoS 1 to a subscriber that stops reading for 0.8 s: every message arrives once, on the publisher node (control) and on another node', async () => {
    const { nodes } = await threeNodes();
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const pub = await harness.connect(a, { clientId: 'fast-pub' });
    // One reader at a time, so that only its own node's flow control can hold the publisher.
    for (const node of [a, b]) {
      const reader = mosquittoSub(['-h', '127.0.0.1', '-p', String(node.port), '-i', `stalled-${node.id}`, '-q', '1', '-t', `slow/${node.id}/#`]);
      subs.push(reader);
      await reader.subscribed;
      for (let i = 0; !reader.lines.some((line) => line.startsWith('probe')); i++) {
        await pub.client.publishAsync(`slow/${node.id}/probe`, `probe ${i}`, { qos: 1 });
        await sleep(100);
      }
      const probes = reader.lines.length;
      // The reader stops reading (SIGSTOP) for less than the 1 s a single node holds a publisher's
      // PUBACKs for (packages/broker/README.md, Publisher flow control) while 3,000 QoS 1 messages
      // are published: more than a session's queue holds (maxQueuedMessages 1000).
      reader.child.kill('SIGSTOP');
      const payloads = range(3000, `slow-${node.id}`);
      const publishing = publishAll(pub, `slow/${node.id}/x`, payloads, 1);
      await sleep(800);
      reader.child.kill('SIGCONT');
      await publishing;
      await reader.waitForLines(probes + payloads.length, WAIT_MS).catch(() => undefined);
      await sleep(QUIET_MS);
      const got = reader.lines.slice(probes);
      expect({ reader: node.id, count: got.length, missing: payloads.filter((p) => !got.includes(p)).length }).toEqual({ reader: node.id, count: payloads.length, missing: 0 });
      expect(sorted(got)).toEqual(sorted(payloads));
    }
  }, 180_000);

  it('a node with no matching subscriber receives nothing: its Redis inbox stream gets no entry', async () => {
    const { nodes, prefix, admin } = await threeNodes();
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const sub = await harness.connect(b, { clientId: 'only-on-b' });
    await sub.client.subscribeAsync('only-b/#', { qos: 1 });
    // Also a subscriber on c to something else: c has interest, just not in only-b/#.
    const other = await harness.connect(c, { clientId: 'other-on-c' });
    await other.client.subscribeAsync('elsewhere/#', { qos: 1 });
    const pub = await harness.connect(a, { clientId: 'pub' });
    await awaitRoutes(pub, 'only-b/probe', [sub]);
    const inboxB = `${prefix}cluster:inbox:b`;
    const inboxC = `${prefix}cluster:inbox:c`;
    const beforeB = await streamEntriesAdded(admin, inboxB);
    const beforeC = await streamEntriesAdded(admin, inboxC);
    const payloads = range(200, 'b-only');
    for (const payload of payloads) await pub.client.publishAsync('only-b/x', payload, { qos: 1 });
    await sub.waitFor(payloads.length, 'only-b/x');
    await sleep(QUIET_MS);
    expect(sorted(sub.payloads('only-b/x'))).toEqual(sorted(payloads));
    expect(other.received).toEqual([]);
    // The positive control: b's inbox is the key that carried them.
    expect(await streamEntriesAdded(admin, inboxB)).toBeGreaterThan(beforeB);
    expect(await streamEntriesAdded(admin, inboxC)).toBe(beforeC);
  }, 120_000);

  it('$share/g/t/# with one member on each node: N messages published on every node, N delivered in total, each once, every member served', async () => {
    const { nodes } = await threeNodes();
    const members = await Promise.all(nodes.map((node) => harness.connect(node, { clientId: `member-${node.id}` })));
    for (const member of members) await member.client.subscribeAsync('$share/g/t/#', { qos: 1 });
    const publishers = await Promise.all(nodes.map((node) => harness.connect(node, { clientId: `share-pub-${node.id}` })));
    // Probes until each member got one: every node knows every member's node.
    const end = Date.now() + WAIT_MS;
    for (let i = 0; !members.every((member) => member.received.some((m) => m.topic === 't/probe')); i++) {
      if (Date.now() > end) throw new Error(`probes did not reach every member: ${members.map((m) => m.payloads('t/probe').length).join(', ')}`);
      await publishers[i % 3]!.client.publishAsync('t/probe', `probe ${i}`, { qos: 1 });
      await sleep(50);
    }
    const expected: string[] = [];
    for (const [i, publisher] of publishers.entries()) {
      const payloads = range(60, `share-from-${nodes[i]!.id}`);
      expected.push(...payloads);
      await publishAll(publisher, 't/x', payloads, 1);
    }
    await until(
      () => members.reduce((n, member) => n + member.payloads('t/x').length, 0) >= expected.length,
      WAIT_MS,
      () => `${expected.length} deliveries, got ${members.map((m) => m.payloads('t/x').length).join(' + ')}`,
    );
    await sleep(QUIET_MS);
    const delivered = members.flatMap((member) => member.payloads('t/x'));
    expect(sorted(delivered)).toEqual(sorted(expected));
    for (const member of members) expect(member.payloads('t/x').length).toBeGreaterThan(0);
  }, 120_000);

  it('a retained message set on a is seen by a new subscriber on c; cleared on b, a new subscriber on c no longer gets it', async () => {
    const { nodes } = await threeNodes();
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const pubA = await harness.connect(a, { clientId: 'retainer' });
    await pubA.client.publishAsync('r/kept', 'on a', { qos: 1, retain: true });
    const first = await harness.connect(c, { clientId: 'late-c' });
    await first.client.subscribeAsync('r/#', { qos: 1 });
    expect(await first.waitFor(1, 'r/')).toEqual([{ topic: 'r/kept', payload: 'on a', qos: 1, retain: true }]);

    const pubB = await harness.connect(b, { clientId: 'clearer' });
    await pubB.client.publishAsync('r/kept', '', { qos: 1, retain: true });
    // A sentinel retained after the clear, from the same node: once it is seen on c, so is the clear.
    await pubB.client.publishAsync('r/sentinel', 'after the clear', { qos: 1, retain: true });
    await until(
      async () => {
        const probe = await harness.connect(c, { clientId: `probe-${Date.now()}` });
        await probe.client.subscribeAsync('r/sentinel', { qos: 1 });
        await sleep(200);
        probe.client.end(true);
        return probe.received.length > 0;
      },
      WAIT_MS,
      () => 'the sentinel retained on b seen on c',
    );
    const second = await harness.connect(c, { clientId: 'later-c' });
    await second.client.subscribeAsync('r/#', { qos: 1 });
    await second.waitFor(1, 'r/');
    await sleep(QUIET_MS);
    expect(second.received).toEqual([{ topic: 'r/sentinel', payload: 'after the clear', qos: 1, retain: true }]);
  }, 120_000);
});
