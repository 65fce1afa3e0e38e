/**
 * The synced data model. Every row is a set of cells; every cell is written by a change message
 * and merged last-writer-wins. Column validators keep bad values out of every store that syncs.
 */
import { z } from "zod";

export const LINK_KINDS = ["magnet", "torrent", "web", "note"] as const;
export const DOWNLOAD_STATUSES = [
  "queued",
  "downloading",
  "paused",
  "seeding",
  "completed",
  "error",
  "cancelled",
] as const;

export type LinkKind = (typeof LINK_KINDS)[number];
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

const text = (max: number) => z.string().max(max);
const stringList = z.array(z.string().max(200)).max(100);
const nonNegative = z.number().int().nonnegative();
const nullableText = (max: number) => z.string().max(max).nullable();

/** Column validators per table. `deleted` is the tombstone: rows are never physically removed. */
export const TABLES = {
  links: {
    url: text(8192),
    kind: z.enum(LINK_KINDS),
    title: text(1000),
    tags: stringList,
    notes: text(100_000),
    createdAt: nonNegative,
    deleted: z.boolean(),
  },
  downloads: {
    linkId: text(128),
    infoHash: z.string().regex(/^[0-9a-f]{40}$/),
    deviceId: text(64),
    name: text(1000),
    status: z.enum(DOWNLOAD_STATUSES),
    bytesDone: nonNegative,
    totalBytes: nonNegative,
    savePath: text(4096),
    error: nullableText(2000),
    updatedAt: nonNegative,
    deleted: z.boolean(),
  },
  devices: {
    name: text(200),
    peerId: text(200),
    publicKey: text(2000),
    trusted: z.boolean(),
    revoked: z.boolean(),
    lastSeen: nonNegative,
    addresses: z.array(z.string().max(500)).max(50),
    deleted: z.boolean(),
  },
  settings: {
    /** `account` for account-wide settings, otherwise the device id the setting belongs to. */
    scope: text(64),
    key: text(200),
    value: z.json(),
    deleted: z.boolean(),
  },
} as const;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];
export type ColumnName<T extends TableName> = keyof (typeof TABLES)[T] & string;
export type RowOf<T extends TableName> = {
  [C in ColumnName<T>]?: z.infer<(typeof TABLES)[T][C]>;
};

export type Link = RowOf<"links"> & { id: string };
export type Download = RowOf<"downloads"> & { id: string };
export type Device = RowOf<"devices"> & { id: string };
export type Setting = RowOf<"settings"> & { id: string };

export function isTableName(name: unknown): name is TableName {
  return typeof name === "string" && Object.hasOwn(TABLES, name);
}

export function isColumnOf(table: TableName, column: unknown): boolean {
  return typeof column === "string" && Object.hasOwn(TABLES[table], column);
}

export function columnSchema(table: TableName, column: string): z.ZodType {
  return (TABLES[table] as Record<string, z.ZodType>)[column] as z.ZodType;
}

export const ROW_ID_PATTERN = /^[A-Za-z0-9:._-]{1,128}$/;

/** Row ids are UUIDv7: random, but roughly time-ordered so that indexes stay compact. */
export function newRowId(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Setting rows have deterministic ids so that two PCs writing the same key merge into one row. */
export function settingRowId(scope: string, key: string): string {
  return `${scope}:${key}`.replace(/[^A-Za-z0-9:._-]/g, "_").slice(0, 128);
}

/** Classify a user-supplied link. Throws a clear error for input that is not a usable link. */
export function classifyLink(input: string): { url: string; kind: LinkKind } {
  const url = input.trim();
  if (url.length === 0) throw new Error("link is empty");
  if (/^magnet:/i.test(url)) {
    const match = /[?&]xt=urn:bt(?:ih|mh):([0-9a-zA-Z]+)/.exec(url);
    if (!match) throw new Error("invalid magnet link: it has no xt=urn:btih: info hash");
    const hash = match[1] as string;
    if (!(/^[0-9a-fA-F]{40}$/.test(hash) || /^[A-Z2-7a-z]{32}$/.test(hash) || hash.length > 40)) {
      throw new Error("invalid magnet link: the info hash is neither 40 hex nor 32 base32 characters");
    }
    return { url, kind: "magnet" };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a link: ${JSON.stringify(url.slice(0, 80))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`unsupported link scheme ${parsed.protocol} (use magnet:, http: or https:)`);
  }
  return { url, kind: /\.torrent$/i.test(parsed.pathname) ? "torrent" : "web" };
}
