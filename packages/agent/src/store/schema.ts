/**
 * Versioned migrations, applied in order and recorded in PRAGMA user_version.
 *
 * Each synced table is materialised with, per column, the winning value (JSON text) and the hlc that
 * wrote it (`<column>_hlc`). Applying a change message is then a single conditional upsert
 * ("write if my hlc is greater"), which is the last-writer-wins merge itself, with no read-back.
 * `deleted` (the tombstone) is kept as an integer so queries can filter on it.
 */
import { TABLE_NAMES, TABLES, type TableName } from "@perpetuanet/core";

export function columnsOf(table: TableName): string[] {
  return Object.keys(TABLES[table]);
}

function materialisedTable(table: TableName): string {
  const cols = columnsOf(table)
    .filter((c) => c !== "deleted")
    .flatMap((c) => [`"${c}" TEXT`, `"${c}_hlc" TEXT`]);
  const body = `${cols.join(", ")}, deleted INTEGER NOT NULL DEFAULT 0, deleted_hlc TEXT`;
  // Links need an integer rowid for the full-text index; the other tables are keyed by id alone.
  return table === "links"
    ? `CREATE TABLE links (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ${body});`
    : `CREATE TABLE "${table}" (id TEXT PRIMARY KEY, ${body}) WITHOUT ROWID;`;
}

export const MIGRATIONS: string[] = [
  [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    // The applied message log, as ciphertext: what this PC forwards to peers and pushes to the server.
    `CREATE TABLE log (origin TEXT NOT NULL, seq INTEGER NOT NULL, hlc TEXT NOT NULL, data TEXT NOT NULL,
       server_acked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (origin, seq)) WITHOUT ROWID;`,
    "CREATE INDEX log_pending ON log (server_acked) WHERE server_acked = 0;",
    "CREATE TABLE marks (origin TEXT PRIMARY KEY, contiguous INTEGER NOT NULL) WITHOUT ROWID;",
    ...TABLE_NAMES.map(materialisedTable),
    `CREATE INDEX links_created ON links ("createdAt");`,
    `CREATE INDEX downloads_link ON downloads ("linkId");`,
    "CREATE VIRTUAL TABLE links_fts USING fts5(title, tags, notes, url, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');",
    "CREATE TABLE fts_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID;",
    `CREATE TABLE peers (peer_id TEXT PRIMARY KEY, device_id TEXT, addresses TEXT NOT NULL, last_seen INTEGER,
       last_sync INTEGER, failures INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;`,
    "CREATE TABLE notices (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;",
    "CREATE TABLE torrent_files (info_hash TEXT PRIMARY KEY, bytes BLOB NOT NULL) WITHOUT ROWID;",
  ].join("\n"),
  // 2: the log in arrival order (a rowid table) with (origin, seq) as a unique index. Keyed by (origin,
  // seq) it was written at one insertion point per origin in the middle of the tree, and the pending
  // index with it: a bulk merge wrote ~15 % more pages, and every page written costs an encryption.
  [
    `CREATE TABLE log_v2 (rid INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL, hlc TEXT NOT NULL,
       data TEXT NOT NULL, server_acked INTEGER NOT NULL DEFAULT 0, UNIQUE (origin, seq));`,
    `INSERT INTO log_v2 (origin, seq, hlc, data, server_acked)
       SELECT origin, seq, hlc, data, server_acked FROM log ORDER BY hlc, origin, seq;`,
    "DROP INDEX log_pending;",
    "DROP TABLE log;",
    "ALTER TABLE log_v2 RENAME TO log;",
    "CREATE INDEX log_pending ON log (server_acked) WHERE server_acked = 0;",
  ].join("\n"),
];
