import { closeSync, existsSync, fdatasync, mkdirSync, openSync, statSync } from 'node:fs';
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

/** The columns of a message row, in the order `insertPending` gives them. */
const MESSAGE_COLUMNS = ['id', 'client_id', 'seq', 'topic', 'payload', 'message_qos', 'message_retain', 'properties', 'expires_at', 'origin', 'qos', 'retain', 'subscription_ids', 'packet_id', 'state'];
/** Message rows a multi-row INSERT takes at most (16 x 15 values: far below SQLite's limit of 32,766). */
const ROWS_PER_INSERT = 16;
/** The background fsync of the WAL runs at most this often (ms); see `syncWal`. */
const WAL_SYNC_MS = 50;

/** What `commit` undoes in the id map when its transaction rolls back: (client id, seq, the id it had). */
type IdUndo = [clientId: string, seq: number, id: number | undefined];

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
  /**
   * The id of every row of `messages`, by client id and seq (rows are keyed by an id in
   * recording order, see schema version 2): read at the first load or commit, then kept with
   * every commit.
   */
  private ids: Map<string, Map<number, number>> | undefined;
  private nextId = 1;
  /** This batch's 'message' changes, by client id and seq: inserted at its end, in their last state, unless done meanwhile. */
  private readonly pending = new Map<string, Map<number, StoredOutgoing>>();
  /** This batch's state changes of stored rows, flat (id, packet id, state code), in order: applied at its end, in runs. */
  private readonly updates: number[] = [];
  /** The ids of the stored rows this batch deletes: deleted at its end, in runs of consecutive ids. */
  private readonly deletes: number[] = [];
  /** This batch's changes to `ids`, undone if its transaction rolls back. */
  private readonly idUndo: IdUndo[] = [];
  /** The values of the message rows being inserted (reused). */
  private readonly rowValues: unknown[] = [];
  /** `synchronous` normal: the WAL is fsync'd in the background as commits come (see `syncWal`). */
  private readonly backgroundSync: boolean;
  /** The WAL file, opened for `syncWal` (-1: it could not be). */
  private walFd: number | undefined;
  private walSyncing = false;
  private walSyncedAt = 0;
  /** INSERTs of 1 to ROWS_PER_INSERT message rows, prepared as needed. */
  private readonly putMessageStatements: (Statement<unknown[]> | undefined)[] = [];

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
      // Checkpoints (WAL copied into the database, both fsync'd) block the commit that runs them:
      // every 10,000 pages (~40 MiB of WAL) rather than SQLite's 1,000, so 10x fewer of them (a
      // busy store rewrites the same few pages, which one checkpoint copies once). Commits are as
      // durable either way; the WAL file is cut back to 64 MiB after a checkpoint that grew it.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      migrate(db, this.file);
      this.statements = prepare(db);
    } catch (err) {
      db?.close();
      throw err instanceof SqliteStoreError ? err : new SqliteStoreError(this.file, `cannot be opened (corrupt or not a hato store?): ${(err as Error).message}`, err);
    }
    this.db = db;
    this.backgroundSync = options.synchronous !== 'full';
    this.applyBatch = db.transaction((batch: readonly PersistenceChange[]) => {
      for (const change of batch) this.apply(change);
      this.writeMessages();
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
    // Every message row, into the id map too (rows of unknown sessions as well: a new session under their id deletes them).
    const ids = new Map<string, Map<number, number>>();
    let nextId = 1;
    let unordered: Set<Building> | undefined;
    for (const row of s.allMessages.iterate() as IterableIterator<Row>) {
      const clientId = row[1] as string;
      const seq = row[2] as number;
      const id = row[0] as number;
      let byClient = ids.get(clientId);
      if (byClient === undefined) ids.set(clientId, (byClient = new Map()));
      byClient.set(seq, id);
      if (id >= nextId) nextId = id + 1;
      const record = sessions.get(clientId);
      if (record === undefined) continue;
      const message = messageFromRow(row, 3);
      const subscriptionIds = row[12] as string | null;
      const entry: StoredOutgoing = {
        seq,
        message,
        qos: row[10] as 0,
        retain: row[11] === 1,
        subscriptionIds: subscriptionIds === null ? undefined : (JSON.parse(subscriptionIds) as number[]),
        packetId: row[13] as number,
        state: stateOf(row[14] as number),
      };
      const last = record.messages.at(-1) as StoredOutgoing | undefined;
      if (last !== undefined && last.seq > seq) (unordered ??= new Set()).add(record);
      record.messages.push(entry);
    }
    // Rows come in recording order, which is seq order within a session but for a seq recorded again.
    for (const record of unordered ?? []) (record.messages as StoredOutgoing[]).sort((a, b) => a.seq - b.seq);
    this.ids = ids;
    this.nextId = nextId;
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
    if (batch.length === 0) return;
    if (this.ids === undefined) this.readIds();
    const nextId = this.nextId;
    try {
      this.applyBatch(batch);
    } catch (err) {
      // Rolled back: so are the batch's changes to the id map.
      const undo = this.idUndo;
      for (let i = undo.length - 1; i >= 0; i--) {
        const [clientId, seq, id] = undo[i]!;
        if (id === undefined) this.ids!.get(clientId)?.delete(seq);
        else this.idsOf(clientId).set(seq, id);
      }
      this.nextId = nextId;
      throw err;
    } finally {
      this.pending.clear();
      this.updates.length = 0;
      this.deletes.length = 0;
      this.idUndo.length = 0;
    }
    if (this.backgroundSync) this.syncWal();
  }

  /** The id map, from the table (a commit before any load). */
  private readIds(): void {
    const ids = new Map<string, Map<number, number>>();
    let nextId = 1;
    for (const row of this.statements.allMessageIds.iterate() as IterableIterator<Row>) {
      const id = row[0] as number;
      let byClient = ids.get(row[1] as string);
      if (byClient === undefined) ids.set(row[1] as string, (byClient = new Map()));
      byClient.set(row[2] as number, id);
      if (id >= nextId) nextId = id + 1;
    }
    this.ids = ids;
    this.nextId = nextId;
  }

  private idsOf(clientId: string): Map<number, number> {
    const ids = this.ids!;
    let byClient = ids.get(clientId);
    if (byClient === undefined) ids.set(clientId, (byClient = new Map()));
    return byClient;
  }

  /**
   * The batch's message rows, at its end: state changes of stored rows (in order), deletes,
   * then the 'message' changes still pending. Rows of one session recorded together have
   * consecutive ids, and are sent and acknowledged together: a run of them is one statement.
   * (Deleted ids are never used again, and a seq recorded again is pending: the order holds.)
   */
  private writeMessages(): void {
    const s = this.statements;
    const u = this.updates;
    for (let i = 0; i < u.length; ) {
      // A run: consecutive ids, consecutive packet ids, one state.
      let j = i + 3;
      while (j < u.length && u[j] === u[j - 3]! + 1 && u[j + 1] === u[j - 2]! + 1 && u[j + 2] === u[i + 2]) j += 3;
      if (j === i + 3) s.updateMessageState.run(u[i + 1], u[i + 2], u[i]);
      else s.updateMessageStates.run(u[i + 1], u[i], u[i + 2], u[i], u[j - 3]);
      i = j;
    }
    const d = this.deletes;
    if (d.length > 1) d.sort(byNumber);
    for (let i = 0; i < d.length; ) {
      let j = i + 1;
      while (j < d.length && d[j] === d[j - 1]! + 1) j++;
      if (j === i + 1) s.deleteMessage.run(d[i]);
      else s.deleteMessages.run(d[i], d[j - 1]);
      i = j;
    }
    this.insertPending();
  }

  /** The batch's 'message' changes still pending, one row each (a seq already stored keeps its row id). */
  private insertPending(): void {
    const values = this.rowValues;
    let rows = 0;
    for (const [clientId, entries] of this.pending) {
      if (entries.size === 0) continue;
      const byClient = this.idsOf(clientId);
      for (const e of entries.values()) {
        const had = byClient.get(e.seq);
        const id = had ?? this.nextId++;
        const m = e.message;
        values.push(
          id,
          clientId,
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
        if (had === undefined) {
          byClient.set(e.seq, id);
          this.idUndo.push([clientId, e.seq, undefined]);
        }
        if (++rows === ROWS_PER_INSERT) {
          this.putMessages(rows).run(values);
          values.length = 0;
          rows = 0;
        }
      }
    }
    if (rows !== 0) {
      this.putMessages(rows).run(values);
      values.length = 0;
    }
  }

  /** The INSERT of `rows` message rows (one statement a row costs more than its row: its call, its step). */
  private putMessages(rows: number): Statement<unknown[]> {
    let statement = this.putMessageStatements[rows];
    if (statement === undefined) {
      const row = `(${new Array(MESSAGE_COLUMNS.length).fill('?').join(', ')})`;
      statement = this.db.prepare(`INSERT OR REPLACE INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES ${new Array(rows).fill(row).join(', ')}`);
      this.putMessageStatements[rows] = statement;
    }
    return statement;
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
      // Messages: folded within the batch (a message recorded then moved on is inserted once,
      // in its last state; one recorded and done is not written at all), addressed by row id.
      case 'message': {
        stateCode(change.entry.state); // a bad state fails the batch here, as the other changes would
        let entries = this.pending.get(change.clientId);
        if (entries === undefined) this.pending.set(change.clientId, (entries = new Map()));
        entries.set(change.entry.seq, change.entry);
        return;
      }
      case 'message-state': {
        const code = stateCode(change.state);
        const entries = this.pending.get(change.clientId);
        const entry = entries?.get(change.seq);
        if (entry !== undefined) {
          entries!.set(change.seq, { ...entry, packetId: change.packetId, state: change.state });
          return;
        }
        const id = this.ids!.get(change.clientId)?.get(change.seq);
        if (id !== undefined) this.updates.push(id, change.packetId, code);
        return;
      }
      case 'message-done': {
        this.pending.get(change.clientId)?.delete(change.seq);
        const byClient = this.ids!.get(change.clientId);
        const id = byClient?.get(change.seq);
        if (id !== undefined) {
          this.deletes.push(id);
          byClient!.delete(change.seq);
          this.idUndo.push([change.clientId, change.seq, id]);
        }
        return;
      }
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
    this.pending.delete(clientId);
    const byClient = this.ids!.get(clientId);
    if (byClient !== undefined) {
      for (const [seq, id] of byClient) {
        this.deletes.push(id);
        this.idUndo.push([clientId, seq, id]);
      }
      byClient.clear();
    }
    s.deleteAllQos2.run(clientId);
    s.deleteWill.run(clientId);
  }

  /**
   * With `synchronous` normal a commit is written to the WAL, not fsync'd; a checkpoint (every
   * 10,000 pages) fsyncs the WAL before it copies it, and that fsync, which flushes everything
   * written since the last one, blocked the commit that ran it for tens of milliseconds. The WAL
   * is fsync'd in the background instead (libuv's thread pool, at most one at a time, at most
   * every WAL_SYNC_MS while commits come), so that the checkpoint finds little left to flush.
   * Only an earlier flush: what a commit guarantees is unchanged, and an error here is left to
   * SQLite's own fsync at the checkpoint.
   */
  private syncWal(): void {
    if (this.walSyncing) return;
    const now = performance.now();
    if (now - this.walSyncedAt < WAL_SYNC_MS) return;
    if (this.walFd === undefined) {
      try {
        this.walFd = openSync(`${this.file}-wal`, 'r');
      } catch {
        this.walFd = -1;
      }
    }
    if (this.walFd < 0) return;
    this.walSyncing = true;
    this.walSyncedAt = now;
    fdatasync(this.walFd, () => {
      this.walSyncing = false;
      if (!this.db.open) this.closeWal();
    });
  }

  private closeWal(): void {
    if (this.walFd !== undefined && this.walFd >= 0) closeSync(this.walFd);
    this.walFd = -1;
  }

  close(): void {
    if (!this.db.open) return;
    this.db.close();
    if (!this.walSyncing) this.closeWal();
  }
}

function prepare(db: Db) {
  const raw = (sql: string): Statement<unknown[]> => db.prepare(sql).raw(true);
  return {
    allRetained: raw('SELECT topic, payload, qos, retain, properties, expires_at, origin FROM retained'),
    allSessions: raw('SELECT client_id, expiry_interval, disconnected_at FROM sessions'),
    allSubscriptions: raw('SELECT client_id, topic_filter, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group FROM subscriptions'),
    allMessages: raw(
      'SELECT id, client_id, seq, topic, payload, message_qos, message_retain, properties, expires_at, origin, qos, retain, subscription_ids, packet_id, state FROM messages ORDER BY id',
    ),
    allMessageIds: raw('SELECT id, client_id, seq FROM messages'),
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
    updateMessageState: db.prepare('UPDATE messages SET packet_id = ?, state = ? WHERE id = ?'),
    updateMessageStates: db.prepare('UPDATE messages SET packet_id = ? + (id - ?), state = ? WHERE id >= ? AND id <= ?'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
    deleteMessages: db.prepare('DELETE FROM messages WHERE id >= ? AND id <= ?'),
    putQos2: db.prepare('INSERT OR IGNORE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)'),
    deleteQos2: db.prepare('DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?'),
    deleteAllQos2: db.prepare('DELETE FROM incoming_qos2 WHERE client_id = ?'),
    putWill: db.prepare('INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteWill: db.prepare('DELETE FROM wills WHERE client_id = ?'),
  };
}

const byNumber = (a: number, b: number): number => a - b;

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
