/**
 * POST /v1/sync: store pushed envelopes once, return what comes after the cursor.
 *
 * Exactly-once pagination under concurrent writers: every insert allocates its server sequence
 * numbers while holding the account row lock (UPDATE ... RETURNING next_seq), so a second writer of
 * the same account cannot get higher numbers until the first has committed. A reader therefore never
 * sees sequence N+1 before N, and "everything after my cursor" never skips a late commit.
 */
import { type Envelope, originOf, type SyncResponse } from "@perpetuanet/core";
import type { Db } from "./db.ts";
import { HttpError } from "./errors.ts";

export const DEFAULT_PAGE_LIMIT = 500;
export const MAX_PAGE_LIMIT = 1000;
/** A page stops growing once its envelopes' data reaches this many characters. */
export const MAX_PAGE_CHARS = 4 * 1024 * 1024;

const MAX_BIGINT = 2n ** 63n - 1n;

function parseCursor(cursor: string | null): bigint {
  if (cursor === null || cursor === "") return 0n;
  const value = /^\d{1,19}$/.test(cursor) ? BigInt(cursor) : -1n;
  if (value < 0n || value > MAX_BIGINT) {
    throw new HttpError(400, "BAD_CURSOR", "cursor must be one returned by this server");
  }
  return value;
}

async function store(db: Db, accountId: string, messages: Envelope[]): Promise<number> {
  if (messages.length === 0) return 0;
  const origins = messages.map((m) => originOf(m));
  return db.transaction(async (tx) => {
    // One statement takes the account row lock, allocates the numbers and inserts, so the lock is
    // held for this statement and the COMMIT only. After waiting for the lock, PostgreSQL re-reads
    // the row (EvalPlanQual), so next_seq is always the latest committed value.
    const inserted = await tx.query<{ origin: string; seq: string }>(
      `WITH alloc AS (
         UPDATE accounts SET next_seq = next_seq + $2 WHERE id = $1 RETURNING next_seq - $2 AS base
       )
       INSERT INTO messages (account_id, server_seq, origin, seq, hlc, data)
       SELECT $1, alloc.base + m.ord, m.origin, m.seq, m.hlc, m.data
         FROM alloc, unnest($3::text[], $4::bigint[], $5::text[], $6::text[]) WITH ORDINALITY AS m(origin, seq, hlc, data, ord)
       ON CONFLICT (account_id, origin, seq) DO NOTHING
       RETURNING origin, seq`,
      [
        accountId,
        messages.length,
        origins,
        messages.map((m) => m.seq),
        messages.map((m) => m.hlc),
        messages.map((m) => m.data),
      ],
    );
    if (inserted.rowCount < messages.length) {
      // Replays are fine as long as they are the same message; a different one under a used
      // (origin, seq) means a confused or malicious client, and nothing of this batch is kept.
      // A duplicate inside the batch is compared with its first copy, inserted just above.
      const { rows: existing } = await tx.query<{ origin: string; seq: string; hlc: string; data: string }>(
        `SELECT m.origin, m.seq, m.hlc, m.data FROM messages m
           JOIN unnest($2::text[], $3::bigint[]) AS k(origin, seq) ON m.origin = k.origin AND m.seq = k.seq
          WHERE m.account_id = $1`,
        [accountId, origins, messages.map((m) => m.seq)],
      );
      const byKey = new Map(existing.map((r) => [`${r.origin}/${r.seq}`, r]));
      for (const [i, m] of messages.entries()) {
        const key = `${origins[i]}/${m.seq}`;
        const row = byKey.get(key);
        if (row && (row.hlc !== m.hlc || row.data !== m.data)) {
          throw new HttpError(409, "CONFLICT", `message ${key} was already stored with different content`);
        }
      }
    }
    return inserted.rowCount;
  });
}

async function read(db: Db, accountId: string, after: bigint, limit: number) {
  const { rows } = await db.query<{ server_seq: string; hlc: string; seq: string; data: string }>(
    `SELECT server_seq, hlc, seq, data FROM messages
      WHERE account_id = $1 AND server_seq > $2 ORDER BY server_seq LIMIT $3`,
    [accountId, after.toString(), limit + 1],
  );
  const messages: Envelope[] = [];
  let chars = 0;
  let cursor = after;
  for (const r of rows.slice(0, limit)) {
    // Always make progress: the first message goes out even if it alone exceeds the bound.
    if (messages.length > 0 && chars + r.data.length > MAX_PAGE_CHARS) break;
    chars += r.data.length;
    messages.push({ hlc: r.hlc, seq: Number(r.seq), data: r.data });
    cursor = BigInt(r.server_seq);
  }
  return { messages, cursor, hasMore: rows.length > messages.length };
}

export async function sync(
  db: Db,
  accountId: string,
  req: { cursor: string | null; messages: Envelope[]; limit?: number | undefined },
): Promise<SyncResponse> {
  const after = parseCursor(req.cursor);
  const stored = await store(db, accountId, req.messages);
  const page = await read(db, accountId, after, Math.min(req.limit ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT));
  return {
    messages: page.messages,
    cursor: page.cursor === 0n && req.cursor === null ? null : page.cursor.toString(),
    hasMore: page.hasMore,
    stored,
  };
}
