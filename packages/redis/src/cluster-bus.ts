import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClusterBus, ClusterEnvelope, ClusterNode, ClusterRetainedChange, OrphanWill } from '@hato/broker';
import type { Will } from '@hato/protocol';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeMessage, decodeWill, encodeMessage, encodeWill } from './codec.js';
import { DEFAULT_PREFIX } from './keys.js';
import { redactUrl } from './redis-persistence.js';

export interface RedisClusterBusOptions {
  /** `redis://[user:password@]HOST:PORT[/DB]` (default redis://127.0.0.1:6379). */
  url?: string;
  /** More ioredis options (TLS, password, timeouts). */
  redis?: RedisOptions;
  /** Key prefix, shared with the Redis persistence (default 'hato:'; the cluster's keys are under `<prefix>cluster:`). */
  prefix?: string;
  /** This node's id (default: host-pid-random). Unique among the nodes. */
  nodeId?: string;
  /** How often this node says it is alive (default 1000 ms). */
  heartbeatMs?: number;
  /** A node silent this long is dead: its clients' wills fire and its sessions move (default 5000 ms). */
  deadAfterMs?: number;
  /** How long a takeover waits for the node that holds the session (default 3000 ms). */
  claimTimeoutMs?: number;
  /** Bytes of messages for other nodes kept while Redis is down (default 64 MiB; QoS 0 is dropped first). */
  maxOutboxBytes?: number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** Records in one inbox stream entry: [type u8][length u32][body]. */
const MESSAGE = 1;
const RETAIN = 2;
const UNRETAIN = 3;
const RELEASE = 4;
const RELEASED = 5;
const FLOW = 6;

const MAXLEN = '10000';

/**
 * The ClusterBus on Redis [DESIGN: Cluster]. Redis only stores and moves bytes; what goes where
 * is decided by the broker core.
 *
 * - Membership: a heartbeat per node in a sorted set (Redis time), a node silent for
 *   `deadAfterMs` is reaped by one survivor (ZREM decides who): it adopts the dead node's
 *   sessions and fires its connected clients' wills.
 * - Interest: each node's filters in a hash, changes announced on a pub/sub channel with a
 *   sequence number per node; a gap (a missed announcement) makes the receiver read the hash.
 * - Messages, retained changes and takeover requests: one stream per node (its inbox), one
 *   entry per event-loop turn per target node. Streams, not pub/sub: a node reads its inbox
 *   from the last id it read, so nothing sent while its connection to Redis was down is lost
 *   (pub/sub drops what a disconnected subscriber misses). Sharded pub/sub (Redis 7) would
 *   route the same way (one channel per node) with the same loss; Redis Cluster is not supported.
 * - While Redis is down: sends wait in a bounded outbox, interest and wills are kept here and
 *   written again when it returns.
 */
export class RedisClusterBus implements ClusterBus {
  readonly enabled = true;
  readonly nodeId: string;
  private readonly options: Required<Pick<RedisClusterBusOptions, 'heartbeatMs' | 'deadAfterMs' | 'claimTimeoutMs' | 'maxOutboxBytes'>>;
  private readonly url: string;
  private readonly redisOptions: RedisOptions;
  private readonly logger: NonNullable<RedisClusterBusOptions['logger']> | undefined;
  private readonly k: ReturnType<typeof clusterKeys>;
  private node: ClusterNode | undefined;
  private cmd: Redis | undefined;
  private sub: Redis | undefined;
  private reader: Redis | undefined;
  private linkUp = false;
  private upSince = 0;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Other live nodes. */
  private readonly live = new Set<string>();
  /** Last interest sequence applied per node; a resync in flight per node. */
  private readonly seqs = new Map<string, number>();
  private readonly resyncing = new Map<string, boolean>();
  /** What this node subscribes to and its connected clients' wills: the truth, written again after an outage. */
  private readonly interest = new Set<string>();
  private readonly wills = new Map<string, Buffer>();
  /** Records per target node, sent at the end of the turn (or when Redis is back). */
  private outbox = new Map<string, { records: Buffer[]; bytes: number }>();
  private outboxBytes = 0;
  private flushScheduled = false;
  /** What waits for the records queued since the last flush to be in Redis (see `handedOff`). */
  private handoff: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastRead = '0';
  private requestSeq = 0;
  private readonly requests = new Map<number, () => void>();
  /** Counters: messages for other nodes dropped because the outbox was full. */
  dropped = 0;

  constructor(options: RedisClusterBusOptions = {}) {
    this.url = options.url ?? 'redis://127.0.0.1:6379';
    this.redisOptions = options.redis ?? {};
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.options = {
      heartbeatMs: options.heartbeatMs ?? 1000,
      deadAfterMs: options.deadAfterMs ?? 5000,
      claimTimeoutMs: options.claimTimeoutMs ?? 3000,
      maxOutboxBytes: options.maxOutboxBytes ?? 64 * 1024 * 1024,
    };
    this.logger = options.logger;
    this.k = clusterKeys(`${options.prefix ?? DEFAULT_PREFIX}cluster:`);
  }

  get nodes(): readonly string[] {
    return [...this.live];
  }

  get up(): boolean {
    return this.linkUp;
  }

  /** The URL without its password (for logs). */
  get target(): string {
    return redactUrl(this.url);
  }

  async start(node: ClusterNode): Promise<void> {
    this.node = node;
    const base: RedisOptions = { ...this.redisOptions, retryStrategy: (times) => Math.min(times * 100, 1000) };
    // Commands fail at once while Redis is down (the outbox keeps what must go later).
    const cmd = new Redis(this.url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const sub = new Redis(this.url, { ...base, maxRetriesPerRequest: null });
    const reader = new Redis(this.url, { ...base, maxRetriesPerRequest: null });
    this.cmd = cmd;
    this.sub = sub;
    this.reader = reader;
    for (const client of [cmd, sub, reader]) client.on('error', () => {});
    sub.on('message', (_channel: string, text: string) => this.onEvent(text));
    sub.subscribe(this.k.events).catch(() => {});
    cmd.on('close', () => this.linkDown(new Error('connection to Redis closed')));
    const firstUp = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      cmd.on('ready', () => {
        this.linkReady().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (err: unknown) => this.logger?.error({ err }, 'cluster: joining failed'),
        );
      });
    });
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.readLoop();
    await firstUp;
    if (!this.linkUp) node.linkChanged(false, new Error(`Redis ${this.target} not reachable`));
  }

  // ---- link state

  /** Redis is (back) up: register, write this node's interest and wills, learn the others', send what waited. */
  private async linkReady(): Promise<void> {
    const cmd = this.cmd!;
    const me = this.nodeId;
    const k = this.k;
    await cmd.eval(JOIN_SCRIPT, 5, k.nodes, k.node(me), k.interest(me), k.iseq(me), k.events, me, String(process.pid), hostname(), ...this.interest);
    const wills = cmd.multi().del(k.wills(me));
    for (const [clientId, will] of this.wills) wills.hset(k.wills(me), clientId, will);
    await wills.exec();
    this.linkUp = true;
    this.upSince = Date.now();
    await this.beat();
    await Promise.all([...this.live].map((other) => this.resync(other)));
    this.scheduleFlush();
    this.node?.linkChanged(true);
  }

  private linkDown(err: unknown): void {
    if (!this.linkUp || this.closed) return;
    this.linkUp = false;
    this.releaseHandoff();
    this.node?.linkChanged(false, err);
  }

  // ---- membership

  /** Heartbeat: this node is alive; the others are read (joined, left, dead: one survivor reaps). */
  private async beat(): Promise<void> {
    if (!this.linkUp || this.closed) return;
    let reply: [number, string[]];
    try {
      reply = (await this.cmd!.eval(BEAT_SCRIPT, 1, this.k.nodes, this.nodeId)) as [number, string[]];
    } catch {
      return;
    }
    const [now, flat] = reply;
    const cutoff = now - this.options.deadAfterMs;
    // Only once this node has been up for deadAfterMs does an old heartbeat mean dead: after
    // an outage every node's is old until it beats again, and a node dropped from `live` too
    // early would miss the messages meant for it.
    const settled = Date.now() - this.upSince >= this.options.deadAfterMs;
    const seen = new Set<string>();
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i]!;
      if (id === this.nodeId) continue;
      const score = Number(flat[i + 1]);
      if (score >= cutoff || (!settled && score > 0)) {
        seen.add(id);
        if (!this.live.has(id)) {
          this.live.add(id);
          this.node?.nodeJoined(id);
          void this.resync(id);
        }
      } else if (settled) void this.reap(id, cutoff);
    }
    for (const id of [...this.live]) {
      if (seen.has(id)) continue;
      this.live.delete(id);
      this.seqs.delete(id);
      this.node?.nodeLeft(id, 'dead');
    }
  }

  /** Takes over a dead node's clients, if this node wins the race for it. */
  private async reap(dead: string, cutoff: number): Promise<void> {
    const k = this.k;
    let reply: [string[], string[]] | null;
    try {
      reply = (await this.cmd!.callBuffer(
        'EVAL',
        REAP_SCRIPT,
        10,
        k.nodes,
        k.owners,
        k.clients(dead),
        k.clients(this.nodeId),
        k.wills(dead),
        k.interest(dead),
        k.iseq(dead),
        k.inbox(dead),
        k.node(dead),
        k.events,
        dead,
        this.nodeId,
        String(cutoff),
      )) as unknown as [string[], string[]] | null;
    } catch (err) {
      this.logger?.error({ err, node: dead }, 'cluster: reaping a dead node failed');
      return;
    }
    if (reply === null) return;
    const [adoptedRaw, willsRaw] = reply as unknown as [Buffer[], Buffer[]];
    const adopted = adoptedRaw.map((b) => b.toString());
    const wills: OrphanWill[] = [];
    for (let i = 0; i < willsRaw.length; i += 2) {
      try {
        wills.push({ clientId: willsRaw[i]!.toString(), will: decodeWill(willsRaw[i + 1]!).will });
      } catch (err) {
        this.logger?.error({ err, node: dead }, 'cluster: a will of a dead node cannot be read');
      }
    }
    if (this.live.delete(dead)) this.node?.nodeLeft(dead, 'dead');
    this.logger?.warn({ node: dead, sessions: adopted.length, wills: wills.length }, 'cluster: reaped a dead node');
    await this.node?.adopt(adopted, wills);
  }

  // ---- interest

  setInterest(filter: string, present: boolean): Promise<void> {
    if (present) this.interest.add(filter);
    else this.interest.delete(filter);
    if (!this.linkUp) return Promise.resolve();
    const me = this.nodeId;
    return this.cmd!.eval(INTEREST_SCRIPT, 3, this.k.interest(me), this.k.iseq(me), this.k.events, me, present ? '+' : '-', filter).then(
      () => undefined,
      () => undefined, // written again when the link is back
    );
  }

  private onEvent(text: string): void {
    const first = text.indexOf('\n');
    const kind = text.slice(0, first);
    const rest = text.slice(first + 1);
    if (kind === 'i') {
      // i \n node \n seq \n +|- \n filter
      const [node, seqText, op] = rest.split('\n', 3) as [string, string, string];
      if (node === this.nodeId) return;
      const filter = rest.slice(node.length + seqText.length + op.length + 3);
      const seq = Number(seqText);
      const last = this.seqs.get(node);
      if (this.resyncing.has(node)) {
        this.resyncing.set(node, true);
        return;
      }
      if (last !== undefined && seq <= last) return;
      if (last === undefined || seq !== last + 1) {
        void this.resync(node);
        return;
      }
      this.seqs.set(node, seq);
      this.node?.interest(node, filter, op === '+');
      return;
    }
    const node = rest.split('\n', 1)[0]!;
    if (node === this.nodeId) return;
    if (kind === 'r' || kind === 'j') {
      if (!this.live.has(node)) {
        this.live.add(node);
        this.node?.nodeJoined(node);
      }
      void this.resync(node);
    } else if (kind === 'l') {
      const reason = rest.slice(node.length + 1) === 'dead' ? 'dead' : 'left';
      this.seqs.delete(node);
      if (this.live.delete(node)) this.node?.nodeLeft(node, reason);
      else this.node?.resetInterest(node);
    }
  }

  /** Reads all of `node`'s interest (it joined, or an announcement was missed). */
  private async resync(node: string): Promise<void> {
    if (this.resyncing.has(node)) {
      this.resyncing.set(node, true);
      return;
    }
    this.resyncing.set(node, false);
    try {
      for (;;) {
        const replies = await this.cmd!.multi().hkeys(this.k.interest(node)).get(this.k.iseq(node)).exec();
        const filters = (replies?.[0]?.[1] ?? []) as string[];
        const seq = Number(replies?.[1]?.[1] ?? 0);
        this.node?.resetInterest(node);
        if (this.live.has(node)) for (const filter of filters) this.node?.interest(node, filter, true);
        this.seqs.set(node, seq);
        if (this.resyncing.get(node) !== true) break;
        this.resyncing.set(node, false);
      }
    } catch {
      // The link is down: everything is read again when it is back.
    } finally {
      this.resyncing.delete(node);
    }
  }

  // ---- messages

  send(nodeId: string, envelope: ClusterEnvelope): void {
    const message = encodeMessage(envelope.message);
    const shares = envelope.shares ?? [];
    let size = 3 + message.length;
    const shareBytes = shares.map((s) => Buffer.from(s));
    for (const s of shareBytes) size += 2 + s.length;
    const body = Buffer.allocUnsafe(size);
    body[0] = envelope.direct ? 1 : 0;
    body.writeUInt16BE(shares.length, 1);
    let at = 3;
    for (const s of shareBytes) {
      body.writeUInt16BE(s.length, at);
      s.copy(body, at + 2);
      at += 2 + s.length;
    }
    message.copy(body, at);
    this.queue(nodeId, MESSAGE, body, envelope.message.qos === 0);
  }

  handedOff(): Promise<void> | undefined {
    if (!this.linkUp || this.closed) return undefined;
    if (this.handoff === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.handoff = { promise, resolve };
      // Released by the next flush, even if nothing was queued (a send dropped by a full outbox).
      this.flushSoon();
    }
    return this.handoff.promise;
  }

  /** Nothing more to wait for: the link went down (the outbox keeps what was not sent) or closed. */
  private releaseHandoff(): void {
    const handoff = this.handoff;
    this.handoff = undefined;
    handoff?.resolve();
  }

  flow(nodeId: string, held: boolean): void {
    if (this.live.has(nodeId)) this.queue(nodeId, FLOW, Buffer.from([held ? 1 : 0]), false);
  }

  broadcastRetained(change: ClusterRetainedChange): void {
    const body = change.op === 'retain' ? encodeMessage(change.message) : Buffer.from(change.topic);
    for (const node of this.live) this.queue(node, change.op === 'retain' ? RETAIN : UNRETAIN, body, false);
  }

  private queue(nodeId: string, type: number, body: Buffer, droppable: boolean): void {
    const limit = this.options.maxOutboxBytes;
    // While Redis is down the outbox grows: QoS 0 goes first, then anything over twice the bound.
    if (this.outboxBytes > limit && (droppable || this.outboxBytes > 2 * limit)) {
      if (this.dropped++ === 0) this.logger?.error({ limit }, 'cluster: outbox full, messages for other nodes are dropped');
      return;
    }
    const record = Buffer.allocUnsafe(5 + body.length);
    record[0] = type;
    record.writeUInt32BE(body.length, 1);
    body.copy(record, 5);
    let box = this.outbox.get(nodeId);
    if (box === undefined) {
      box = { records: [], bytes: 0 };
      this.outbox.set(nodeId, box);
    }
    box.records.push(record);
    box.bytes += record.length;
    this.outboxBytes += record.length;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.linkUp && this.outbox.size !== 0) this.flushSoon();
  }

  /** A flush at the end of this turn (once). */
  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * One XADD per target node for everything this turn produced; what waited for these records
   * (`handedOff`) is released once every XADD is answered. A failed one (the link went down
   * meanwhile) puts its records back in the outbox and counts as answered: with the link down,
   * acks do not wait for the outbox (see `handedOff`).
   */
  private flush(): void {
    this.flushScheduled = false;
    if (!this.linkUp || this.closed) return;
    const outbox = this.outbox;
    const handoff = this.handoff;
    this.outbox = new Map();
    this.outboxBytes = 0;
    this.handoff = undefined;
    const cmd = this.cmd!;
    let pending = outbox.size;
    const answered = (): void => {
      if (--pending === 0) handoff?.resolve();
    };
    if (pending === 0) handoff?.resolve();
    for (const [node, box] of outbox) {
      const data = box.records.length === 1 ? box.records[0]! : Buffer.concat(box.records, box.bytes);
      cmd.xadd(this.k.inbox(node), 'MAXLEN', '~', MAXLEN, '*', 'n', this.nodeId, 'b', data).then(answered, () => {
        // Not sent (the link went down meanwhile): back in the outbox, in front.
        const now = this.outbox.get(node);
        const merged = { records: [data, ...(now?.records ?? [])], bytes: data.length + (now?.bytes ?? 0) };
        this.outbox.set(node, merged);
        this.outboxBytes += data.length;
        this.scheduleFlush();
        answered();
      });
    }
  }

  /** Reads this node's inbox for ever, from the last entry read (across reconnects). */
  private async readLoop(): Promise<void> {
    const reader = this.reader!;
    const key = this.k.inbox(this.nodeId);
    while (!this.closed) {
      let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        reply = (await reader.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', key, this.lastRead)) as [Buffer, [Buffer, Buffer[]][]][] | null;
      } catch {
        if (this.closed) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          this.lastRead = id.toString();
          let from = '';
          for (let i = 0; i + 1 < fields.length; i += 2) {
            const field = fields[i]!.toString();
            if (field === 'n') from = fields[i + 1]!.toString();
            else if (field === 'b') this.receive(fields[i + 1]!, from);
          }
        }
      }
    }
  }

  private receive(data: Buffer, from: string): void {
    const node = this.node;
    if (node === undefined) return;
    let at = 0;
    while (at + 5 <= data.length) {
      const type = data[at]!;
      const length = data.readUInt32BE(at + 1);
      const body = data.subarray(at + 5, at + 5 + length);
      at += 5 + length;
      try {
        if (type === MESSAGE) {
          const direct = body[0] === 1;
          const count = body.readUInt16BE(1);
          let p = 3;
          let shares: string[] | undefined;
          for (let i = 0; i < count; i++) {
            const n = body.readUInt16BE(p);
            (shares ??= []).push(body.toString('utf8', p + 2, p + 2 + n));
            p += 2 + n;
          }
          node.deliver({ message: decodeMessage(body.subarray(p)), direct, shares }, from);
        } else if (type === RETAIN) node.retainedChanged({ op: 'retain', message: decodeMessage(body) });
        else if (type === UNRETAIN) node.retainedChanged({ op: 'unretain', topic: body.toString() });
        else if (type === RELEASE) this.onRelease(body);
        else if (type === RELEASED) this.requests.get(body.readUInt32BE(0))?.();
        else if (type === FLOW) node.flow(from, body[0] === 1);
      } catch (err) {
        this.logger?.error({ err }, 'cluster: a record from another node cannot be read');
      }
    }
  }

  // ---- sessions

  async claim(clientId: string, cleanStart: boolean): Promise<void> {
    if (!this.linkUp) return;
    const k = this.k;
    let previous: string;
    try {
      previous = (await this.cmd!.eval(CLAIM_SCRIPT, 3, k.owners, k.clients(this.nodeId), k.clientsPrefix, clientId, this.nodeId)) as string;
    } catch {
      return; // the link went down: this node serves it alone
    }
    if (previous === '' || previous === this.nodeId || !this.live.has(previous)) return;
    const id = ++this.requestSeq >>> 0;
    const me = Buffer.from(this.nodeId);
    const client = Buffer.from(clientId);
    const body = Buffer.allocUnsafe(4 + 1 + 2 + me.length + client.length);
    body.writeUInt32BE(id, 0);
    body[4] = cleanStart ? 1 : 0;
    body.writeUInt16BE(me.length, 5);
    me.copy(body, 7);
    client.copy(body, 7 + me.length);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        this.logger?.warn({ clientId, node: previous }, 'cluster: no answer to a takeover in time; taking the session as stored');
        resolve();
      }, this.options.claimTimeoutMs);
      this.requests.set(id, () => {
        clearTimeout(timer);
        this.requests.delete(id);
        resolve();
      });
      this.queue(previous, RELEASE, body, false);
    });
  }

  private onRelease(body: Buffer): void {
    const id = body.readUInt32BE(0);
    const cleanStart = body[4] === 1;
    const length = body.readUInt16BE(5);
    const from = body.toString('utf8', 7, 7 + length);
    const clientId = body.toString('utf8', 7 + length);
    const reply = (): void => {
      const answer = Buffer.allocUnsafe(4);
      answer.writeUInt32BE(id, 0);
      this.queue(from, RELEASED, answer, false);
    };
    this.node!.release(clientId, cleanStart).then(reply, (err: unknown) => {
      this.logger?.error({ err, clientId }, 'cluster: releasing a session failed');
      reply();
    });
  }

  disown(clientId: string): void {
    if (!this.linkUp) return;
    this.cmd!.eval(DISOWN_SCRIPT, 2, this.k.owners, this.k.clients(this.nodeId), clientId, this.nodeId).catch(() => {});
  }

  setWill(clientId: string, will: Will | undefined): void {
    const key = this.k.wills(this.nodeId);
    if (will === undefined) {
      if (!this.wills.delete(clientId)) return;
      if (this.linkUp) this.cmd!.hdel(key, clientId).catch(() => {});
      return;
    }
    const value = encodeWill({ will, dueAt: 0 });
    this.wills.set(clientId, value);
    if (this.linkUp) this.cmd!.hset(key, clientId, value).catch(() => {});
  }

  /** Leaves: the others hear it at once, and one of them adopts this node's sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    if (this.linkUp) {
      this.flush();
      try {
        await this.cmd!.eval(LEAVE_SCRIPT, 3, this.k.nodes, this.k.interest(this.nodeId), this.k.events, this.nodeId);
      } catch {
        // Down: the others reap this node when its heartbeat is old.
      }
    }
    this.closed = true;
    this.linkUp = false;
    this.releaseHandoff();
    for (const resolve of this.requests.values()) resolve();
    this.requests.clear();
    this.reader?.disconnect();
    this.sub?.disconnect();
    try {
      await this.cmd?.quit();
    } catch {
      this.cmd?.disconnect();
    }
  }

  /** Drops the connections without leaving, as a killed process would (for tests). */
  abandon(): void {
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.reader?.disconnect();
    this.sub?.disconnect();
    this.cmd?.disconnect();
  }
}

function clusterKeys(prefix: string) {
  return {
    /** ZSET node id → its last heartbeat (Redis time, ms); 0 once it left. */
    nodes: `${prefix}nodes`,
    /** HASH pid, host, started. */
    node: (id: string) => `${prefix}node:${id}`,
    /** HASH filter (a share group as `$share/g/f`) → 1. */
    interest: (id: string) => `${prefix}interest:${id}`,
    /** Counter of the node's interest changes (the sequence in announcements). */
    iseq: (id: string) => `${prefix}iseq:${id}`,
    /** STREAM: what other nodes send this node. */
    inbox: (id: string) => `${prefix}inbox:${id}`,
    /** HASH client id → the node that holds its session. */
    owners: `${prefix}owners`,
    /** SET of the client ids a node holds. */
    clients: (id: string) => `${prefix}clients:${id}`,
    clientsPrefix: `${prefix}clients:`,
    /** HASH client id → the will of a client connected to that node. */
    wills: (id: string) => `${prefix}wills:${id}`,
    /** Pub/sub channel: interest changes, joins, leaves. */
    events: `${prefix}events`,
  };
}

/** Redis time in ms. */
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** KEYS nodes, node, interest, iseq, events; ARGV me, pid, host, filters... */
const JOIN_SCRIPT = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'pid', ARGV[2], 'host', ARGV[3], 'started', now)
redis.call('DEL', KEYS[3])
for i = 4, #ARGV, 500 do
  local args = {}
  for j = i, math.min(i + 499, #ARGV) do args[#args + 1] = ARGV[j]; args[#args + 1] = '1' end
  redis.call('HSET', KEYS[3], unpack(args))
end
local seq = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', KEYS[5], 'r\\n' .. ARGV[1] .. '\\n' .. seq)
return seq`;

/** KEYS nodes; ARGV me → { now, [id, score, ...] } */
const BEAT_SCRIPT = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
return { now, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') }`;

/** KEYS interest, iseq, events; ARGV me, +|-, filter */
const INTEREST_SCRIPT = `
if ARGV[2] == '+' then redis.call('HSET', KEYS[1], ARGV[3], '1') else redis.call('HDEL', KEYS[1], ARGV[3]) end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', KEYS[3], 'i\\n' .. ARGV[1] .. '\\n' .. seq .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3])
return seq`;

/** KEYS owners, clients:me, clients: prefix; ARGV clientId, me → the previous owner ('' none) */
const CLAIM_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
if old and old ~= ARGV[2] then redis.call('SREM', KEYS[3] .. old, ARGV[1]) end
return old or ''`;

/** KEYS owners, clients:me; ARGV clientId, me */
const DISOWN_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
return 1`;

/**
 * KEYS nodes, owners, clients:dead, clients:me, wills:dead, interest:dead, iseq:dead,
 * inbox:dead, node:dead, events; ARGV dead, me, cutoff → nil (someone else reaped it, or it
 * is alive) or { adopted client ids, [clientId, will, ...] }.
 */
const REAP_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= tonumber(ARGV[3]) then return nil end
redis.call('ZREM', KEYS[1], ARGV[1])
local adopted = {}
for _, c in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('HGET', KEYS[2], c) == ARGV[1] then
    redis.call('HSET', KEYS[2], c, ARGV[2])
    redis.call('SADD', KEYS[4], c)
    adopted[#adopted + 1] = c
  end
end
local wills = redis.call('HGETALL', KEYS[5])
redis.call('DEL', KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
redis.call('PUBLISH', KEYS[10], 'l\\n' .. ARGV[1] .. '\\ndead')
return { adopted, wills }`;

/** KEYS nodes, interest, events; ARGV me: its heartbeat goes to 0, so the next beat of another node reaps it. */
const LEAVE_SCRIPT = `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', KEYS[3], 'l\\n' .. ARGV[1] .. '\\nleft')
return 1`;
