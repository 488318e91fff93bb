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
});
