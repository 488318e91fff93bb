/**
 * Durable state under `kill -9` (issue 10), with real processes: `hato broker` is killed with
 * SIGKILL at random points while a publisher sends N QoS 1 and N QoS 2 messages to an offline
 * persistent subscriber, started again on the same store, killed again while the subscriber
 * drains its queue. Every message the publisher had acknowledged (PUBACK / PUBREC) must be
 * delivered; QoS 2 exactly once. Also a retained message and a will with delay across a kill.
 *
 * Stores are a list: another adapter adds one entry (its CLI arguments, and a server to start).
 * Seeded: HATO_CRASH_SEED=n replays a run (the seed is in each test's name).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type RedisServer, startRedisServer } from '@hato/testkit';
import type * as mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, bundleCli, type CliBundle, startBrokerProcess } from './support/cli-process.js';
import { Peer, type PeerOptions, type Version } from './support/mqtt-peer.js';

interface CrashStore {
  readonly name: string;
  /** `hato broker` arguments for a store kept in `dir` (a fresh temp dir per test). */
  args(dir: string): string[];
  /** A server the store lives in, started before the store's tests and stopped after them. */
  server?: { start(): Promise<void>; stop(): Promise<void> };
  /** Before every start but the first of a test, hato having just been killed (the store may be killed too). */
  beforeRestart?(dir: string): Promise<void>;
}

/**
 * Redis: one redis-server for the store's tests, each test in a database of its own (the
 * `--persistence redis://HOST:PORT/DB` flag) or under a key prefix of its own (the config
 * file's `persistence: { type: redis, url, prefix }`). With `killRedis`, the
 * server fsyncs before each reply (appendfsync always) and is killed with kill -9 too at every
 * kill of hato, then started again on its append-only file.
 */
function redisStore(name: string, killRedis: boolean): CrashStore {
  let redis: RedisServer | undefined;
  let unavailable: unknown;
  let dir = '';
  const databases = new Map<string, number>();
  return {
    name,
    args: (testDir) => {
      // No redis-server: each test fails with the reason (not skipped, as a failing beforeAll would have them).
      if (redis === undefined) throw unavailable;
      if (!killRedis) {
        // The flag, with a database of the test's own (16 in a default redis-server).
        let db = databases.get(testDir);
        if (db === undefined) databases.set(testDir, (db = databases.size + 1));
        return ['--persistence', `${redis!.url}/${db}`];
      }
      // The config file's key, with a key prefix of the test's own.
      const file = join(testDir, 'hato.json');
      writeFileSync(file, JSON.stringify({ persistence: { type: 'redis', url: redis!.url, prefix: `${basename(testDir)}:` } }));
      return ['--config', file];
    },
    server: {
      start: async () => {
        dir = mkdtempSync(join(tmpdir(), 'hato-crash-redis-'));
        try {
          redis = await startRedisServer({ dir, appendfsync: killRedis ? 'always' : 'everysec' });
        } catch (err) {
          unavailable = err;
        }
      },
      stop: async () => {
        await redis?.stop();
        if (dir !== '') rmSync(dir, { recursive: true, force: true });
      },
    },
    beforeRestart: killRedis
      ? async () => {
          const port = redis!.port;
          await redis!.kill();
          redis = await startRedisServer({ dir, port, appendfsync: 'always' });
        }
      : undefined,
  };
}

const STORES: CrashStore[] = [
  { name: 'sqlite', args: (dir) => ['--persistence', `sqlite:${join(dir, 'hato.db')}`] },
  { name: 'sqlite (the default: --data-dir DIR → DIR/hato.db)', args: (dir) => ['--data-dir', dir] },
  redisStore('redis (appendfsync everysec)', false),
  redisStore('redis (appendfsync always; redis-server killed -9 with hato)', true),
];

const N = 150;
const SEED = Number(process.env.HATO_CRASH_SEED ?? Date.now() % 100_000);

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sessionOf = (clientId: string, version: Version): PeerOptions => ({ clientId, version, clean: false, sessionExpiry: version === 5 ? 3600 : undefined });

/** Connects, trying again while the broker restarts. */
async function connectRetry(port: () => number, options: PeerOptions): Promise<Peer> {
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return (await Peer.connect(port(), options)).peer;
    } catch (err) {
      last = err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw last;
}

type Status = 'new' | 'sent' | 'pubrec' | 'done';

/**
 * A QoS 1/2 publisher that survives restarts: each message has its own packet id; on each
 * connection, unacknowledged PUBLISHes go again (DUP) and PUBRELs for PUBREC'd ones.
 */
class Publisher {
  readonly status: Status[];
  /** Messages the broker acknowledged (PUBACK, or PUBREC for QoS 2). */
  readonly acked = new Set<number>();
  private next = 0;
  private inflight = 0;
  private peer: Peer | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly count: number) {
    this.status = new Array<Status>(count * 2).fill('new');
  }

  get done(): boolean {
    return this.status.every((s) => s === 'done');
  }

  private publish(i: number, dup: boolean): void {
    const qos = i < this.count ? 1 : 2;
    this.peer!.send({ cmd: 'publish', topic: `crash/${qos}`, payload: Buffer.from(String(i)), qos, retain: false, dup, messageId: i + 1 });
  }

  attach(peer: Peer): void {
    this.peer = peer;
    this.inflight = 0;
    peer.listen((packet) => this.onPacket(packet));
    peer.once('close', () => this.wake?.());
    for (let i = 0; i < this.status.length; i++) {
      if (this.status[i] === 'sent') {
        this.inflight++;
        this.publish(i, true);
      } else if (this.status[i] === 'pubrec') {
        this.inflight++;
        peer.send({ cmd: 'pubrel', messageId: i + 1 });
      }
    }
    this.fill();
  }

  private fill(): void {
    while (this.inflight < 16 && this.next < this.status.length) {
      const i = this.next++;
      this.status[i] = 'sent';
      this.inflight++;
      this.publish(i, false);
    }
  }

  private onPacket(packet: mqttPacket.Packet): void {
    const i = (packet as { messageId?: number }).messageId! - 1;
    if (packet.cmd === 'puback' && this.status[i] === 'sent') {
      this.acked.add(i);
      this.status[i] = 'done';
      this.inflight--;
    } else if (packet.cmd === 'pubrec' && this.status[i] === 'sent') {
      this.acked.add(i);
      this.status[i] = 'pubrec';
      this.peer!.send({ cmd: 'pubrel', messageId: i + 1 });
    } else if (packet.cmd === 'pubcomp' && this.status[i] === 'pubrec') {
      this.status[i] = 'done';
      this.inflight--;
    } else return;
    this.fill();
    this.wake?.();
  }

  /** Resolves once `acked` holds `count` messages, all are done, or the connection closed. */
  until(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.acked.size >= count || this.done || this.peer!.closed) {
          this.wake = undefined;
          resolve();
        }
      };
      this.wake = check;
      check();
    });
  }
}

/** A QoS 1/2 subscriber as the spec has it (method B): a QoS 2 id is held from PUBLISH to PUBREL, across reconnects. */
class Receiver {
  /** Deliveries to the application, per message number. */
  readonly deliveries = new Map<number, number>();
  private readonly held = new Set<number>();
  private wake: (() => void) | undefined;
  private peer: Peer | undefined;

  attach(peer: Peer): void {
    this.peer = peer;
    peer.listen((packet) => {
      if (packet.cmd === 'publish') {
        const id = packet.messageId!;
        const n = Number(packet.payload.toString());
        if (packet.qos === 2) {
          if (!this.held.has(id)) {
            this.held.add(id);
            this.deliver(n);
          }
          peer.send({ cmd: 'pubrec', messageId: id });
        } else {
          this.deliver(n);
          if (packet.qos === 1) peer.send({ cmd: 'puback', messageId: id });
        }
      } else if (packet.cmd === 'pubrel') {
        this.held.delete(packet.messageId!);
        peer.send({ cmd: 'pubcomp', messageId: packet.messageId! });
      }
      this.wake?.();
    });
    peer.once('close', () => this.wake?.());
  }

  private deliver(n: number): void {
    this.deliveries.set(n, (this.deliveries.get(n) ?? 0) + 1);
  }

  until(distinct: number, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`${this.deliveries.size} of ${distinct} messages delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (this.deliveries.size >= distinct || this.peer!.closed) {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        }
      };
      this.wake = check;
      check();
    });
  }
}

let bundle: CliBundle;
beforeAll(async () => {
  bundle = await bundleCli();
}, 60_000);
afterAll(() => bundle?.dispose());

describe.each(STORES)('kill -9 with $name', (store) => {
  if (store.server !== undefined) {
    beforeAll(() => store.server!.start(), 30_000);
    afterAll(() => store.server!.stop());
  }

  const withBroker = async (run: (start: () => Promise<BrokerProcess>) => Promise<void>): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), 'hato-crash-'));
    const started: BrokerProcess[] = [];
    try {
      await run(async () => {
        if (started.length > 0) await store.beforeRestart?.(dir);
        const broker = await startBrokerProcess(bundle, store.args(dir));
        started.push(broker);
        return broker;
      });
    } finally {
      for (const broker of started) await broker.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  for (const version of [4, 5] as const) {
    it(`${version === 4 ? '3.1.1 clean session 0' : '5.0 Session Expiry > 0'}: every acknowledged QoS 1/2 message is delivered, QoS 2 exactly once, across kills while publishing and while draining (seed ${SEED})`, async () => {
      const rand = random(SEED + version);
      await withBroker(async (start) => {
        let broker = await start();
        const sub = (await Peer.connect(broker.port, sessionOf('sub', version))).peer;
        sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'crash/#', qos: 2 }] });
        await sub.next('suback');
        await sub.disconnect();

        const publisher = new Publisher(N);
        const kills = [rand(), rand(), rand()].map((r) => 1 + Math.floor(r * (2 * N - 1))).sort((a, b) => a - b);
        const killedAt: number[] = [];
        while (!publisher.done) {
          const peer = await connectRetry(() => broker.port, sessionOf('pub', version));
          publisher.attach(peer);
          const at = kills.shift();
          await publisher.until(at ?? Number.POSITIVE_INFINITY);
          if (at !== undefined && !publisher.done) {
            killedAt.push(publisher.acked.size);
            await broker.kill9();
            broker = await start();
          } else if (peer.closed) throw new Error(`the publisher's connection closed: ${broker.output()}`);
        }
        expect(publisher.acked.size).toBe(2 * N);

        const receiver = new Receiver();
        const drainKill = 1 + Math.floor(rand() * (2 * N - 1));
        receiver.attach(await connectRetry(() => broker.port, sessionOf('sub', version)));
        await receiver.until(drainKill);
        killedAt.push(-receiver.deliveries.size);
        await broker.kill9();
        broker = await start();
        receiver.attach(await connectRetry(() => broker.port, sessionOf('sub', version)));
        await receiver.until(2 * N);
        // Anything sent twice would come now: the queue is empty, in-flight ones are re-sent at once.
        await new Promise((resolve) => setTimeout(resolve, 500));

        const missing = [...publisher.acked].filter((n) => !receiver.deliveries.has(n));
        const qos2Duplicates = [...receiver.deliveries].filter(([n, times]) => n >= N && times > 1);
        console.log(
          `kill -9 ${store.name} v${version} seed ${SEED}: killed at ${killedAt.join(', ')} (acked; negative: delivered); acked ${publisher.acked.size}, delivered ${receiver.deliveries.size} distinct, QoS 1 re-deliveries ${[...receiver.deliveries].filter(([n, t]) => n < N && t > 1).length}, QoS 2 duplicates ${qos2Duplicates.length}`,
        );
        expect(missing).toEqual([]);
        expect(qos2Duplicates).toEqual([]);
      });
    }, 120_000);
  }

  it('a retained message acknowledged just before a kill -9 is there after the restart', async () => {
    await withBroker(async (start) => {
      let broker = await start();
      const pub = (await Peer.connect(broker.port, { clientId: 'r-pub', version: 4, clean: true })).peer;
      pub.send({ cmd: 'publish', topic: 'state/door', payload: Buffer.from('open'), qos: 1, retain: true, dup: false, messageId: 7 });
      await pub.next('puback');
      await broker.kill9();
      broker = await start();
      const sub = (await Peer.connect(broker.port, { clientId: 'r-sub', version: 4, clean: true })).peer;
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'state/+', qos: 1 }] });
      const message = await sub.next<mqttPacket.IPublishPacket>('publish');
      expect(message.topic).toBe('state/door');
      expect(message.payload.toString()).toBe('open');
      expect(message.retain).toBe(true);
      sub.destroy();
    });
  }, 60_000);

  it('a will waiting for its delay when the broker is killed is published after the restart, once', async () => {
    await withBroker(async (start) => {
      let broker = await start();
      // The watcher's persistent session is subscribed before the kill, so a will that comes
      // due while the broker restarts (or before the watcher is back) waits for it in its queue.
      const early = (await Peer.connect(broker.port, { clientId: 'watcher', version: 5, clean: true, sessionExpiry: 600 })).peer;
      early.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 1 }] });
      await early.next('suback');
      early.destroy();
      const will = { topic: 'wills/device', payload: Buffer.from('gone'), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } };
      const device = (await Peer.connect(broker.port, { clientId: 'device', version: 5, clean: true, sessionExpiry: 60, will })).peer;
      device.destroy(); // no DISCONNECT: the will is due in 2 s, and stored
      await new Promise((resolve) => setTimeout(resolve, 300));
      await broker.kill9();
      broker = await start();
      const watcher = (await Peer.connect(broker.port, { clientId: 'watcher', version: 5, clean: false, sessionExpiry: 600 })).peer;
      const wills: string[] = [];
      watcher.listen((packet) => {
        if (packet.cmd !== 'publish') return;
        wills.push(packet.payload.toString());
        if (packet.qos === 1) watcher.send({ cmd: 'puback', messageId: packet.messageId! });
      });
      const deadline = Date.now() + 10_000;
      while (wills.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(wills).toEqual(['gone']);
      watcher.destroy();
    });
  }, 60_000);
});
