import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Persistence, PersistenceChange, SessionRecord, SessionSubscription, StoredMessage, StoredOutgoing, StoredState, StoredWill } from '@hato/broker';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * How the contract suite gets stores of one adapter. `where` is a fresh temporary directory
 * per test (a SQLite adapter puts its file there; a Redis one may ignore it and use a key
 * prefix or database of its own, empty at `open`).
 */
export interface PersistenceFactory {
  /** A new, empty store. */
  open(where: string): Promise<Persistence>;
  /** The same store after `close()`: a restart. Absent → the restart cases are skipped. */
  reopen?(where: string, previous: Persistence): Promise<Persistence>;
  /**
   * The same store after its process died without `close()` (what `kill -9` leaves). Absent →
   * the crash cases are skipped (meaningless for memory). Real kill -9 tests live elsewhere.
   */
  crash?(where: string, previous: Persistence): Promise<Persistence>;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every byte value, to catch text encodings of binary payloads. */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

function message(topic: string, payload: Uint8Array | string, extra: Partial<StoredMessage> = {}): StoredMessage {
  return { topic, payload: typeof payload === 'string' ? utf8(payload) : payload, qos: 1, retain: false, properties: undefined, expiresAt: 0, origin: undefined, ...extra };
}

function subscription(topicFilter: string, extra: Partial<SessionSubscription> = {}): SessionSubscription {
  return { topicFilter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, group: undefined, ...extra };
}

function outgoing(seq: number, topic: string, extra: Partial<StoredOutgoing> = {}): StoredOutgoing {
  return { seq, message: message(topic, `m${seq}`), qos: 1, retain: false, subscriptionIds: undefined, packetId: 0, state: 'queued', ...extra };
}

const session = (clientId: string, expiryInterval = 60, disconnectedAt = 0): PersistenceChange => ({ op: 'session', clientId, expiryInterval, disconnectedAt });

/** Bytes as hex, absent fields dropped, collections sorted: states compare with toEqual whatever the adapter's types. */
function normalize(state: StoredState): unknown {
  return {
    retained: [...state.retained].map(normalizeMessage).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)),
    sessions: [...state.sessions].map(normalizeSession).sort((a, b) => (a.clientId < b.clientId ? -1 : 1)),
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${hex(value)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = plain(field);
    }
    return out;
  }
  return value;
}

function normalizeMessage(stored: StoredMessage): { topic: string } {
  return plain({ ...stored }) as { topic: string };
}

function normalizeSession(record: SessionRecord): { clientId: string } {
  return plain({
    ...record,
    subscriptions: [...record.subscriptions].sort((a, b) => (a.topicFilter < b.topicFilter ? -1 : 1)),
    incomingQos2: [...record.incomingQos2].sort((a, b) => a - b),
    messages: [...record.messages],
  }) as { clientId: string };
}

/** The state `changes` should leave, applied by this reference model (the contract itself). */
function expected(changes: readonly PersistenceChange[]): StoredState {
  const retained = new Map<string, StoredMessage>();
  type Model = { expiryInterval: number; disconnectedAt: number; subs: Map<string, SessionSubscription>; messages: Map<number, StoredOutgoing>; qos2: Set<number>; will?: StoredWill | undefined };
  const sessions = new Map<string, Model>();
  for (const change of changes) {
    if (change.op === 'retain') retained.set(change.message.topic, change.message);
    else if (change.op === 'unretain') retained.delete(change.topic);
    else if (change.op === 'session') {
      const s = sessions.get(change.clientId);
      if (s === undefined) sessions.set(change.clientId, { expiryInterval: change.expiryInterval, disconnectedAt: change.disconnectedAt, subs: new Map(), messages: new Map(), qos2: new Set() });
      else {
        s.expiryInterval = change.expiryInterval;
        s.disconnectedAt = change.disconnectedAt;
      }
    } else if (change.op === 'end-session') sessions.delete(change.clientId);
    else {
      const s = sessions.get(change.clientId);
      if (s === undefined) continue;
      if (change.op === 'subscribe') s.subs.set(change.subscription.topicFilter, change.subscription);
      else if (change.op === 'unsubscribe') s.subs.delete(change.topicFilter);
      else if (change.op === 'message') s.messages.set(change.entry.seq, change.entry);
      else if (change.op === 'message-state') {
        const entry = s.messages.get(change.seq);
        if (entry !== undefined) s.messages.set(change.seq, { ...entry, packetId: change.packetId, state: change.state });
      } else if (change.op === 'message-done') s.messages.delete(change.seq);
      else if (change.op === 'qos2-received') s.qos2.add(change.packetId);
      else if (change.op === 'qos2-released') s.qos2.delete(change.packetId);
      else if (change.op === 'will') s.will = change.will;
      else if (change.op === 'will-done') s.will = undefined;
    }
  }
  return {
    retained: [...retained.values()],
    sessions: [...sessions].map(([clientId, s]) => ({
      clientId,
      expiryInterval: s.expiryInterval,
      disconnectedAt: s.disconnectedAt,
      subscriptions: [...s.subs.values()],
      messages: [...s.messages.values()].sort((a, b) => a.seq - b.seq),
      incomingQos2: [...s.qos2],
      will: s.will,
    })),
  };
}

/** A state with every kind of record and every field set (properties, binary, shared subscriptions, ...). */
function richChanges(): PersistenceChange[] {
  const properties = {
    payloadFormatIndicator: 1 as const,
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    responseTopic: 'reply/é',
    correlationData: Uint8Array.of(0, 255, 10, 13),
    userProperties: [['k', 'v'], ['k', 'v2'], ['ü', '']] as [string, string][],
  };
  return [
    { op: 'retain', message: message('r/bin', ALL_BYTES, { qos: 2, retain: true, properties, expiresAt: 1_900_000_000_000, origin: 'pub-1' }) },
    { op: 'retain', message: message('r/text/ünïcode', 'héllo', { qos: 0, retain: true }) },
    { op: 'retain', message: message('r/empty-props', '', { retain: true }) },
    session('alice', 0xffffffff, 0),
    { op: 'subscribe', clientId: 'alice', subscription: subscription('a/+/c', { qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 268_435_455 }) },
    { op: 'subscribe', clientId: 'alice', subscription: subscription('$share/g1/s/#', { qos: 0, group: 'g1' }) },
    { op: 'subscribe', clientId: 'alice', subscription: subscription('#') },
    { op: 'message', clientId: 'alice', entry: outgoing(1, 'a/b/c', { qos: 2, packetId: 7, state: 'awaiting-pubrec', subscriptionIds: [1, 268_435_455] }) },
    { op: 'message', clientId: 'alice', entry: outgoing(2, 'a/b/c', { qos: 2, packetId: 8, state: 'awaiting-pubcomp' }) },
    { op: 'message', clientId: 'alice', entry: outgoing(3, 'a/x/c', { qos: 1, packetId: 9, state: 'awaiting-puback', retain: true }) },
    { op: 'message', clientId: 'alice', entry: { ...outgoing(4, 'bin'), message: message('bin', ALL_BYTES, { properties, origin: 'bob', expiresAt: 1_800_000_000_000 }) } },
    { op: 'message', clientId: 'alice', entry: outgoing(5, 'q0', { qos: 0 }) },
    { op: 'qos2-received', clientId: 'alice', packetId: 1 },
    { op: 'qos2-received', clientId: 'alice', packetId: 65535 },
    session('bob', 30, 1_700_000_000_123),
    { op: 'will', clientId: 'bob', will: { will: { topic: 'wills/bob', payload: ALL_BYTES, qos: 1, retain: true, properties: { willDelayInterval: 30, contentType: 'x', correlationData: Uint8Array.of(1, 2) } }, dueAt: 1_700_000_030_123 } },
    { op: 'subscribe', clientId: 'bob', subscription: subscription('b') },
  ];
}

/**
 * The Persistence contract: every adapter runs it (memory, SQLite, Redis). Each case commits
 * batches and checks what `load()` gives against the reference model above, then again after
 * a restart (`reopen`) and a crash (`crash`) when the factory provides them.
 */
export function persistenceContract(name: string, factory: PersistenceFactory): void {
  describe(`Persistence contract: ${name}`, () => {
    const dirs: string[] = [];
    const open: Persistence[] = [];

    afterEach(async () => {
      for (const store of open.splice(0)) await store.close?.();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    async function fresh(): Promise<{ store: Persistence; where: string }> {
      const where = mkdtempSync(join(tmpdir(), 'hato-persistence-'));
      dirs.push(where);
      const store = await factory.open(where);
      open.push(store);
      return { store, where };
    }

    async function reopen(where: string, store: Persistence): Promise<Persistence> {
      open.splice(open.indexOf(store), 1);
      await store.close?.();
      const again = await factory.reopen!(where, store);
      open.push(again);
      return again;
    }

    async function crash(where: string, store: Persistence): Promise<Persistence> {
      open.splice(open.indexOf(store), 1);
      const again = await factory.crash!(where, store);
      open.push(again);
      return again;
    }

    async function commitAll(store: Persistence, batches: PersistenceChange[][]): Promise<PersistenceChange[]> {
      for (const batch of batches) await store.commit(batch);
      return batches.flat();
    }

    async function expectState(store: Persistence, changes: readonly PersistenceChange[]): Promise<void> {
      expect(normalize(await store.load())).toEqual(normalize(expected(changes)));
    }

    it('a new store loads empty', async () => {
      const { store } = await fresh();
      const state = await store.load();
      expect([...state.retained].length).toBe(0);
      expect(state.sessions.length).toBe(0);
    });

    it('keeps every field of every kind of record (binary payloads, properties, shared subscriptions, wills)', async () => {
      const { store } = await fresh();
      const changes = await commitAll(store, [richChanges()]);
      await expectState(store, changes);
    });

    it('retained: set, replace and delete by topic; unretain of an unknown topic is a no-op', async () => {
      const { store } = await fresh();
      const changes = await commitAll(store, [
        [
          { op: 'retain', message: message('t/1', 'one', { retain: true }) },
          { op: 'retain', message: message('t/2', 'two', { retain: true }) },
        ],
        [{ op: 'retain', message: message('t/1', 'one again', { retain: true, qos: 0 }) }, { op: 'unretain', topic: 't/2' }, { op: 'unretain', topic: 'never' }],
      ]);
      await expectState(store, changes);
      expect([...(await store.load()).retained].map((m) => m.topic)).toEqual(['t/1']);
    });

    it('messages: queued, sent, PUBREC’d and done, loaded in seq order', async () => {
      const { store } = await fresh();
      const seqs = [5, 1, 9, 3, 2, 8];
      const changes = await commitAll(store, [
        [session('c'), ...seqs.map((seq): PersistenceChange => ({ op: 'message', clientId: 'c', entry: outgoing(seq, `t/${seq}`, { qos: 2 }) }))],
        [
          { op: 'message-state', clientId: 'c', seq: 1, packetId: 1, state: 'awaiting-pubrec' },
          { op: 'message-state', clientId: 'c', seq: 2, packetId: 2, state: 'awaiting-pubrec' },
          { op: 'message-state', clientId: 'c', seq: 3, packetId: 3, state: 'awaiting-pubrec' },
        ],
        [{ op: 'message-state', clientId: 'c', seq: 2, packetId: 2, state: 'awaiting-pubcomp' }, { op: 'message-done', clientId: 'c', seq: 1 }, { op: 'message-done', clientId: 'c', seq: 9 }],
        [{ op: 'message-done', clientId: 'c', seq: 404 }, { op: 'message-state', clientId: 'c', seq: 404, packetId: 4, state: 'awaiting-puback' }],
      ]);
      await expectState(store, changes);
      expect((await store.load()).sessions[0]!.messages.map((m) => m.seq)).toEqual([2, 3, 5, 8]);
    });

    it('changes within one batch apply in order (added and done, set and deleted, ended and created again)', async () => {
      const { store } = await fresh();
      const changes = await commitAll(store, [
        [
          session('x'),
          { op: 'subscribe', clientId: 'x', subscription: subscription('f') },
          { op: 'message', clientId: 'x', entry: outgoing(1, 'a') },
          { op: 'message-state', clientId: 'x', seq: 1, packetId: 1, state: 'awaiting-puback' },
          { op: 'message-done', clientId: 'x', seq: 1 },
          { op: 'retain', message: message('r', 'r', { retain: true }) },
          { op: 'unretain', topic: 'r' },
          { op: 'qos2-received', clientId: 'x', packetId: 4 },
          { op: 'qos2-released', clientId: 'x', packetId: 4 },
          { op: 'end-session', clientId: 'x' },
          session('x', 10, 123),
          { op: 'message', clientId: 'x', entry: outgoing(1, 'b') },
        ],
      ]);
      await expectState(store, changes);
      const loaded = (await store.load()).sessions[0]!;
      expect(loaded.subscriptions).toEqual([]);
      expect(loaded.messages.map((m) => m.message.topic)).toEqual(['b']);
    });

    it('sessions: expiry and disconnect time updated; subscriptions replaced by filter and removed; qos2 ids held and released', async () => {
      const { store } = await fresh();
      const changes = await commitAll(store, [
        [session('s', 60, 0), { op: 'subscribe', clientId: 's', subscription: subscription('a') }, { op: 'subscribe', clientId: 's', subscription: subscription('b') }],
        [
          session('s', 120, 1_700_000_000_000),
          { op: 'subscribe', clientId: 's', subscription: subscription('a', { qos: 2, subscriptionId: 3 }) },
          { op: 'unsubscribe', clientId: 's', topicFilter: 'b' },
          { op: 'unsubscribe', clientId: 's', topicFilter: 'never' },
          { op: 'qos2-received', clientId: 's', packetId: 10 },
          { op: 'qos2-received', clientId: 's', packetId: 11 },
        ],
        [{ op: 'qos2-released', clientId: 's', packetId: 10 }, session('s', 0xffffffff, 0)],
      ]);
      await expectState(store, changes);
    });

    it('wills: stored with their due time, replaced, done', async () => {
      const { store } = await fresh();
      const will = (topic: string, dueAt: number): StoredWill => ({ will: { topic, payload: utf8('gone'), qos: 1, retain: false, properties: { willDelayInterval: 5 } }, dueAt });
      const changes = await commitAll(store, [
        [session('w1', 60, 1000), { op: 'will', clientId: 'w1', will: will('w/1', 6000) }, session('w2', 60, 1000), { op: 'will', clientId: 'w2', will: will('w/2', 6000) }],
        [{ op: 'will', clientId: 'w1', will: will('w/1b', 7000) }, { op: 'will-done', clientId: 'w2' }],
      ]);
      await expectState(store, changes);
    });

    it('end-session deletes the session and all it holds; changes for unknown sessions are ignored', async () => {
      const { store } = await fresh();
      const changes = await commitAll(store, [
        richChanges(),
        [
          { op: 'end-session', clientId: 'alice' },
          { op: 'end-session', clientId: 'nobody' },
          { op: 'subscribe', clientId: 'ghost', subscription: subscription('g') },
          { op: 'message', clientId: 'ghost', entry: outgoing(1, 'g') },
          { op: 'qos2-received', clientId: 'ghost', packetId: 1 },
          { op: 'will', clientId: 'ghost', will: { will: { topic: 'g', payload: utf8(''), qos: 0, retain: false }, dueAt: 1 } },
        ],
        [session('alice', 5, 0)],
      ]);
      await expectState(store, changes);
      const alice = (await store.load()).sessions.find((s) => s.clientId === 'alice')!;
      expect(alice.messages).toEqual([]);
      expect(alice.subscriptions).toEqual([]);
      expect(alice.incomingQos2).toEqual([]);
      expect(alice.will).toBeUndefined();
    });

    it('a large batch (20,000 messages over 100 sessions, 20,000 retained topics) commits and loads whole', async () => {
      const { store } = await fresh();
      const batch: PersistenceChange[] = [];
      for (let s = 0; s < 100; s++) {
        batch.push(session(`c${s}`));
        for (let i = 1; i <= 200; i++) batch.push({ op: 'message', clientId: `c${s}`, entry: outgoing(i, `t/${s}/${i}`) });
      }
      for (let i = 0; i < 20_000; i++) batch.push({ op: 'retain', message: message(`r/${i % 100}/${i}`, `v${i}`, { retain: true }) });
      await store.commit(batch);
      const state = await store.load();
      expect([...state.retained].length).toBe(20_000);
      expect(state.sessions.length).toBe(100);
      for (const s of state.sessions) expect(s.messages.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it.skipIf(factory.reopen === undefined)('restart: the state is the same after close and reopen, and commits go on from it', async () => {
      const { store, where } = await fresh();
      const before = await commitAll(store, [richChanges(), [{ op: 'message-done', clientId: 'alice', seq: 3 }]]);
      const again = await reopen(where, store);
      await expectState(again, before);
      const after = await commitAll(again, [[{ op: 'message', clientId: 'alice', entry: outgoing(6, 'later') }, { op: 'unretain', topic: 'r/bin' }, { op: 'end-session', clientId: 'bob' }]]);
      await expectState(again, [...before, ...after]);
      const third = await reopen(where, again);
      await expectState(third, [...before, ...after]);
    });

    it.skipIf(factory.crash === undefined)('crash: every committed batch is there after the process died without close()', async () => {
      const { store, where } = await fresh();
      const batches: PersistenceChange[][] = [richChanges()];
      for (let i = 0; i < 50; i++) {
        batches.push([
          { op: 'message', clientId: 'alice', entry: outgoing(100 + i, `crash/${i}`) },
          { op: 'retain', message: message(`crash/${i}`, `v${i}`, { retain: true }) },
        ]);
      }
      const changes = await commitAll(store, batches);
      const again = await crash(where, store);
      await expectState(again, changes);
    });
  });
}
