import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Persistence, PersistenceChange, SessionRecord, SessionSubscription, StoredMessage, StoredOutgoing, StoredState, StoredWill } from '@hato/broker';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { blob, decodeProperties, encodeProperties, stateCode, stateOf } from './codec.js';
import { migrate } from './schema.js';

/**
 * `synchronous` (SQLite's PRAGMA, in WAL mode):
 * - `normal` (default): a commit is written to the WAL file (handed to the OS) before the
 *   acks it holds go out, and fsync'd at checkpoints. It survives hato crashing or being
 *   killed (`kill -9`); a power cut or OS crash may lose the last commits (never corrupt).
 * - `full`: every commit is also fsync'd before the acks go: it survives a power cut too.
 *   Costs one fsync per commit (one per event-loop turn with group commit, not per message).
 */
export type SqliteSynchronous = 'normal' | 'full';

export interface SqlitePersistenceOptions {
  /** Default 'normal'; see SqliteSynchronous. */
  synchronous?: SqliteSynchronous;
}

/** The file could not be opened as a hato store: corrupt, truncated, not SQLite, or too new. */
export class SqliteStoreError extends Error {
  override readonly name = 'SqliteStoreError';
  readonly file: string;

  constructor(file: string, message: string, cause?: unknown) {
    super(`SQLite store ${file}: ${message}`, { cause });
    this.file = file;
  }
}

type Row = unknown[];

/**
 * Persistence on SQLite (better-sqlite3, WAL): one table per entity (retained, sessions,
 * subscriptions, messages, incoming_qos2, wills), schema migrations (`schema_version`), each
 * batch of changes one transaction of prepared statements, committed synchronously.
 */
export class SqlitePersistence implements Persistence {
  readonly file: string;
  private readonly db: Db;
  private readonly statements: ReturnType<typeof prepare>;
  private readonly applyBatch: (batch: readonly PersistenceChange[]) => void;

  /** Opens (creating it, and its directory, if absent) the store at `file`. Throws SqliteStoreError when it is unusable. */
  constructor(file: string, options: SqlitePersistenceOptions = {}) {
    this.file = resolve(file);
    if (existsSync(this.file) && statSync(this.file).size === 0) {
      // SQLite would take it as a new, empty database: a store never starts silently empty.
      throw new SqliteStoreError(this.file, 'the file is empty (truncated?); move it away to start with an empty store');
    }
    mkdirSync(dirname(this.file), { recursive: true });
    let db: Db | undefined;
    try {
      db = new Database(this.file);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrate(db, this.file);
      this.statements = prepare(db);
    } catch (err) {
      db?.close();
      throw err instanceof SqliteStoreError ? err : new SqliteStoreError(this.file, `cannot be opened (corrupt or not a hato store?): ${(err as Error).message}`, err);
    }
    this.db = db;
    this.applyBatch = db.transaction((batch: readonly PersistenceChange[]) => {
      for (const change of batch) this.apply(change);
    });
  }

  load(): StoredState {
    try {
      return this.loadAll();
    } catch (err) {
      throw new SqliteStoreError(this.file, `cannot be read (corrupt or truncated?): ${(err as Error).message}`, err);
    }
  }

  /** Retained messages are read lazily, as the broker takes them (no million rows at once). */
  private *retainedRows(): Generator<StoredMessage> {
    try {
      for (const row of this.statements.allRetained.iterate() as IterableIterator<Row>) {
        yield messageFromRow(row, 0);
      }
    } catch (err) {
      throw new SqliteStoreError(this.file, `cannot be read (corrupt or truncated?): ${(err as Error).message}`, err);
    }
  }

  private loadAll(): StoredState {
    const s = this.statements;
    const retained = this.retainedRows();
    type Building = { -readonly [K in keyof SessionRecord]: K extends 'subscriptions' | 'messages' | 'incomingQos2' ? unknown[] : SessionRecord[K] };
    const sessions = new Map<string, Building>();
    for (const row of s.allSessions.iterate() as IterableIterator<Row>) {
      const clientId = row[0] as string;
      sessions.set(clientId, { clientId, expiryInterval: row[1] as number, disconnectedAt: row[2] as number, subscriptions: [], messages: [], incomingQos2: [], will: undefined });
    }
    for (const row of s.allSubscriptions.iterate() as IterableIterator<Row>) {
      const record = sessions.get(row[0] as string);
      if (record === undefined) continue;
      const subscription: SessionSubscription = {
        topicFilter: row[1] as string,
        qos: row[2] as 0,
        noLocal: row[3] === 1,
        retainAsPublished: row[4] === 1,
        retainHandling: row[5] as 0,
        subscriptionId: (row[6] as number | null) ?? undefined,
        group: (row[7] as string | null) ?? undefined,
      };
      record.subscriptions.push(subscription);
    }
    for (const row of s.allMessages.iterate() as IterableIterator<Row>) {
      const record = sessions.get(row[0] as string);
      if (record === undefined) continue;
      const message = messageFromRow(row, 2);
      const ids = row[11] as string | null;
      const entry: StoredOutgoing = {
        seq: row[1] as number,
        message,
        qos: row[9] as 0,
        retain: row[10] === 1,
        subscriptionIds: ids === null ? undefined : (JSON.parse(ids) as number[]),
        packetId: row[12] as number,
        state: stateOf(row[13] as number),
      };
      record.messages.push(entry);
    }
    for (const row of s.allQos2.iterate() as IterableIterator<Row>) sessions.get(row[0] as string)?.incomingQos2.push(row[1] as number);
    for (const row of s.allWills.iterate() as IterableIterator<Row>) {
      const record = sessions.get(row[0] as string);
      if (record === undefined) continue;
      const properties = decodeProperties<StoredWill['will']['properties']>(row[5] as string | null);
      const will: StoredWill['will'] = { topic: row[1] as string, payload: row[2] as Buffer, qos: row[3] as 0, retain: row[4] === 1 };
      if (properties !== undefined) will.properties = properties;
      record.will = { will, dueAt: row[6] as number };
    }
    return { retained, sessions: [...sessions.values()] as SessionRecord[] };
  }

  /** One transaction for the whole batch; returns once SQLite committed it (see `synchronous`). */
  commit(batch: readonly PersistenceChange[]): void {
    if (batch.length !== 0) this.applyBatch(batch);
  }

  private apply(change: PersistenceChange): void {
    const s = this.statements;
    switch (change.op) {
      case 'retain': {
        const m = change.message;
        s.putRetained.run(m.topic, blob(m.payload), m.qos, m.retain ? 1 : 0, encodeProperties(m.properties), m.expiresAt, m.origin ?? null);
        return;
      }
      case 'unretain':
        s.deleteRetained.run(change.topic);
        return;
      case 'session':
        if (s.updateSession.run(change.expiryInterval, change.disconnectedAt, change.clientId).changes === 0) {
          // New: whatever rows an unknown session's changes left under this id go first.
          this.deleteSessionRows(change.clientId);
          s.insertSession.run(change.clientId, change.expiryInterval, change.disconnectedAt);
        }
        return;
      case 'end-session':
        s.deleteSession.run(change.clientId);
        this.deleteSessionRows(change.clientId);
        return;
      case 'subscribe': {
        const sub = change.subscription;
        s.putSubscription.run(change.clientId, sub.topicFilter, sub.qos, sub.noLocal ? 1 : 0, sub.retainAsPublished ? 1 : 0, sub.retainHandling, sub.subscriptionId ?? null, sub.group ?? null);
        return;
      }
      case 'unsubscribe':
        s.deleteSubscription.run(change.clientId, change.topicFilter);
        return;
      case 'message': {
        const e = change.entry;
        const m = e.message;
        s.putMessage.run(
          change.clientId,
          e.seq,
          m.topic,
          blob(m.payload),
          m.qos,
          m.retain ? 1 : 0,
          m.properties === undefined ? null : encodeProperties(m.properties),
          m.expiresAt,
          m.origin ?? null,
          e.qos,
          e.retain ? 1 : 0,
          e.subscriptionIds === undefined ? null : JSON.stringify(e.subscriptionIds),
          e.packetId,
          stateCode(e.state),
        );
        return;
      }
      case 'message-state':
        s.updateMessageState.run(change.packetId, stateCode(change.state), change.clientId, change.seq);
        return;
      case 'message-done':
        s.deleteMessage.run(change.clientId, change.seq);
        return;
      case 'qos2-received':
        s.putQos2.run(change.clientId, change.packetId);
        return;
      case 'qos2-released':
        s.deleteQos2.run(change.clientId, change.packetId);
        return;
      case 'will': {
        const w = change.will.will;
        s.putWill.run(change.clientId, w.topic, blob(w.payload), w.qos, w.retain ? 1 : 0, encodeProperties(w.properties), change.will.dueAt);
        return;
      }
      case 'will-done':
        s.deleteWill.run(change.clientId);
        return;
    }
  }

  private deleteSessionRows(clientId: string): void {
    const s = this.statements;
    s.deleteSubscriptions.run(clientId);
    s.deleteMessages.run(clientId);
    s.deleteAllQos2.run(clientId);
    s.deleteWill.run(clientId);
  }

  close(): void {
    if (!this.db.open) return;
    this.db.close();
  }
}

function prepare(db: Db) {
  const raw = (sql: string): Statement<unknown[]> => db.prepare(sql).raw(true);
  return {
    allRetained: raw('SELECT topic, payload, qos, retain, properties, expires_at, origin FROM retained'),
    allSessions: raw('SELECT client_id, expiry_interval, disconnected_at FROM sessions'),
    allSubscriptions: raw('SELECT client_id, topic_filter, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group FROM subscriptions'),
    allMessages: raw(
      'SELECT client_id, seq, topic, payload, message_qos, message_retain, properties, expires_at, origin, qos, retain, subscription_ids, packet_id, state FROM messages ORDER BY client_id, seq',
    ),
    allQos2: raw('SELECT client_id, packet_id FROM incoming_qos2'),
    allWills: raw('SELECT client_id, topic, payload, qos, retain, properties, due_at FROM wills'),
    putRetained: db.prepare('INSERT OR REPLACE INTO retained (topic, payload, qos, retain, properties, expires_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteRetained: db.prepare('DELETE FROM retained WHERE topic = ?'),
    updateSession: db.prepare('UPDATE sessions SET expiry_interval = ?, disconnected_at = ? WHERE client_id = ?'),
    insertSession: db.prepare('INSERT INTO sessions (client_id, expiry_interval, disconnected_at) VALUES (?, ?, ?)'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE client_id = ?'),
    putSubscription: db.prepare(
      'INSERT OR REPLACE INTO subscriptions (client_id, topic_filter, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE client_id = ? AND topic_filter = ?'),
    deleteSubscriptions: db.prepare('DELETE FROM subscriptions WHERE client_id = ?'),
    putMessage: db.prepare(
      'INSERT OR REPLACE INTO messages (client_id, seq, topic, payload, message_qos, message_retain, properties, expires_at, origin, qos, retain, subscription_ids, packet_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    updateMessageState: db.prepare('UPDATE messages SET packet_id = ?, state = ? WHERE client_id = ? AND seq = ?'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE client_id = ? AND seq = ?'),
    deleteMessages: db.prepare('DELETE FROM messages WHERE client_id = ?'),
    putQos2: db.prepare('INSERT OR IGNORE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)'),
    deleteQos2: db.prepare('DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?'),
    deleteAllQos2: db.prepare('DELETE FROM incoming_qos2 WHERE client_id = ?'),
    putWill: db.prepare('INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteWill: db.prepare('DELETE FROM wills WHERE client_id = ?'),
  };
}

/** A message from the seven columns (topic, payload, qos, retain, properties, expiresAt, origin) at `at`. */
function messageFromRow(row: Row, at: number): StoredMessage {
  return {
    topic: row[at] as string,
    payload: row[at + 1] as Buffer,
    qos: row[at + 2] as 0,
    retain: row[at + 3] === 1,
    properties: decodeProperties(row[at + 4] as string | null),
    expiresAt: row[at + 5] as number,
    origin: (row[at + 6] as string | null) ?? undefined,
  };
}
