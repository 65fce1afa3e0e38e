/**
 * Maintenance and incident notices. Each instance caches the list; a publish or delete on any
 * instance (or by the admin CLI) sends NOTIFY so every instance drops its cache.
 */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { Db, Queryable } from "./db.ts";
import type { noticeBody, noticeSchema } from "./schemas.ts";

export const NOTICES_CHANNEL = "perpetuanet_notices";

export type Notice = z.infer<typeof noticeSchema>;
export type NoticeInput = z.output<typeof noticeBody>;

interface NoticeRow {
  id: string;
  severity: Notice["severity"];
  kind: Notice["kind"];
  title: string;
  body: string;
  created_at: Date | string;
  starts_at: Date | string;
  ends_at: Date | string | null;
}

const iso = (d: Date | string) => new Date(d).toISOString();

function toNotice(r: NoticeRow): Notice {
  return {
    id: r.id,
    severity: r.severity,
    kind: r.kind,
    title: r.title,
    body: r.body,
    createdAt: iso(r.created_at),
    startsAt: iso(r.starts_at),
    endsAt: r.ends_at === null ? null : iso(r.ends_at),
  };
}

/** Notices that have not ended (current and scheduled), newest first. */
export async function listNotices(db: Queryable, includeEnded = false): Promise<Notice[]> {
  const { rows } = await db.query<NoticeRow>(
    `SELECT * FROM notices ${includeEnded ? "" : "WHERE ends_at IS NULL OR ends_at > now()"} ORDER BY created_at DESC`,
  );
  return rows.map(toNotice);
}

export async function publishNotice(db: Db, input: NoticeInput): Promise<Notice> {
  const { rows } = await db.query<NoticeRow>(
    `INSERT INTO notices (id, severity, kind, title, body, starts_at, ends_at)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6::timestamptz, now()), $7::timestamptz) RETURNING *`,
    [randomUUID(), input.severity, input.kind, input.title, input.body, input.startsAt ?? null, input.endsAt ?? null],
  );
  await db.notify(NOTICES_CHANNEL, "changed");
  return toNotice(rows[0] as NoticeRow);
}

export async function deleteNotice(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM notices WHERE id = $1", [id]);
  if (rowCount > 0) await db.notify(NOTICES_CHANNEL, "changed");
  return rowCount > 0;
}

export function isMaintenanceNow(notices: Notice[], now = Date.now()): boolean {
  return notices.some(
    (n) =>
      n.kind === "maintenance" && Date.parse(n.startsAt) <= now && (n.endsAt === null || Date.parse(n.endsAt) > now),
  );
}

export class NoticeCache {
  private readonly db: Db;
  private cached: Promise<Notice[]> | null = null;
  private loadedAt = 0;
  private unlisten: (() => Promise<void>) | null = null;
  /** Bounds staleness if a notification is lost (listen connection dropped). */
  private readonly maxAgeMs: number;

  constructor(db: Db, maxAgeMs = 30_000) {
    this.db = db;
    this.maxAgeMs = maxAgeMs;
  }

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(NOTICES_CHANNEL, () => this.invalidate());
  }

  invalidate(): void {
    this.cached = null;
  }

  async get(): Promise<Notice[]> {
    if (!this.cached || Date.now() - this.loadedAt > this.maxAgeMs) {
      this.loadedAt = Date.now();
      const loading = listNotices(this.db);
      this.cached = loading;
      loading.catch(() => {
        if (this.cached === loading) this.cached = null;
      });
    }
    return this.cached;
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }
}
