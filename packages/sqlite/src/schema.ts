import type { Database } from 'better-sqlite3';

/**
 * The schema, one migration per version. A store records its version in `schema_version`;
 * opening runs the migrations it lacks, in one transaction each. Never edit a migration
 * that shipped: add the next one.
 *
 * One table per entity. Rows are keyed the way the broker's changes address them, so each
 * change is one statement on one primary key (WITHOUT ROWID: the row lives in that key's b-tree),
 * except messages (version 2): keyed by an id in recording order, which the adapter maps
 * (client id, seq) to.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the first layout.
  `
  CREATE TABLE retained (
    topic TEXT PRIMARY KEY,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    properties TEXT,
    expires_at INTEGER NOT NULL,
    origin TEXT
  ) WITHOUT ROWID;
  CREATE TABLE sessions (
    client_id TEXT PRIMARY KEY,
    expiry_interval INTEGER NOT NULL,
    disconnected_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE subscriptions (
    client_id TEXT NOT NULL,
    topic_filter TEXT NOT NULL,
    qos INTEGER NOT NULL,
    no_local INTEGER NOT NULL,
    retain_as_published INTEGER NOT NULL,
    retain_handling INTEGER NOT NULL,
    subscription_id INTEGER,
    share_group TEXT,
    PRIMARY KEY (client_id, topic_filter)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    message_qos INTEGER NOT NULL,
    message_retain INTEGER NOT NULL,
    properties TEXT,
    expires_at INTEGER NOT NULL,
    origin TEXT,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    subscription_ids TEXT,
    packet_id INTEGER NOT NULL,
    state INTEGER NOT NULL,
    PRIMARY KEY (client_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE incoming_qos2 (
    client_id TEXT NOT NULL,
    packet_id INTEGER NOT NULL,
    PRIMARY KEY (client_id, packet_id)
  ) WITHOUT ROWID;
  CREATE TABLE wills (
    client_id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    properties TEXT,
    due_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: messages keyed by an id that grows in the order they are recorded (the adapter maps
  // client id and seq to it in memory), not by (client_id, seq). Each turn's inserts land in
  // the table's last pages, its deletes in its first; a session's messages recorded together
  // get consecutive ids, so those sent or acknowledged together are one statement on a range.
  `
  CREATE TABLE messages_v2 (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    message_qos INTEGER NOT NULL,
    message_retain INTEGER NOT NULL,
    properties TEXT,
    expires_at INTEGER NOT NULL,
    origin TEXT,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    subscription_ids TEXT,
    packet_id INTEGER NOT NULL,
    state INTEGER NOT NULL
  );
  INSERT INTO messages_v2 (client_id, seq, topic, payload, message_qos, message_retain, properties, expires_at, origin, qos, retain, subscription_ids, packet_id, state)
    SELECT client_id, seq, topic, payload, message_qos, message_retain, properties, expires_at, origin, qos, retain, subscription_ids, packet_id, state
    FROM messages ORDER BY client_id, seq;
  DROP TABLE messages;
  ALTER TABLE messages_v2 RENAME TO messages;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the store to SCHEMA_VERSION; throws on a store this code does not know. */
export function migrate(db: Database, file: string): void {
  const hasVersionTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get() !== undefined;
  if (!hasVersionTable) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (tables.n !== 0) throw new Error(`${file} is an SQLite database but not a hato store (no schema_version table)`);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0);');
  }
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  const version = row?.version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${file} has schema version ${version}, newer than this hato understands (${SCHEMA_VERSION}): upgrade hato`);
  }
  for (let next = version; next < SCHEMA_VERSION; next++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[next]!);
      db.prepare('UPDATE schema_version SET version = ?').run(next + 1);
    })();
  }
}
