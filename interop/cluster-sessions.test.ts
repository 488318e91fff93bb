// Issue 11, sessions and wills across three `hato broker --cluster` processes on one real
// redis-server: a client reconnecting to another node takes its session over (the old
// connection gets DISCONNECT 0x8E, its queued QoS 1 messages follow it), and a will fires once
// cluster-wide when its client's socket is destroyed, with and without a 5.0 will delay.
import { useRedisServer } from '@hato/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awaitRoutes, ClusterHarness, type ClusterNode, type Peer, QUIET_MS, requireBuiltCli, sleep, sorted, until, WAIT_MS } from './cluster-support/cluster.js';

const redis = useRedisServer();
const harness = new ClusterHarness();
let testNumber = 0;

beforeAll(() => requireBuiltCli());
afterEach(() => harness.cleanup());

async function threeNodes(): Promise<[ClusterNode, ClusterNode, ClusterNode]> {
  testNumber++;
  const nodes = await harness.startCluster(['a', 'b', 'c'], { url: `${redis().url}/${testNumber % 16}`, prefix: `sess${testNumber}:` });
  return nodes as [ClusterNode, ClusterNode, ClusterNode];
}

/** Watchers of `will/#` on every node, each known to be reachable from every node. */
async function watchers(nodes: readonly ClusterNode[]): Promise<Peer[]> {
  const peers = await Promise.all(nodes.map((node) => harness.connect(node, { clientId: `watch-${node.id}` })));
  for (const peer of peers) await peer.client.subscribeAsync('will/#', { qos: 1 });
  for (const node of nodes) {
    const probe = await harness.connect(node, { clientId: `probe-${node.id}` });
    await awaitRoutes(probe, 'will/probe', peers);
    probe.client.end(true);
  }
  return peers;
}

const range = (n: number, label: string) => Array.from({ length: n }, (_, i) => `${label}-${i}`);
const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };

describe('cluster of 3 hato processes: sessions and wills', () => {
  it('takeover: the same 5.0 client id connecting to b closes a (DISCONNECT 0x8E); its session and the QoS 1 messages queued while offline follow it', async () => {
    const [a, b, c] = await threeNodes();
    const first = await harness.connect(a, { clientId: 'mover', ...persistent });
    expect(first.connack?.sessionPresent).toBe(false);
    await first.client.subscribeAsync('mv/#', { qos: 1 });
    const pub = await harness.connect(c, { clientId: 'mover-pub' });
    await awaitRoutes(pub, 'mv/probe', [first]);

    // Connected on a, the same id connects to b: a's connection is taken over.
    const second = await harness.connect(b, { clientId: 'mover', ...persistent });
    expect(second.connack?.sessionPresent).toBe(true);
    await until(() => first.closed, WAIT_MS, () => 'the connection on a closed');
    expect(first.disconnect?.reasonCode).toBe(0x8e);
    // The subscription moved with the session: published on c, it reaches the client on b.
    const live = range(20, 'live');
    for (const payload of live) await pub.client.publishAsync('mv/live', payload, { qos: 1 });
    await second.waitFor(live.length, 'mv/live');

    // Offline (normal DISCONNECT, session kept), messages queue; the client comes back on a.
    await second.client.endAsync();
    const queued = range(30, 'queued');
    for (const payload of queued) await pub.client.publishAsync('mv/queued', payload, { qos: 1 });
    const third = await harness.connect(a, { clientId: 'mover', ...persistent });
    expect(third.connack?.sessionPresent).toBe(true);
    await third.waitFor(queued.length, 'mv/queued');
    await sleep(QUIET_MS);
    expect(sorted(third.payloads('mv/queued'))).toEqual(sorted(queued));
    expect(sorted(second.payloads('mv/live'))).toEqual(sorted(live));
    expect(first.payloads('mv/live')).toEqual([]);
    expect(third.closed).toBe(false);
  }, 120_000);

  it('a session left offline on a: the QoS 1 messages queued meanwhile follow it when it reconnects on b', async () => {
    const [a, b, c] = await threeNodes();
    // A session on a that is offline: its queue lives on a's side of the cluster until it comes back elsewhere.
    const setup = await harness.connect(a, { clientId: 'roamer', ...persistent });
    await setup.client.subscribeAsync('roam/#', { qos: 1 });
    const pub = await harness.connect(c, { clientId: 'roam-pub' });
    await awaitRoutes(pub, 'roam/probe', [setup]);
    await setup.client.endAsync();
    const queued = range(30, 'roam');
    for (const payload of queued) await pub.client.publishAsync('roam/x', payload, { qos: 1 });
    const moved = await harness.connect(b, { clientId: 'roamer', ...persistent });
    expect(moved.connack?.sessionPresent).toBe(true);
    await moved.waitFor(queued.length, 'roam/x');
    await sleep(QUIET_MS);
    expect(sorted(moved.payloads('roam/x'))).toEqual(sorted(queued));
  }, 120_000);

  it('a will fires once cluster-wide when its client socket is destroyed (3.1.1 and 5.0)', async () => {
    const nodes = await threeNodes();
    const peers = await watchers(nodes);
    for (const [i, version] of [4, 5].entries()) {
      const node = nodes[i]!;
      const leaver = await harness.connect(node, {
        clientId: `leaver-${version}`,
        protocolVersion: version as 4 | 5,
        will: { topic: `will/leaver-${version}`, payload: Buffer.from(`gone ${version}`), qos: 1, retain: false },
      });
      leaver.destroySocket();
    }
    for (const peer of peers) await peer.waitFor(2, 'will/leaver');
    await sleep(QUIET_MS);
    for (const peer of peers) expect(sorted(peer.payloads('will/leaver'))).toEqual(['gone 4', 'gone 5']);
  }, 120_000);

  it('a will with a 5.0 will delay fires once cluster-wide after the delay; reconnecting on another node within the delay cancels it [MQTT-3.1.3-9]', async () => {
    const nodes = await threeNodes();
    const [a, , c] = nodes;
    const peers = await watchers(nodes);
    const willing = (clientId: string, delay: number) => ({
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: `will/${clientId}`, payload: Buffer.from(`${clientId} gone`), qos: 1 as const, retain: false, properties: { willDelayInterval: delay } },
    });
    const late = await harness.connect(a, willing('delayed', 2));
    // A long delay for the one that comes back, so that its reconnection is surely within it.
    const back = await harness.connect(a, willing('comes-back', 10));
    late.destroySocket();
    back.destroySocket();
    // Within the delay, 'comes-back' reconnects on c: its will must never be sent.
    const returned = await harness.connect(c, { ...willing('comes-back', 10), will: undefined });
    expect(returned.connack?.sessionPresent).toBe(true);
    for (const peer of peers) await peer.waitFor(1, 'will/delayed');
    // Past the delay of both (10 s from the socket's end), with room for the heartbeats and batches.
    await sleep(10_000 + QUIET_MS);
    for (const peer of peers) {
      expect(peer.payloads('will/delayed')).toEqual(['delayed gone']);
      expect(peer.payloads('will/comes-back')).toEqual([]);
    }
  }, 120_000);
});
