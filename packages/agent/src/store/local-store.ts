/**
 * The PC's whole data set in one SQLCipher (AES-256) file: the applied message log (for forwarding and
 * server push), the per-cell winners of the last-writer-wins merge, materialised rows for queries, and a
 * few local-only tables (node table, notices, .torrent files).
 */
import { createHash } from "node:crypto";
import {
  type ChangeMessage,
  type Envelope,
  type JsonValue,
  type Link,
  type NoticeView,
  originOf,
  parseChangeMessage,
  type RowOf,
  TABLE_NAMES,
  type TableName,
} from "@perpetuanet/core";
import Database from "better-sqlite3-multiple-ciphers";
import { useKey } from "./cipher.ts";
import { CorruptStoreError, InvalidEntryError, WrongKeyError } from "./errors.ts";
import { columnsOf, MIGRATIONS } from "./schema.ts";

export interface LoggedMessage {
  origin: string;
  seq: number;
  hlc: string;
  /** Envelope.data: the ciphertext as it travels, forwarded unchanged. */
  data: string;
  change: ChangeMessage;
}

/** A log entry as it travels: enough to forward or push, without decrypting. */
export interface StoredEnvelope {
  origin: string;
  seq: number;
  hlc: string;
  data: string;
}

export interface PeerRecord {
  peerId: string;
  deviceId: string | null;
  addresses: string[];
  lastSeen: number | null;
  lastSync: number | null;
  failures: number;
}

export interface OpenStoreOptions {
  path: string;
  /** Raw 256-bit SQLCipher key. */
  key: Buffer;
  /** Default true; false exists only to measure the cost of encryption. */
  encrypted?: boolean;
}

type Row = Record<string, unknown> & { id: string };
type Statement = Database.Statement;

function openDatabase(opts: OpenStoreOptions): Database.Database {
  if (opts.encrypted !== false && opts.key.length !== 32) throw new Error("the database key must be 32 bytes");
  let db: Database.Database;
  try {
    db = new Database(opts.path);
  } catch (error) {
    throw new CorruptStoreError(opts.path, (error as Error).message);
  }
  try {
    if (opts.encrypted !== false) useKey(db, opts.key);
    // Reading the schema is the first access that needs the key: nothing is written before it succeeds.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (error) {
    db.close();
    const code = (error as { code?: string }).code;
    if (code === "SQLITE_NOTADB") throw new WrongKeyError(opts.path);
    throw new CorruptStoreError(opts.path, (error as Error).message);
  }
  try {
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new Error(String(check));
  } catch (error) {
    db.close();
    throw new CorruptStoreError(opts.path, (error as Error).message);
  }
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // Checkpointing copies every WAL page back into the file, decrypting and re-encrypting it; doing it
  // every 1,000 pages (the default) doubled the cost of bulk merges. 10,000 pages = 40 MiB of WAL.
  db.pragma("wal_autocheckpoint = 10000");
  db.pragma("foreign_keys = ON");
  db.pragma("cache_size = -65536");
  db.pragma("temp_store = MEMORY");
  return db;
}

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`the local database was written by a newer PerpetuaNet (schema ${version}); update this app`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** FTS5 query from free text: every word must match, as a prefix. */
function ftsQuery(q: string): string | null {
  const words = q.match(/[\p{L}\p{N}]+/gu);
  if (!words || words.length === 0) return null;
  return words.map((w) => `"${w}"*`).join(" ");
}

export class LocalStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly listeners = new Set<(tables: TableName[]) => void>();
  private readonly stmt: Record<string, Statement>;
  private readonly writeCell = new Map<string, Statement>();

  static open(opts: OpenStoreOptions): LocalStore {
    return new LocalStore(opts);
  }

  private constructor(opts: OpenStoreOptions) {
    this.path = opts.path;
    this.db = openDatabase(opts);
    try {
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const db = this.db;
    this.stmt = {
      getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
      setMeta: db.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      insertLog: db.prepare(
        "INSERT INTO log (origin, seq, hlc, data, server_acked) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      ackLog: db.prepare("UPDATE log SET server_acked = 1 WHERE origin = ? AND seq = ? AND server_acked = 0"),
      logHlc: db.prepare("SELECT hlc FROM log WHERE origin = ? AND seq = ?").pluck(),
      getMark: db.prepare("SELECT contiguous FROM marks WHERE origin = ?").pluck(),
      setMark: db.prepare(
        "INSERT INTO marks (origin, contiguous) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous",
      ),
      hasSeq: db.prepare("SELECT 1 FROM log WHERE origin = ? AND seq = ?").pluck(),
      maxSeq: db.prepare("SELECT max(seq) FROM log WHERE origin = ?").pluck(),
      pending: db.prepare("SELECT origin, seq, hlc, data FROM log WHERE server_acked = 0 ORDER BY hlc LIMIT ?"),
      countPending: db.prepare("SELECT count(*) FROM log WHERE server_acked = 0").pluck(),
      countLog: db.prepare("SELECT count(*) FROM log").pluck(),
      marks: db.prepare("SELECT origin, contiguous FROM marks"),
      after: db.prepare("SELECT origin, seq, hlc, data FROM log WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?"),
      linkForFts: db.prepare("SELECT rid, title, tags, notes, url, deleted FROM links WHERE id = ?"),
      markFtsDirty: db.prepare("INSERT INTO fts_dirty (id) VALUES (?) ON CONFLICT DO NOTHING"),
      ftsDirty: db.prepare("SELECT id FROM fts_dirty").pluck(),
      clearFtsDirty: db.prepare("DELETE FROM fts_dirty"),
      ftsDelete: db.prepare("DELETE FROM links_fts WHERE rowid = ?"),
      ftsInsert: db.prepare("INSERT INTO links_fts (rowid, title, tags, notes, url) VALUES (?, ?, ?, ?, ?)"),
      upsertPeer: db.prepare(
        `INSERT INTO peers (peer_id, device_id, addresses, last_seen, last_sync, failures) VALUES (@peerId, @deviceId, @addresses, @lastSeen, @lastSync, @failures)
         ON CONFLICT (peer_id) DO UPDATE SET
           device_id = coalesce(excluded.device_id, peers.device_id), addresses = excluded.addresses,
           last_seen = coalesce(excluded.last_seen, peers.last_seen), last_sync = coalesce(excluded.last_sync, peers.last_sync),
           failures = coalesce(@failuresOrNull, peers.failures)`,
      ),
      listPeers: db.prepare("SELECT * FROM peers ORDER BY last_seen DESC"),
      addNotice: db.prepare("INSERT INTO notices (id, created_at, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      listNotices: db.prepare("SELECT body FROM notices ORDER BY created_at DESC LIMIT ?").pluck(),
      saveTorrent: db.prepare(
        "INSERT INTO torrent_files (info_hash, bytes) VALUES (?, ?) ON CONFLICT DO UPDATE SET bytes = excluded.bytes",
      ),
      loadTorrent: db.prepare("SELECT bytes FROM torrent_files WHERE info_hash = ?").pluck(),
    };
    // One "write if newer" upsert per (table, column): the last-writer-wins rule as SQL.
    for (const table of TABLE_NAMES) {
      for (const col of columnsOf(table)) {
        this.writeCell.set(
          `${table}.${col}`,
          db.prepare(
            `INSERT INTO "${table}" (id, "${col}", "${col}_hlc") VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET "${col}" = excluded."${col}", "${col}_hlc" = excluded."${col}_hlc"
             WHERE excluded."${col}_hlc" > coalesce("${table}"."${col}_hlc", '')`,
          ),
        );
      }
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getMeta(key: string): string | undefined {
    return (this.stmt.getMeta!.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta!.run(key, value);
  }

  /**
   * Applies entries from anywhere (this PC, the server, a peer) in one transaction. Duplicates are ignored
   * by (origin, seq); cells follow last-writer-wins. Returns the entries that were new to the log.
   */
  applyLogged(entries: LoggedMessage[], opts: { serverAcked?: boolean } = {}): LoggedMessage[] {
    for (const entry of entries) validateEntry(entry);
    const { fresh, tables } = this.db.transaction(() => this.applyInTransaction(entries, opts.serverAcked === true))();
    this.notify(tables);
    return fresh;
  }

  /** A local write: numbers the messages with this device's next seqs, seals them, applies them, atomically. */
  writeLocal(
    origin: string,
    changes: ChangeMessage[],
    seal: (change: ChangeMessage, seq: number) => Envelope,
  ): LoggedMessage[] {
    const { fresh, tables } = this.db.transaction(() => {
      let seq = ((this.stmt.maxSeq!.get(origin) as number | null) ?? 0) + 1;
      const entries: LoggedMessage[] = changes.map((change) => {
        const validated = parseChangeMessage(change);
        const envelope = seal(validated, seq);
        if (originOf(envelope) !== origin) throw new InvalidEntryError(`hlc ${envelope.hlc} is not from ${origin}`);
        return { origin, seq: seq++, hlc: envelope.hlc, data: envelope.data, change: validated };
      });
      return this.applyInTransaction(entries, false);
    })();
    this.notify(tables);
    return fresh;
  }

  private applyInTransaction(
    entries: LoggedMessage[],
    serverAcked: boolean,
  ): { fresh: LoggedMessage[]; tables: TableName[] } {
    const fresh: LoggedMessage[] = [];
    const tables = new Set<TableName>();
    const touchedLinks = new Set<string>();
    const freshSeqs = new Map<string, Set<number>>();
    const acked = serverAcked ? 1 : 0;
    let newestHlc = "";
    for (const e of entries) {
      if (this.stmt.insertLog!.run(e.origin, e.seq, e.hlc, e.data, acked).changes === 0) {
        const existing = this.stmt.logHlc!.get(e.origin, e.seq) as string;
        if (existing !== e.hlc) {
          throw new InvalidEntryError(
            `conflicting message ${e.origin}#${e.seq}: already have ${existing}, got ${e.hlc}`,
          );
        }
        if (serverAcked) this.stmt.ackLog!.run(e.origin, e.seq);
        continue;
      }
      fresh.push(e);
      let seqs = freshSeqs.get(e.origin);
      if (!seqs) freshSeqs.set(e.origin, (seqs = new Set()));
      seqs.add(e.seq);
      if (e.hlc > newestHlc) newestHlc = e.hlc;
      const c = e.change;
      const value = c.column === "deleted" ? (c.value === true ? 1 : 0) : JSON.stringify(c.value);
      if (this.writeCell.get(`${c.table}.${c.column}`)!.run(c.rowId, value, e.hlc).changes > 0) {
        tables.add(c.table);
        if (c.table === "links") touchedLinks.add(c.rowId);
      }
    }
    for (const [origin, seqs] of freshSeqs) this.advanceMark(origin, seqs);
    for (const id of touchedLinks) this.stmt.markFtsDirty!.run(id);
    if (newestHlc && newestHlc > (this.getMeta("lastHlc") ?? "")) this.setMeta("lastHlc", newestHlc);
    return { fresh, tables: [...tables] };
  }

  /** Moves the origin's mark over contiguous seqs only, so a gap is never skipped. */
  private advanceMark(origin: string, freshSeqs: Set<number>): void {
    const current = (this.stmt.getMark!.get(origin) as number | undefined) ?? 0;
    let mark = current;
    // The batch's own seqs are checked in memory; the log is consulted only at the edges (earlier gaps).
    while (freshSeqs.has(mark + 1) || this.stmt.hasSeq!.get(origin, mark + 1)) mark++;
    if (mark !== current) this.stmt.setMark!.run(origin, mark);
  }

  /**
   * Full-text upkeep is deferred: a merge only marks links dirty, and the next search indexes them.
   * Bulk syncs (tens of thousands of messages) would otherwise spend most of their time in FTS5.
   */
  private catchUpSearchIndex(): void {
    const dirty = this.stmt.ftsDirty!.all() as string[];
    if (dirty.length === 0) return;
    this.db.transaction(() => {
      for (const id of dirty) this.reindexLink(id);
      this.stmt.clearFtsDirty!.run();
    })();
  }

  private reindexLink(id: string): void {
    const row = this.stmt.linkForFts!.get(id) as Record<string, string | number | null>;
    this.stmt.ftsDelete!.run(row.rid);
    if (row.deleted === 1) return;
    const text = (raw: string | number | null): string => {
      if (typeof raw !== "string") return "";
      const v = JSON.parse(raw) as JsonValue;
      return Array.isArray(v) ? v.join(" ") : String(v ?? "");
    };
    this.stmt.ftsInsert!.run(row.rid, text(row.title!), text(row.tags!), text(row.notes!), text(row.url!));
  }

  private notify(tables: TableName[]): void {
    if (tables.length === 0) return;
    for (const listener of this.listeners) listener(tables);
  }

  onChange(listener: (tables: TableName[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  lastHlc(): string | undefined {
    return this.getMeta("lastHlc");
  }

  pendingForServer(limit: number): StoredEnvelope[] {
    return this.stmt.pending!.all(limit) as StoredEnvelope[];
  }

  countPendingForServer(): number {
    return this.stmt.countPending!.get() as number;
  }

  /** Entries in the message log: equal on two PCs with equal hashes means nothing is missing or doubled. */
  countLog(): number {
    return this.stmt.countLog!.get() as number;
  }

  markServerAcked(keys: Array<{ origin: string; seq: number }>): void {
    this.db.transaction(() => {
      for (const k of keys) this.stmt.ackLog!.run(k.origin, k.seq);
    })();
  }

  highWaterMarks(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.stmt.marks!.all() as Array<{ origin: string; contiguous: number }>) {
      out[row.origin] = row.contiguous;
    }
    return out;
  }

  entriesAfter(origin: string, afterSeq: number, limit: number): StoredEnvelope[] {
    return this.stmt.after!.all(origin, afterSeq, limit) as StoredEnvelope[];
  }

  listLinks(opts: { q?: string; limit?: number } = {}): Link[] {
    const limit = opts.limit ?? 1000;
    const match = opts.q ? ftsQuery(opts.q) : null;
    if (opts.q && !match) return [];
    if (match) this.catchUpSearchIndex();
    const rows = match
      ? this.db
          .prepare(
            "SELECT l.* FROM links_fts f JOIN links l ON l.rid = f.rowid WHERE links_fts MATCH ? AND l.deleted = 0 ORDER BY f.rank LIMIT ?",
          )
          .all(match, limit)
      : this.db.prepare(`SELECT * FROM links WHERE deleted = 0 ORDER BY "createdAt" DESC, rid DESC LIMIT ?`).all(limit);
    return rows.map((r) => decodeRow("links", r as Record<string, unknown>)) as Link[];
  }

  getRow<T extends TableName>(table: T, id: string): (RowOf<T> & { id: string }) | undefined {
    const row = this.db.prepare(`SELECT * FROM "${table}" WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return row ? (decodeRow(table, row) as RowOf<T> & { id: string }) : undefined;
  }

  /** Live rows whose column equals the value (compared as stored JSON). */
  findRows<T extends TableName>(table: T, column: string, value: JsonValue): Array<RowOf<T> & { id: string }> {
    if (!columnsOf(table).includes(column) || column === "deleted") throw new Error(`no column ${table}.${column}`);
    return this.db
      .prepare(`SELECT * FROM "${table}" WHERE "${column}" = ? AND deleted = 0 ORDER BY id`)
      .all(JSON.stringify(value))
      .map((r) => decodeRow(table, r as Record<string, unknown>)) as Array<RowOf<T> & { id: string }>;
  }

  listRows<T extends TableName>(table: T, opts: { includeDeleted?: boolean } = {}): Array<RowOf<T> & { id: string }> {
    const where = opts.includeDeleted ? "" : "WHERE deleted = 0";
    return this.db
      .prepare(`SELECT * FROM "${table}" ${where} ORDER BY id`)
      .all()
      .map((r) => decodeRow(table, r as Record<string, unknown>)) as Array<RowOf<T> & { id: string }>;
  }

  /** Equal hashes mean equal merged state (values and their timestamps), whatever the history. */
  tableHash(): string {
    const hash = createHash("sha256");
    for (const table of TABLE_NAMES) {
      const cols = columnsOf(table);
      const select = cols.map((c) => `"${c}", "${c}_hlc"`).join(", ");
      for (const row of this.db.prepare(`SELECT id, ${select} FROM "${table}" ORDER BY id`).raw().iterate()) {
        hash.update(
          `${table}\u0000${(row as unknown[]).map((v) => (v === null ? "\u0001" : String(v))).join("\u0000")}\n`,
        );
      }
    }
    return hash.digest("hex");
  }

  upsertPeer(p: {
    peerId: string;
    deviceId?: string | null;
    addresses: string[];
    lastSeen?: number | null;
    lastSync?: number | null;
    failures?: number;
  }): void {
    this.stmt.upsertPeer!.run({
      peerId: p.peerId,
      deviceId: p.deviceId ?? null,
      addresses: JSON.stringify(p.addresses),
      lastSeen: p.lastSeen ?? null,
      lastSync: p.lastSync ?? null,
      failures: p.failures ?? 0,
      failuresOrNull: p.failures ?? null,
    });
  }

  listPeers(): PeerRecord[] {
    return (this.stmt.listPeers!.all() as Array<Record<string, unknown>>).map((r) => ({
      peerId: r.peer_id as string,
      deviceId: (r.device_id as string | null) ?? null,
      addresses: JSON.parse(r.addresses as string) as string[],
      lastSeen: (r.last_seen as number | null) ?? null,
      lastSync: (r.last_sync as number | null) ?? null,
      failures: r.failures as number,
    }));
  }

  addNotice(notice: NoticeView): void {
    this.stmt.addNotice!.run(notice.id, notice.createdAt, JSON.stringify(notice));
  }

  listNotices(limit = 200): NoticeView[] {
    return (this.stmt.listNotices!.all(limit) as string[]).map((body) => JSON.parse(body) as NoticeView);
  }

  saveTorrentFile(infoHash: string, bytes: Buffer): void {
    this.stmt.saveTorrent!.run(infoHash, bytes);
  }

  loadTorrentFile(infoHash: string): Buffer | undefined {
    return this.stmt.loadTorrent!.get(infoHash) as Buffer | undefined;
  }
}

function decodeRow(table: TableName, raw: Record<string, unknown>): Row {
  const out: Row = { id: raw.id as string };
  for (const col of columnsOf(table)) {
    if (col === "deleted") continue;
    const v = raw[col];
    if (typeof v === "string") out[col] = JSON.parse(v);
  }
  out.deleted = raw.deleted === 1;
  return out;
}

function validateEntry(e: LoggedMessage): void {
  if (!e || typeof e !== "object") throw new InvalidEntryError("log entry is not an object");
  if (!Number.isSafeInteger(e.seq) || e.seq < 1) throw new InvalidEntryError(`bad sequence number ${String(e.seq)}`);
  if (typeof e.data !== "string" || e.data.length === 0) throw new InvalidEntryError("log entry has no data");
  let change: ChangeMessage;
  try {
    change = parseChangeMessage(e.change);
  } catch (error) {
    throw new InvalidEntryError((error as Error).message);
  }
  if (change.hlc !== e.hlc) throw new InvalidEntryError("log entry hlc does not match its change");
  if (originOf(e) !== e.origin) throw new InvalidEntryError(`hlc ${e.hlc} is not from origin ${e.origin}`);
}
