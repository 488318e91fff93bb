import type { LoadOptions, Persistence, PersistenceChange, SessionRecord, SessionSubscription, StoredMessage, StoredOutgoing, StoredState, StoredWill } from '@hato/broker';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeMessage, decodeOutgoing, decodeState, decodeSubscription, decodeWill, encodeMessage, encodeOutgoing, encodeState, encodeSubscription, encodeWill } from './codec.js';
import { COMMIT_SCRIPT } from './scripts.js';
import { bucketOf, DEFAULT_PREFIX, LAYOUT_VERSION, RETAINED_BUCKETS, redisKeys } from './keys.js';

export interface RedisPersistenceOptions {
  /** Prepended to every key (default `hato:`), so several brokers or other data can share a database. */
  prefix?: string;
  /** More ioredis options (TLS, password, timeouts); the URL's host, port, db and credentials win. */
  redis?: RedisOptions;
}

/** What Redis says about its durability (see the README): read at open, undefined when CONFIG is not allowed. */
export interface RedisDurability {
  readonly appendonly: boolean | undefined;
  readonly appendfsync: string | undefined;
}

/** The store cannot be used: Redis unreachable, keys of another layout, a malformed record. Names the URL (credentials hidden). */
export class RedisStoreError extends Error {
  override readonly name = 'RedisStoreError';
  readonly url: string;

  constructor(url: string, message: string, cause?: unknown) {
    super(`Redis store ${url}: ${message}`, { cause });
    this.url = url;
  }
}

type CommitCommand = (args: (string | Buffer)[]) => Promise<unknown>;

/** Sessions are read back in pipelines of this many. */
const SESSION_CHUNK = 256;

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, auth: string) => `//${auth.includes(':') ? `${auth.slice(0, auth.indexOf(':'))}:***` : '***'}@`);
}

/**
 * Persistence on Redis (ioredis): the key layout is in the README. Each commit batch is one
 * Lua script run (atomic: all of the batch or none of it); `load()` reads the retained
 * buckets in parallel and the sessions in pipelines. Open with `RedisPersistence.open(url)`.
 */
export class RedisPersistence implements Persistence {
  readonly url: string;
  readonly prefix: string;
  /** The server's append-only settings when the store was opened. */
  readonly durability: RedisDurability;
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly commitCommand: CommitCommand;
  private closed = false;

  private constructor(url: string, redis: Redis, ownsClient: boolean, prefix: string, durability: RedisDurability) {
    this.url = url;
    this.redis = redis;
    this.ownsClient = ownsClient;
    this.prefix = prefix;
    this.durability = durability;
    this.keys = redisKeys(prefix);
    redis.defineCommand('hatoCommit', { lua: COMMIT_SCRIPT, numberOfKeys: 0 });
    this.commitCommand = (redis as unknown as { hatoCommit: CommitCommand }).hatoCommit.bind(redis);
  }

  /**
   * Connects to `redis://[user:password@]HOST:PORT[/DB]` (or `rediss://` for TLS), or uses a
   * connected ioredis client (not closed by `close()`), and checks the layout version.
   * Throws RedisStoreError when Redis cannot be reached or holds another layout under the prefix.
   */
  static async open(target: string | Redis, options: RedisPersistenceOptions = {}): Promise<RedisPersistence> {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const url = typeof target === 'string' ? redactUrl(target) : `redis (client given)${options.prefix === undefined ? '' : ` prefix ${prefix}`}`;
    const ownsClient = typeof target === 'string';
    const redis = typeof target === 'string' ? new Redis(target, { lazyConnect: true, maxRetriesPerRequest: 3, ...options.redis }) : target;
    if (ownsClient) {
      // ioredis reconnects by itself; the broker sees failed commits, not these events.
      redis.on('error', () => {});
      try {
        await redis.connect();
      } catch (err) {
        redis.disconnect();
        throw new RedisStoreError(url, `cannot connect: ${(err as Error).message}`, err);
      }
    }
    try {
      await checkLayout(redis, redisKeys(prefix).meta);
      const durability = await readDurability(redis);
      return new RedisPersistence(url, redis, ownsClient, prefix, durability);
    } catch (err) {
      if (ownsClient) redis.disconnect();
      throw err instanceof RedisStoreError ? new RedisStoreError(url, err.message.replace(/^Redis store [^:]*: /, ''), err.cause) : new RedisStoreError(url, (err as Error).message, err);
    }
  }

  /** With `sessions: false` (a node of a cluster), retained messages only. */
  async load(options?: LoadOptions): Promise<StoredState> {
    try {
      const [retained, sessions] = await Promise.all([this.loadRetained(), options?.sessions === false ? [] : this.loadSessions()]);
      return { retained, sessions };
    } catch (err) {
      throw new RedisStoreError(this.url, `cannot be read: ${(err as Error).message}`, err);
    }
  }

  /**
   * Every retained bucket at once: the 64 HVALS go out together and no reply is larger than a
   * bucket. The values are decoded as the broker takes them (iterated once): a decoded message
   * dies young once the broker made its own, and a bucket's replies go once it is read.
   */
  private async loadRetained(): Promise<Iterable<StoredMessage>> {
    const buckets = await Promise.all(Array.from({ length: RETAINED_BUCKETS }, (_, b) => this.redis.hvalsBuffer(this.keys.retained(b))));
    const url = this.url;
    return {
      *[Symbol.iterator]() {
        for (let b = 0; b < buckets.length; b++) {
          const values = buckets[b]!;
          buckets[b] = [];
          for (const value of values) {
            let message: StoredMessage;
            try {
              message = decodeMessage(value);
            } catch (err) {
              throw new RedisStoreError(url, `cannot be read: ${(err as Error).message}`, err);
            }
            yield message;
          }
        }
      },
    };
  }

  private async loadSessions(): Promise<SessionRecord[]> {
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.keys.sessions, cursor, 'COUNT', 1000);
      cursor = next;
      for (const id of members) ids.push(id);
    } while (cursor !== '0');
    const chunks: Promise<SessionRecord[]>[] = [];
    for (let i = 0; i < ids.length; i += SESSION_CHUNK) chunks.push(this.loadSessionChunk(ids.slice(i, i + SESSION_CHUNK)));
    return (await Promise.all(chunks)).flat();
  }

  /**
   * One session as stored, or undefined: what a node taking over a client's session from
   * another node reads (the cluster, issue 11). Not part of the Persistence port.
   */
  async loadSession(clientId: string): Promise<SessionRecord | undefined> {
    try {
      return (await this.loadSessionChunk([clientId]))[0];
    } catch (err) {
      throw new RedisStoreError(this.url, `cannot be read: ${(err as Error).message}`, err);
    }
  }

  private async loadSessionChunk(ids: readonly string[]): Promise<SessionRecord[]> {
    const k = this.keys;
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.hgetallBuffer(k.session(id));
      pipeline.hgetallBuffer(k.subs(id));
      pipeline.hgetallBuffer(k.msgs(id));
      pipeline.hgetall(k.msgState(id));
      pipeline.smembers(k.qos2(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const records: SessionRecord[] = [];
    for (let s = 0; s < ids.length; s++) {
      const reply = (j: number): unknown => {
        const [err, value] = replies[s * 5 + j] ?? [new Error('missing reply'), undefined];
        if (err) throw err;
        return value;
      };
      const clientId = ids[s]!;
      const meta = reply(0) as Record<string, Buffer>;
      // A session id in the set without its hash: the set said it exists, the hash is the truth.
      if (meta.x === undefined || meta.d === undefined) continue;
      const subscriptions: SessionSubscription[] = [];
      for (const [filter, value] of Object.entries(reply(1) as Record<string, Buffer>)) subscriptions.push(decodeSubscription(filter, value));
      const states = reply(3) as Record<string, string>;
      const messages: StoredOutgoing[] = [];
      for (const [field, value] of Object.entries(reply(2) as Record<string, Buffer>)) {
        const seq = Number(field);
        let entry = decodeOutgoing(seq, value);
        const state = states[field];
        if (state !== undefined) entry = { ...entry, ...decodeState(state) };
        messages.push(entry);
      }
      messages.sort((a, b) => a.seq - b.seq);
      const incomingQos2 = (reply(4) as string[]).map(Number);
      const will: StoredWill | undefined = meta.w === undefined ? undefined : decodeWill(meta.w);
      records.push({ clientId, expiryInterval: Number(meta.x.toString()), disconnectedAt: Number(meta.d.toString()), subscriptions, messages, incomingQos2, will });
    }
    return records;
  }

  /** The batch as one script run; resolves once Redis applied it (and logged it as its appendfsync says). */
  async commit(batch: readonly PersistenceChange[]): Promise<void> {
    if (batch.length === 0) return;
    await this.commitCommand(encodeBatch(this.prefix, batch));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsClient) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Drops the connection without QUIT, as a killed process would (for tests). */
  abandon(): void {
    this.closed = true;
    if (this.ownsClient) this.redis.disconnect();
  }
}

async function checkLayout(redis: Redis, metaKey: string): Promise<void> {
  await redis.hsetnx(metaKey, 'layout', String(LAYOUT_VERSION));
  await redis.hsetnx(metaKey, 'retainedBuckets', String(RETAINED_BUCKETS));
  const [layout, buckets] = await redis.hmget(metaKey, 'layout', 'retainedBuckets');
  if (layout !== String(LAYOUT_VERSION)) throw new Error(`the keys under this prefix have layout version ${layout}, this hato reads version ${LAYOUT_VERSION} (written by a newer hato?)`);
  if (buckets !== String(RETAINED_BUCKETS)) throw new Error(`the keys under this prefix have ${buckets} retained buckets, this hato uses ${RETAINED_BUCKETS}`);
}

async function readDurability(redis: Redis): Promise<RedisDurability> {
  try {
    const values = (await redis.config('GET', 'append*')) as string[];
    const get = (name: string): string | undefined => {
      const at = values.indexOf(name);
      return at < 0 ? undefined : values[at + 1];
    };
    const appendonly = get('appendonly');
    return { appendonly: appendonly === undefined ? undefined : appendonly === 'yes', appendfsync: get('appendfsync') };
  } catch {
    return { appendonly: undefined, appendfsync: undefined }; // CONFIG disabled (managed Redis)
  }
}

/**
 * The batch as the commit script's ARGV. Folded on the way, with the same result: a message
 * recorded and moved on in one batch is written once in its last state, and one recorded and
 * done in one batch is not written at all (its `message-done` still goes, in case the store
 * held that seq).
 */
export function encodeBatch(prefix: string, batch: readonly PersistenceChange[]): (string | Buffer)[] {
  // Pending 'message' changes by client id and seq, with the index of their entry in `folded`.
  const pending = new Map<string, Map<number, number>>();
  const folded: (PersistenceChange | undefined)[] = [];
  for (const change of batch) {
    switch (change.op) {
      case 'message': {
        let bySeq = pending.get(change.clientId);
        if (bySeq === undefined) pending.set(change.clientId, (bySeq = new Map()));
        bySeq.set(change.entry.seq, folded.length);
        folded.push(change);
        break;
      }
      case 'message-state': {
        const at = pending.get(change.clientId)?.get(change.seq);
        const recorded = at === undefined ? undefined : folded[at];
        if (recorded !== undefined && recorded.op === 'message') {
          folded[at!] = { op: 'message', clientId: change.clientId, entry: { ...recorded.entry, packetId: change.packetId, state: change.state } };
        } else folded.push(change);
        break;
      }
      case 'message-done': {
        const bySeq = pending.get(change.clientId);
        const at = bySeq?.get(change.seq);
        if (at !== undefined) {
          folded[at] = undefined;
          bySeq!.delete(change.seq);
        }
        folded.push(change);
        break;
      }
      case 'end-session':
        pending.delete(change.clientId);
        folded.push(change);
        break;
      default:
        folded.push(change);
    }
  }
  const args: (string | Buffer)[] = [prefix];
  for (const change of folded) {
    if (change === undefined) continue;
    switch (change.op) {
      case 'message':
        args.push('M', change.clientId, String(change.entry.seq), encodeOutgoing(change.entry));
        break;
      case 'message-state':
        args.push('T', change.clientId, String(change.seq), encodeState(change.packetId, change.state));
        break;
      case 'message-done':
        args.push('D', change.clientId, String(change.seq));
        break;
      case 'retain':
        args.push('R', String(bucketOf(change.message.topic)), change.message.topic, encodeMessage(change.message));
        break;
      case 'unretain':
        args.push('U', String(bucketOf(change.topic)), change.topic);
        break;
      case 'session':
        args.push('S', change.clientId, String(change.expiryInterval), String(change.disconnectedAt));
        break;
      case 'end-session':
        args.push('E', change.clientId);
        break;
      case 'subscribe':
        args.push('B', change.clientId, change.subscription.topicFilter, encodeSubscription(change.subscription));
        break;
      case 'unsubscribe':
        args.push('N', change.clientId, change.topicFilter);
        break;
      case 'qos2-received':
        args.push('Q', change.clientId, String(change.packetId));
        break;
      case 'qos2-released':
        args.push('q', change.clientId, String(change.packetId));
        break;
      case 'will':
        args.push('W', change.clientId, String(change.will.dueAt), encodeWill(change.will));
        break;
      case 'will-done':
        args.push('w', change.clientId);
        break;
    }
  }
  return args;
}
