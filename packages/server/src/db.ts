/**
 * One small database seam: the server runs on a real PostgreSQL (pg Pool) or, without
 * DATABASE_URL, on embedded PGlite in a data folder. Both speak the same SQL.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: "postgres" | "pglite";
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to a notification channel; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) throw new Error(`invalid notification channel name: ${channel}`);
  return channel;
}

export function createPgDb(connectionString: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: Promise<pg.PoolClient> | null = null;
  let closed = false;

  // One dedicated connection carries every LISTEN. If it breaks (database restart, network), it is
  // re-established with every channel after a short pause; notifications sent meanwhile are lost,
  // which is why subscribers also bound the age of what they cache.
  function listenConnection(): Promise<pg.PoolClient> {
    if (!listenClient) {
      const connecting = (async () => {
        const client = await pool.connect();
        client.on("notification", (msg) => {
          for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload ?? "");
        });
        client.on("error", () => {
          listenClient = null;
          client.release(true);
          scheduleResubscribe();
        });
        for (const channel of listeners.keys()) await client.query(`LISTEN ${channel}`);
        return client;
      })();
      listenClient = connecting;
      connecting.catch(() => {
        if (listenClient === connecting) listenClient = null;
        scheduleResubscribe();
      });
    }
    return listenClient;
  }
  let resubscribeTimer: NodeJS.Timeout | null = null;
  function scheduleResubscribe() {
    if (closed || resubscribeTimer || listeners.size === 0) return;
    resubscribeTimer = setTimeout(() => {
      resubscribeTimer = null;
      listenConnection().catch(() => {});
    }, 1000);
    resubscribeTimer.unref();
  }

  return {
    kind: "postgres",
    async query<R>(sql: string, params?: unknown[]) {
      const res = await pool.query(sql, params as unknown[]);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const tx: Queryable = {
          async query<R>(sql: string, params?: unknown[]) {
            const res = await client.query(sql, params as unknown[]);
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
        };
        const result = await fn(tx);
        await client.query("COMMIT");
        client.release();
        return result;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
          client.release();
        } catch {
          client.release(true);
        }
        throw err;
      }
    },
    async listen(channel, onPayload) {
      checkChannel(channel);
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        const existing = listenClient;
        listeners.set(channel, set);
        // A fresh connection LISTENs on every registered channel itself; an existing one needs this one added.
        const client = await listenConnection();
        if (existing) await client.query(`LISTEN ${channel}`);
      }
      set.add(onPayload);
      return async () => {
        set.delete(onPayload);
      };
    },
    async notify(channel, payload) {
      await pool.query("SELECT pg_notify($1, $2)", [checkChannel(channel), payload]);
    },
    async close() {
      closed = true;
      if (resubscribeTimer) clearTimeout(resubscribeTimer);
      if (listenClient) {
        try {
          (await listenClient).release(true);
        } catch {
          // already gone
        }
      }
      await pool.end();
    },
  };
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`the database folder ${dataDir} is in use by process ${pid}; stop it first (PGlite is single-process)`);
    this.name = "DataDirInUseError";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** PGlite has no cross-process locking: two openers of one folder would corrupt it. */
function lockDataDir(dataDir: string): () => void {
  // Beside the folder, not in it: PGlite's initdb wants an empty folder.
  const lockPath = join(dirname(dataDir), `${basename(dataDir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      return () => rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(lockPath, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new DataDirInUseError(dataDir, pid);
      rmSync(lockPath, { force: true }); // left behind by a crashed process
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

export async function createPgliteDb(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  return {
    kind: "pglite",
    async query<R>(sql: string, params?: unknown[]) {
      const res = await db.query<R>(sql, params);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return db.transaction(async (t) =>
        fn({
          async query<R>(sql: string, params?: unknown[]) {
            const res = await t.query<R>(sql, params);
            return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
          },
        }),
      );
    },
    async listen(channel, onPayload) {
      const unsubscribe = await db.listen(checkChannel(channel), onPayload);
      return unsubscribe;
    },
    async notify(channel, payload) {
      await db.query("SELECT pg_notify($1, $2)", [checkChannel(channel), payload]);
    },
    async close() {
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
}

export async function openDb(opts: { databaseUrl?: string; dataDir?: string }): Promise<Db> {
  if (opts.databaseUrl) return createPgDb(opts.databaseUrl);
  if (!opts.dataDir) throw new Error("either a database URL or a data folder is required");
  return createPgliteDb(`${opts.dataDir.replace(/\/+$/, "")}/pglite`);
}
