/**
 * One small database seam: the server runs on a real PostgreSQL (pg Pool) or, without
 * DATABASE_URL, on embedded PGlite in a data folder. Both speak the same SQL.
 */
import { mkdirSync } from "node:fs";
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

  async function listenConnection(): Promise<pg.PoolClient> {
    if (!listenClient) {
      listenClient = pool.connect().then((client) => {
        client.on("notification", (msg) => {
          for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload ?? "");
        });
        client.on("error", () => {
          // Drop the broken connection; the next listen() call reconnects and re-subscribes.
          listenClient = null;
          client.release(true);
        });
        return client;
      });
      listenClient.catch(() => {
        listenClient = null;
      });
    }
    return listenClient;
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
        listeners.set(channel, set);
        const client = await listenConnection();
        await client.query(`LISTEN ${channel}`);
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

export async function createPgliteDb(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
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
      await db.close();
    },
  };
}

export async function openDb(opts: { databaseUrl?: string; dataDir?: string }): Promise<Db> {
  if (opts.databaseUrl) return createPgDb(opts.databaseUrl);
  if (!opts.dataDir) throw new Error("either a database URL or a data folder is required");
  return createPgliteDb(`${opts.dataDir.replace(/\/+$/, "")}/pglite`);
}
