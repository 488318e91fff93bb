// Several `hato broker --cluster` processes (the built CLI) on one real redis-server, MQTT.js
// clients on them, and the waits the cluster tests share. Every node gets a config file in a
// temporary directory (node id, key prefix, heartbeat), a TCP port and an admin port chosen at
// run time; the Redis database and key prefix are the test's own, so tests never see each other.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parsePrometheus } from '@hato/testkit';
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { HATO_CLI, type HatoProcess, startHato } from '../client-support/hato-cli.js';

/** Generous for a loaded 2-core machine; no test asserts a timing. */
export const WAIT_MS = 30_000;

export interface NodeOptions {
  /** `redis://127.0.0.1:PORT/DB`. */
  url: string;
  id: string;
  prefix: string;
  heartbeatMs?: number;
  deadAfterMs?: number;
}

export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly adminPort: number;
  readonly process: HatoProcess;
  /** The listening line. */
  readonly listening: Record<string, unknown>;
  admin(path: string): Promise<{ status: number; text: string }>;
  metrics(): Promise<Map<string, number>>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/** Fails (never skips) when the CLI was not built: these tests run the real process. */
export function requireBuiltCli(): void {
  if (!existsSync(HATO_CLI)) throw new Error(`${HATO_CLI} is missing: run npm run build first (the cluster tests run the built hato CLI)`);
}


/** Nodes, clients and directories of one test, all ended by `cleanup()`. */
export class ClusterHarness {
  readonly nodes: ClusterNode[] = [];
  readonly clients: MqttClient[] = [];
  private readonly dirs: string[] = [];

  /** Starts one node and waits for its listening line. */
  async startNode(options: NodeOptions): Promise<ClusterNode> {
    const dir = mkdtempSync(join(tmpdir(), `hato-cluster-${options.id}-`));
    this.dirs.push(dir);
    const file = join(dir, 'hato.json');
    const cluster: Record<string, unknown> = { url: options.url, nodeId: options.id, prefix: options.prefix };
    if (options.heartbeatMs !== undefined) cluster.heartbeatMs = options.heartbeatMs;
    if (options.deadAfterMs !== undefined) cluster.deadAfterMs = options.deadAfterMs;
    writeFileSync(file, JSON.stringify({ cluster, admin: { port: 0, host: '127.0.0.1' } }));
    const process = startHato(['-c', file, '--host', '127.0.0.1', '--port', '0', '--no-ws', '--sys-interval', '0']);
    const listening = await process.waitFor(/hato broker listening/, 2 * WAIT_MS);
    const adminPort = listening.adminPort as number;
    const admin = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${adminPort}${path}`);
      return { status: response.status, text: await response.text() };
    };
    const node: ClusterNode = {
      id: options.id,
      port: listening.port as number,
      adminPort,
      process,
      listening,
      admin,
      metrics: async () => parsePrometheus((await admin('/metrics')).text),
      kill9: async () => {
        process.kill('SIGKILL');
        await process.exited;
      },
    };
    this.nodes.push(node);
    return node;
  }

  /** Starts `ids.length` nodes and waits until each sees all the others with its link up. */
  async startCluster(ids: readonly string[], options: Omit<NodeOptions, 'id'>): Promise<ClusterNode[]> {
    const nodes: ClusterNode[] = [];
    for (const id of ids) nodes.push(await this.startNode({ ...options, id }));
    await waitForMesh(nodes, nodes.length);
    return nodes;
  }

  /** An MQTT.js client on `node`, its messages and DISCONNECT collected from the first packet on. */
  async connect(node: ClusterNode, options: IClientOptions = {}): Promise<Peer> {
    const client = mqtt.connect({ host: '127.0.0.1', port: node.port, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: WAIT_MS, ...options });
    this.clients.push(client);
    const peer = new Peer(client);
    peer.connack = await new Promise<IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error(`connection to node ${node.id} closed before CONNACK`)));
    });
    return peer;
  }

  async cleanup(): Promise<void> {
    for (const client of this.clients.splice(0)) client.end(true);
    for (const node of this.nodes.splice(0)) {
      node.process.kill('SIGKILL');
      await node.process.exited;
    }
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
}

/** A client and what it received. */
export class Peer {
  readonly received: Received[] = [];
  connack: IConnackPacket | undefined;
  disconnect: IDisconnectPacket | undefined;
  closed = false;

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet: IPublishPacket) => this.received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
    client.on('disconnect', (packet) => {
      this.disconnect = packet;
    });
    client.on('close', () => {
      this.closed = true;
    });
  }

  payloads(topicPrefix = ''): string[] {
    return this.received.filter((m) => m.topic.startsWith(topicPrefix)).map((m) => m.payload);
  }

  /** Waits until `n` messages under `topicPrefix` arrived (or more: a duplicate shows up in the assertions). */
  waitFor(n: number, topicPrefix = '', ms = WAIT_MS): Promise<Received[]> {
    return until(() => this.received.filter((m) => m.topic.startsWith(topicPrefix)).length >= n, ms, () => `${n} messages under '${topicPrefix}', got ${JSON.stringify(this.payloads(topicPrefix))}`).then(() =>
      this.received.filter((m) => m.topic.startsWith(topicPrefix)),
    );
  }

  /** Destroys the socket without DISCONNECT: the broker sees a network failure (the will fires). */
  destroySocket(): void {
    this.client.stream.destroy();
  }
}

/**
 * Publishes `payloads` on `topic`, at most 10 unacknowledged at a time (under the broker's
 * Receive Maximum, which MQTT.js does not enforce on its own).
 */
export async function publishAll(peer: Peer, topic: string, payloads: readonly string[], qos: 0 | 1 | 2): Promise<void> {
  for (let i = 0; i < payloads.length; i += 10) {
    await Promise.all(payloads.slice(i, i + 10).map((payload) => peer.client.publishAsync(topic, payload, { qos })));
  }
}

/** Polls `check` every 50 ms until true; throws after `ms` with `what()`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what()}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A quiet period before asserting that something did NOT happen (a duplicate, a will that must
 * not fire): long enough for the cluster's batches and heartbeats to have gone round.
 */
export const QUIET_MS = 1500;

/** Until every node has its link up and sees `count` live nodes, itself included. */
export async function waitForMesh(nodes: readonly ClusterNode[], count: number, ms = WAIT_MS): Promise<void> {
  let last = '';
  await until(
    async () => {
      const figures = await Promise.all(nodes.map((node) => node.metrics()));
      last = figures.map((m, i) => `${nodes[i]!.id}: up=${m.get('hato_cluster_up')} nodes=${m.get('hato_cluster_nodes')}`).join(', ');
      return figures.every((m) => m.get('hato_cluster_up') === 1 && m.get('hato_cluster_nodes') === count);
    },
    ms,
    () => `every node up and seeing ${count} nodes (${last})`,
  );
}

/**
 * Publishes `probe` payloads on `topic` from `publisher` until every peer in `peers` got one:
 * the subscriptions are known cluster-wide. The probes stay in `received` (filter by topic).
 */
export async function awaitRoutes(publisher: Peer, topic: string, peers: readonly Peer[], ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; ; i++) {
    if (peers.every((peer) => peer.received.some((m) => m.topic === topic))) return;
    if (Date.now() > end) throw new Error(`probes on ${topic} did not reach every subscriber within ${ms} ms`);
    await publisher.client.publishAsync(topic, `probe ${i}`, { qos: 0 });
    await sleep(100);
  }
}

/** The entries ever added to a Redis stream (XINFO STREAM entries-added; 0 when it does not exist). */
export async function streamEntriesAdded(redis: Redis, key: string): Promise<number> {
  try {
    const info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
    const at = info.indexOf('entries-added');
    return Number(info[at + 1]);
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return 0;
    throw err;
  }
}

/** An ioredis client on one database. */
export function redisClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Sorted copy, for comparing delivered payloads as sets with their multiplicity. */
export const sorted = (items: readonly string[]): string[] => [...items].sort();

/** Lines a node logged with `msg` (its pino JSON lines). */
export function logLines(node: ClusterNode, msg: string): Record<string, unknown>[] {
  return node.process.lines.filter((line) => line.msg === msg);
}
