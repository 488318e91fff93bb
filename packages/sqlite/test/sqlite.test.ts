import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqlitePersistence, SqliteStoreError } from '../src/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hato-sqlite-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Opens and loads, retained messages too (read lazily): what the broker does at start. */
function openAndLoad(file: string): void {
  const store = new SqlitePersistence(file);
  try {
    const state = store.load();
    for (const _message of state.retained) {
      // read every row
    }
  } finally {
    store.close();
  }
}

function filled(file: string, topics: number): void {
  const store = new SqlitePersistence(file);
  const payload = new Uint8Array(200).fill(7);
  store.commit(Array.from({ length: topics }, (_, i) => ({ op: 'retain' as const, message: { topic: `t/${i}`, payload, qos: 1 as const, retain: true, properties: undefined, expiresAt: 0, origin: undefined } })));
  store.close();
}

describe('SqlitePersistence: the file', () => {
  it('creates the store (and its directory) with WAL and schema_version at the current version', () => {
    const file = join(dir, 'deep', 'er', 'hato.db');
    new SqlitePersistence(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['incoming_qos2', 'messages', 'retained', 'schema_version', 'sessions', 'subscriptions', 'wills']);
    db.close();
  });

  it('a file of garbage: a clear error naming the file, at open', () => {
    const file = join(dir, 'hato.db');
    writeFileSync(file, Buffer.alloc(64 * 1024, 'not a database at all '));
    expect(() => openAndLoad(file)).toThrowError(SqliteStoreError);
    expect(() => openAndLoad(file)).toThrowError(file);
  });

  it('a truncated file: a clear error naming the file (never an empty start)', () => {
    const file = join(dir, 'hato.db');
    filled(file, 5000);
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(100_000);
    truncateSync(file, Math.floor(size / 2));
    let error: unknown;
    try {
      openAndLoad(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SqliteStoreError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/corrupt|truncated|malformed/);
  });

  it('a file truncated to nothing is refused, not taken as a new empty store', () => {
    const file = join(dir, 'hato.db');
    filled(file, 10);
    truncateSync(file, 0);
    expect(() => openAndLoad(file)).toThrowError(/empty \(truncated\?\)/);
  });

  it('an SQLite database that is not a hato store is refused', () => {
    const file = join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE stuff (x)');
    db.close();
    expect(() => openAndLoad(file)).toThrowError(/not a hato store/);
  });

  it('a store from a newer hato (higher schema version) is refused', () => {
    const file = join(dir, 'hato.db');
    new SqlitePersistence(file).close();
    const db = new Database(file);
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    expect(() => openAndLoad(file)).toThrowError(/newer than this hato understands/);
  });

  it('a batch is one transaction: a failing change leaves nothing of its batch', () => {
    const file = join(dir, 'hato.db');
    const store = new SqlitePersistence(file);
    const retain = (topic: string) => ({ op: 'retain' as const, message: { topic, payload: new Uint8Array(1), qos: 0 as const, retain: true, properties: undefined, expiresAt: 0, origin: undefined } });
    const bad = { op: 'message-state', clientId: 'c', seq: 1, packetId: 1, state: 'nonsense' } as never;
    store.commit([{ op: 'session', clientId: 'c', expiryInterval: 10, disconnectedAt: 0 }, retain('kept')]);
    expect(() => store.commit([retain('lost'), bad])).toThrow();
    expect([...store.load().retained].map((m) => m.topic)).toEqual(['kept']);
    store.close();
  });

  it('a batch that rolls back leaves its message rows as they were, and the next batches address them', () => {
    const file = join(dir, 'hato.db');
    const store = new SqlitePersistence(file);
    const bad = { op: 'message-state', clientId: 'c', seq: 1, packetId: 1, state: 'nonsense' } as never;
    store.commit([{ op: 'session', clientId: 'c', expiryInterval: 10, disconnectedAt: 0 }, message('c', 1), message('c', 2)]);
    expect(() => store.commit([{ op: 'message-done', clientId: 'c', seq: 1 }, { op: 'end-session', clientId: 'c' }, message('c', 3), bad])).toThrow();
    expect(seqs(store)).toEqual([1, 2]);
    store.commit([{ op: 'message-done', clientId: 'c', seq: 1 }, { op: 'message-state', clientId: 'c', seq: 2, packetId: 9, state: 'awaiting-puback' }]);
    expect(store.load().sessions[0]!.messages.map((m) => [m.seq, m.packetId, m.state])).toEqual([[2, 9, 'awaiting-puback']]);
    store.close();
  });

  it('runs of messages recorded, sent and acknowledged together are stored as each change says', () => {
    const file = join(dir, 'hato.db');
    let store = new SqlitePersistence(file);
    const session = (clientId: string) => ({ op: 'session' as const, clientId, expiryInterval: 10, disconnectedAt: 0 });
    const state = (clientId: string, seq: number, packetId: number) => ({ op: 'message-state' as const, clientId, seq, packetId, state: 'awaiting-puback' as const });
    const done = (clientId: string, seq: number) => ({ op: 'message-done' as const, clientId, seq });
    store.commit([session('a'), session('b'), ...[1, 2, 3, 4, 5, 6].flatMap((seq) => [message('a', seq), message('b', seq)])]);
    // a: 1-4 sent with consecutive packet ids (one run), 5 with a gap; b: sent out of order.
    store.commit([state('a', 1, 10), state('a', 2, 11), state('a', 3, 12), state('a', 4, 13), state('a', 5, 20), state('b', 3, 1), state('b', 1, 2), state('b', 2, 3)]);
    store.commit([done('a', 2), done('a', 3), done('a', 1), done('b', 2), done('a', 6), message('a', 7), state('a', 7, 21), message('a', 8), done('a', 8)]);
    store.close();
    store = new SqlitePersistence(file);
    const loaded = new Map(store.load().sessions.map((s) => [s.clientId, s.messages.map((m) => [m.seq, m.packetId, m.state])]));
    expect(loaded.get('a')).toEqual([
      [4, 13, 'awaiting-puback'],
      [5, 20, 'awaiting-puback'],
      [7, 21, 'awaiting-puback'],
    ]);
    expect(loaded.get('b')).toEqual([
      [1, 2, 'awaiting-puback'],
      [3, 1, 'awaiting-puback'],
      [4, 0, 'queued'],
      [5, 0, 'queued'],
      [6, 0, 'queued'],
    ]);
    store.close();
  });

  it('a store of schema version 1 (messages keyed by client id and seq) is migrated, its messages kept', () => {
    const file = join(dir, 'hato.db');
    const db = new Database(file);
    db.exec(`
      CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
      CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, expires_at INTEGER NOT NULL, origin TEXT) WITHOUT ROWID;
      CREATE TABLE sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL, disconnected_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE subscriptions (client_id TEXT NOT NULL, topic_filter TEXT NOT NULL, qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL, retain_handling INTEGER NOT NULL, subscription_id INTEGER, share_group TEXT, PRIMARY KEY (client_id, topic_filter)) WITHOUT ROWID;
      CREATE TABLE messages (client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, message_qos INTEGER NOT NULL, message_retain INTEGER NOT NULL, properties TEXT, expires_at INTEGER NOT NULL, origin TEXT, qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, packet_id INTEGER NOT NULL, state INTEGER NOT NULL, PRIMARY KEY (client_id, seq)) WITHOUT ROWID;
      CREATE TABLE incoming_qos2 (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
      CREATE TABLE wills (client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, properties TEXT, due_at INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO sessions VALUES ('z', 10, 0), ('a', 10, 0);
      INSERT INTO messages VALUES ('z', 2, 't/z2', x'02', 1, 0, NULL, 0, 'p', 1, 0, '[3]', 5, 1), ('z', 1, 't/z1', x'01', 1, 0, NULL, 0, NULL, 1, 0, NULL, 0, 0), ('a', 7, 't/a7', x'07', 2, 1, NULL, 0, NULL, 2, 1, NULL, 4, 3);
    `);
    db.close();
    let store = new SqlitePersistence(file);
    const summary = (s: SqlitePersistence) =>
      Object.fromEntries(s.load().sessions.map((r) => [r.clientId, r.messages.map((m) => [m.seq, m.message.topic, m.packetId, m.state, m.subscriptionIds, m.message.origin])]));
    const expected = {
      a: [[7, 't/a7', 4, 'awaiting-pubcomp', undefined, undefined]],
      z: [
        [1, 't/z1', 0, 'queued', undefined, undefined],
        [2, 't/z2', 5, 'awaiting-puback', [3], 'p'],
      ],
    };
    expect(summary(store)).toEqual(expected);
    store.commit([{ op: 'message-done', clientId: 'z', seq: 1 }, message('a', 8)]);
    store.close();
    store = new SqlitePersistence(file);
    expect(summary(store)).toEqual({ a: [...expected.a, [8, 't/8', 0, 'queued', undefined, undefined]], z: [expected.z[1]] });
    store.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
    check.close();
  });
});

function message(clientId: string, seq: number) {
  return {
    op: 'message' as const,
    clientId,
    entry: {
      seq,
      message: { topic: `t/${seq}`, payload: new Uint8Array([seq]), qos: 1 as const, retain: false, properties: undefined, expiresAt: 0, origin: undefined },
      qos: 1 as const,
      retain: false,
      subscriptionIds: undefined,
      packetId: 0,
      state: 'queued' as const,
    },
  };
}

function seqs(store: SqlitePersistence): number[] {
  return store.load().sessions.flatMap((s) => s.messages.map((m) => m.seq));
}
