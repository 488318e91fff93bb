import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { PersistenceChange, StoredMessage, StoredOutgoing } from '@hato/broker';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerBinary, startRedisServer, useRedisServer } from '@hato/testkit';
import { bucketOf, LAYOUT_VERSION, RedisPersistence, RedisStoreError, redactUrl } from '../src/index.js';
import { encodeBatch } from '../src/redis-persistence.js';

const redis = useRedisServer();
let server: RedisServer;
let admin: Redis;
beforeEach(() => {
  server = redis();
  admin ??= new Redis(server.url);
});
afterAll(async () => {
  await admin?.quit();
});

const fresh = (): string => `t${randomBytes(6).toString('hex')}:`;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function message(topic: string, extra: Partial<StoredMessage> = {}): StoredMessage {
  return { topic, payload: utf8(topic), qos: 1, retain: false, properties: undefined, expiresAt: 0, origin: undefined, ...extra };
}

function outgoing(seq: number, extra: Partial<StoredOutgoing> = {}): StoredOutgoing {
  return { seq, message: message(`t/${seq}`), qos: 1, retain: false, subscriptionIds: undefined, packetId: 0, state: 'queued', ...extra };
}

describe('the test helper', () => {
  it('fails with a message that says how to install redis-server when there is none (never a silent skip)', () => {
    expect(() => redisServerBinary({ PATH: '' }, [])).toThrow(/redis-server not found.*scripts\/setup-test-env\.sh/);
    expect(() => redisServerBinary({ REDIS_SERVER: '/nonexistent/redis-server' })).toThrow(/REDIS_SERVER=\/nonexistent\/redis-server is not an executable/);
  });
});

describe('RedisPersistence', () => {
  it('keeps every key under its prefix, in the layout the README documents', async () => {
    const prefix = fresh();
    const store = await RedisPersistence.open(server.url, { prefix });
    // A client id with the characters of the layout itself cannot reach another session's keys.
    const odd = 'msgs:x';
    await store.commit([
      { op: 'retain', message: message('r/1', { retain: true }) },
      { op: 'session', clientId: odd, expiryInterval: 60, disconnectedAt: 1_700_000_000_000 },
      { op: 'subscribe', clientId: odd, subscription: { topicFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, group: undefined } },
      { op: 'message', clientId: odd, entry: outgoing(1) },
      { op: 'message', clientId: odd, entry: outgoing(2) },
      { op: 'qos2-received', clientId: odd, packetId: 9 },
      { op: 'will', clientId: odd, will: { will: { topic: 'w', payload: utf8('bye'), qos: 1, retain: false }, dueAt: 1_700_000_005_000 } },
    ]);
    await store.commit([{ op: 'message-state', clientId: odd, seq: 2, packetId: 5, state: 'awaiting-puback' }]);
    const keys = (await admin.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(
      [
        'meta',
        'sessions',
        'expiry',
        'wills',
        `retained:${bucketOf('r/1')}`,
        `session:${odd}`,
        `subs:${odd}`,
        `msgs:${odd}`,
        `msgstate:${odd}`,
        `qos2:${odd}`,
      ]
        .map((key) => prefix + key)
        .sort(),
    );
    expect(await admin.hgetall(`${prefix}meta`)).toEqual({ layout: String(LAYOUT_VERSION), retainedBuckets: '64' });
    expect(await admin.smembers(`${prefix}sessions`)).toEqual([odd]);
    expect(await admin.hmget(`${prefix}session:${odd}`, 'x', 'd')).toEqual(['60', '1700000000000']);
    expect(await admin.zscore(`${prefix}expiry`, odd)).toBe(String(1_700_000_000_000 + 60_000));
    expect(await admin.zscore(`${prefix}wills`, odd)).toBe('1700000005000');
    expect((await admin.hkeys(`${prefix}msgs:${odd}`)).sort()).toEqual(['1', '2']);
    expect(await admin.hgetall(`${prefix}msgstate:${odd}`)).toEqual({ '2': '5:1' });
    expect(await admin.smembers(`${prefix}qos2:${odd}`)).toEqual(['9']);
    expect(await admin.hkeys(`${prefix}subs:${odd}`)).toEqual(['a/#']);

    // A connected session has no expiry deadline; an ended one leaves no key but meta.
    await store.commit([{ op: 'session', clientId: odd, expiryInterval: 60, disconnectedAt: 0 }]);
    expect(await admin.zscore(`${prefix}expiry`, odd)).toBeNull();
    await store.commit([{ op: 'end-session', clientId: odd }, { op: 'unretain', topic: 'r/1' }]);
    expect(await admin.keys(`${prefix}*`)).toEqual([`${prefix}meta`]);
    await store.close();
  });

  it('folds a batch: a message recorded and sent is written once in its last state; one recorded and done is not written', () => {
    const batch: PersistenceChange[] = [
      { op: 'message', clientId: 'c', entry: outgoing(1) },
      { op: 'message-state', clientId: 'c', seq: 1, packetId: 7, state: 'awaiting-puback' },
      { op: 'message', clientId: 'c', entry: outgoing(2) },
      { op: 'message-done', clientId: 'c', seq: 2 },
      { op: 'message-state', clientId: 'c', seq: 3, packetId: 8, state: 'awaiting-pubrec' },
    ];
    const args = encodeBatch('p:', batch).map((arg) => (typeof arg === 'string' ? arg : '<bytes>'));
    expect(args).toEqual(['p:', 'M', 'c', '1', '<bytes>', 'D', 'c', '2', 'T', 'c', '3', '8:2']);
  });

  it('a folded batch loads as the batch applied in order', async () => {
    const store = await RedisPersistence.open(server.url, { prefix: fresh() });
    await store.commit([{ op: 'session', clientId: 'c', expiryInterval: 60, disconnectedAt: 0 }, { op: 'message', clientId: 'c', entry: outgoing(2) }]);
    await store.commit([
      { op: 'message', clientId: 'c', entry: outgoing(1) },
      { op: 'message-state', clientId: 'c', seq: 1, packetId: 7, state: 'awaiting-puback' },
      { op: 'message', clientId: 'c', entry: outgoing(3) },
      { op: 'message-done', clientId: 'c', seq: 3 },
      { op: 'message-state', clientId: 'c', seq: 2, packetId: 8, state: 'awaiting-pubrec' },
      { op: 'message-state', clientId: 'c', seq: 2, packetId: 8, state: 'awaiting-pubcomp' },
    ]);
    const [session] = (await store.load()).sessions;
    expect(session!.messages.map((m) => [m.seq, m.packetId, m.state])).toEqual([
      [1, 7, 'awaiting-puback'],
      [2, 8, 'awaiting-pubcomp'],
    ]);
    await store.close();
  });

  it('loads one session alone (what a node taking a session over reads)', async () => {
    const store = await RedisPersistence.open(server.url, { prefix: fresh() });
    await store.commit([
      { op: 'session', clientId: 'a', expiryInterval: 60, disconnectedAt: 5 },
      { op: 'message', clientId: 'a', entry: outgoing(1) },
      { op: 'qos2-received', clientId: 'a', packetId: 3 },
      { op: 'session', clientId: 'b', expiryInterval: 60, disconnectedAt: 0 },
    ]);
    const a = await store.loadSession('a');
    expect(a).toEqual((await store.load()).sessions.find((s) => s.clientId === 'a'));
    expect(a?.messages.map((m) => m.seq)).toEqual([1]);
    expect(await store.loadSession('nobody')).toBeUndefined();
    await store.close();
  });

  it('refuses a Redis it cannot reach, naming the URL without its password', async () => {
    const gone = await startRedisServer();
    const url = `redis://user:s3cret@127.0.0.1:${gone.port}/2`;
    await gone.stop();
    const error = await RedisPersistence.open(url, { redis: { retryStrategy: () => null } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RedisStoreError);
    expect((error as Error).message).toContain(`redis://user:***@127.0.0.1:${gone.port}/2`);
    expect((error as Error).message).not.toContain('s3cret');
    expect(redactUrl('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(redactUrl('redis://h:1/3')).toBe('redis://h:1/3');
  });

  it('refuses keys of another layout version under its prefix', async () => {
    const prefix = fresh();
    await admin.hset(`${prefix}meta`, 'layout', String(LAYOUT_VERSION + 1), 'retainedBuckets', '64');
    const error = await RedisPersistence.open(server.url, { prefix }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RedisStoreError);
    expect((error as Error).message).toMatch(new RegExp(`^Redis store ${server.url}: .*layout version ${LAYOUT_VERSION + 1}`));
  });

  it('a malformed record is an error naming the store, never a store that loads empty', async () => {
    const prefix = fresh();
    const store = await RedisPersistence.open(server.url, { prefix });
    await store.commit([{ op: 'retain', message: message('ok', { retain: true }) }]);
    await admin.hset(`${prefix}retained:${bucketOf('bad')}`, 'bad', Buffer.from([1, 1]));
    // Retained messages are decoded as the broker takes them: the error comes from the iteration.
    const state = await store.load();
    expect(() => [...state.retained]).toThrow(new RegExp(`^Redis store ${server.url}: cannot be read: record truncated`));
    await store.close();
  });

  it('loaded payloads are exact-size copies of their own (no view into a reply or a pooled slab)', async () => {
    const store = await RedisPersistence.open(server.url, { prefix: fresh() });
    await store.commit([
      { op: 'retain', message: message('r', { retain: true, payload: utf8('retained') }) },
      { op: 'session', clientId: 'c', expiryInterval: 60, disconnectedAt: 0 },
      { op: 'message', clientId: 'c', entry: outgoing(1) },
      { op: 'will', clientId: 'c', will: { will: { topic: 'w', payload: utf8('will'), qos: 0, retain: false }, dueAt: 1 } },
    ]);
    const state = await store.load();
    const [session] = state.sessions;
    const payloads = [...[...state.retained].map((m) => m.payload), session!.messages[0]!.message.payload, session!.will!.will.payload];
    for (const payload of payloads) expect(payload.byteLength).toBe(payload.buffer.byteLength);
    await store.close();
  });

  it('goes on after Redis restarts: a commit while it is down fails, the next ones reach it (script loaded again)', async () => {
    const own = await startRedisServer({ appendfsync: 'always' });
    const dir = own.dir;
    let restarted: RedisServer | undefined;
    try {
      const store = await RedisPersistence.open(own.url, { redis: { retryStrategy: () => 50 } });
      await store.commit([{ op: 'retain', message: message('before', { retain: true }) }]);
      await own.kill();
      await expect(store.commit([{ op: 'retain', message: message('down', { retain: true }) }])).rejects.toThrow();
      restarted = await startRedisServer({ dir, port: own.port, appendfsync: 'always' });
      await store.commit([{ op: 'retain', message: message('after', { retain: true }) }]);
      expect([...(await store.load()).retained].map((m) => m.topic).sort()).toEqual(['after', 'before']);
      await store.close();
    } finally {
      await restarted?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses a client it is given and leaves it open at close', async () => {
    const client = new Redis(server.url);
    const store = await RedisPersistence.open(client, { prefix: fresh() });
    await store.commit([{ op: 'retain', message: message('mine', { retain: true }) }]);
    expect([...(await store.load()).retained].map((m) => m.topic)).toEqual(['mine']);
    await store.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('reports the server’s append-only settings', async () => {
    const store = await RedisPersistence.open(server.url, { prefix: fresh() });
    expect(store.durability).toEqual({ appendonly: true, appendfsync: 'everysec' });
    await store.close();
  });
});
