import { EventEmitter } from "node:events";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { DownloadStatus } from "@perpetuanet/core";
import parseTorrent from "parse-torrent";
import WebTorrent, { type WebTorrentTorrent, type WebTorrentWire } from "webtorrent";
import { deleteTorrentFiles, type TorrentFileEntry } from "./files.ts";
import { parseMagnet, parseTorrentFile, type ResolvedTorrent, resolveInput } from "./input.ts";
import {
  type DownloadRecord,
  InvalidTorrentError,
  type LiveStats,
  type TorrentDetails,
  type TorrentEngine,
  type TorrentEngineOptions,
  type TorrentInput,
  type TorrentSettings,
} from "./types.ts";

/** What we know about a torrent's content once we have its metadata. */
interface TorrentMeta {
  files: TorrentFileEntry[];
  pieceLength: number;
  announce: string[];
}

interface Entry {
  record: DownloadRecord;
  source: ResolvedTorrent;
  meta: TorrentMeta | null;
  /** The live WebTorrent torrent; null while paused, finished without seeding, cancelled or failed. */
  torrent: WebTorrentTorrent | null;
  /** Verified pieces when last stopped in this process, so a resume only spot-checks the files. */
  resumeBitfield: Uint8Array | null;
  lastPersistAt: number;
  lastPersistedBytes: number;
}

const noopLogger = { info() {}, warn() {} };

/**
 * How many block requests to keep outstanding with a peer that does not say how many it queues (BEP 10
 * `reqq`; aria2c does not). WebTorrent otherwise sizes the pipeline to a second of the measured speed:
 * thousands of 16 KiB requests on a fast link, whose buffers and callbacks live long enough to be
 * promoted and then drive most of its garbage collection (1 GiB from aria2c: 45-90 full collections,
 * 2-3 with this cap and --initial-old-space-size=128). 500 is libtorrent's default request queue and
 * still keeps 80 MiB/s in flight at 100 ms round trip.
 */
const ASSUMED_PEER_REQUEST_QUEUE = 500;

function assumeRequestQueue(wire: WebTorrentWire): void {
  const fill = () => {
    const handshake = wire.peerExtendedHandshake;
    if (handshake && typeof handshake.reqq !== "number") handshake.reqq = ASSUMED_PEER_REQUEST_QUEUE;
  };
  fill();
  // The peer's extended handshake replaces the object, so the gap is filled again if it names no queue.
  wire.on("extended", (ext) => {
    if (ext === "handshake") fill();
  });
}

function copyRecord(record: DownloadRecord): DownloadRecord {
  return { ...record };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Azureus-style peer ids ("-qB4650-...") name the client; anything else stays anonymous. */
function peerClient(peerIdHex: string | undefined): string | null {
  if (!peerIdHex) return null;
  const prefix = Buffer.from(peerIdHex.slice(0, 16), "hex").toString("latin1");
  const match = /^-([A-Za-z~]{2})([0-9A-Za-z]{4})-$/.exec(prefix);
  return match ? `${match[1]} ${match[2]}` : null;
}

async function metaFromTorrentFile(bytes: Buffer): Promise<TorrentMeta | null> {
  try {
    const parsed = await parseTorrent(bytes);
    return {
      files: (parsed.files ?? []).map((f) => ({ path: f.path, length: f.length })),
      pieceLength: parsed.pieceLength ?? 0,
      announce: parsed.announce ?? [],
    };
  } catch {
    return null;
  }
}

async function ensureFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot use download folder ${folder}: ${code ?? describe(err)}`);
  }
}

function validateSettings(s: TorrentSettings): void {
  const nonNegative = (name: keyof TorrentSettings) => {
    const v = s[name];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`torrent setting ${name} must be a number >= 0, got ${JSON.stringify(v)}`);
    }
  };
  nonNegative("downloadLimit");
  nonNegative("uploadLimit");
  nonNegative("maxConnections");
  if (typeof s.downloadFolder !== "string" || s.downloadFolder.trim() === "") {
    throw new Error("torrent setting downloadFolder must be a folder path");
  }
  if (
    s.torrentPort !== undefined &&
    !(Number.isInteger(s.torrentPort) && s.torrentPort >= 0 && s.torrentPort < 65536)
  ) {
    throw new Error(`torrent setting torrentPort must be a port number, got ${JSON.stringify(s.torrentPort)}`);
  }
}

class WebTorrentEngine implements TorrentEngine {
  private current: TorrentSettings;
  private readonly persistence: TorrentEngineOptions["persistence"];
  private readonly persistIntervalMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly logger: NonNullable<TorrentEngineOptions["logger"]>;
  private readonly utp: boolean;
  private readonly events = new EventEmitter();
  private readonly entries = new Map<string, Entry>();
  private client: WebTorrent;
  private readonly ticker: NodeJS.Timeout;
  /** Operations that start/stop torrents run one at a time so that pause/resume/cancel never interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: TorrentEngineOptions) {
    this.current = { ...opts.settings };
    validateSettings(this.current);
    this.persistence = opts.persistence;
    this.persistIntervalMs = opts.persistIntervalMs ?? 2000;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 30_000;
    this.logger = opts.logger ?? noopLogger;
    this.utp = opts.utp ?? false;
    this.events.setMaxListeners(0);
    this.client = this.createClient();
    this.ticker = setInterval(() => this.tick(), opts.progressIntervalMs ?? 1000);
    this.ticker.unref();
  }

  private createClient(): WebTorrent {
    const s = this.current;
    const client = new WebTorrent({
      dht: s.dht ? {} : false,
      // Local discovery, peer exchange and router port mapping all reach beyond configured trackers:
      // they follow the DHT switch so that "DHT off" means no decentralised discovery at all.
      lsd: s.dht,
      utPex: s.dht,
      natUpnp: s.dht,
      natPmp: s.dht,
      tracker: s.trackers ? {} : false,
      maxConns: Math.max(1, s.maxConnections || 55),
      torrentPort: s.torrentPort ?? 0,
      downloadLimit: s.downloadLimit > 0 ? s.downloadLimit : -1,
      uploadLimit: s.uploadLimit > 0 ? s.uploadLimit : -1,
      // With uTP on, WebTorrent dials IPv4 peers over uTP first and falls back to TCP only after three
      // failed retries (about 20 s), so TCP-only peers such as aria2c are never dialled in time.
      utp: this.utp,
    });
    client.on("error", (err: unknown) => this.logger.warn("torrent client error", describe(err)));
    return client;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no download with id ${JSON.stringify(id)}`);
    return entry;
  }

  private persist(entry: Entry): void {
    entry.lastPersistAt = Date.now();
    entry.lastPersistedBytes = entry.record.bytesDone;
    try {
      this.persistence.saveDownload(copyRecord(entry.record));
    } catch (err) {
      this.logger.warn("could not save download", entry.record.id, describe(err));
    }
  }

  private setStatus(entry: Entry, status: DownloadStatus, error: string | null = null): void {
    this.refreshProgress(entry);
    entry.record.status = status;
    entry.record.error = error;
    entry.record.updatedAt = Date.now();
    this.persist(entry);
    this.events.emit("status", copyRecord(entry.record));
  }

  private refreshProgress(entry: Entry): void {
    const t = entry.torrent;
    // Until WebTorrent has checked the files on disk it counts nothing as downloaded; keep the last
    // known figure meanwhile, so a restored download does not drop to 0 % for the length of the check.
    if (!t?.files?.length || !t.ready) return;
    entry.record.totalBytes = t.length;
    entry.record.bytesDone = Math.min(t.downloaded, t.length);
  }

  private tick(): void {
    if (this.closed) return;
    let active = false;
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (!entry.torrent) continue;
      active = true;
      this.refreshProgress(entry);
      if (entry.record.bytesDone !== entry.lastPersistedBytes && now - entry.lastPersistAt >= this.persistIntervalMs) {
        entry.record.updatedAt = now;
        this.persist(entry);
      }
    }
    if (active) this.events.emit("progress", this.list());
  }

  private start(entry: Entry): void {
    const torrentId = entry.source.kind === "file" ? entry.source.bytes : entry.source.magnet;
    const t = this.client.add(torrentId, {
      path: entry.record.savePath,
      ...(entry.resumeBitfield ? { bitfield: entry.resumeBitfield } : {}),
    });
    entry.torrent = t;
    entry.resumeBitfield = null;
    const mine = () => entry.torrent === t;
    t.on("metadata", () => {
      if (mine()) void this.onMetadata(entry, t);
    });
    t.on("ready", () => {
      // Data on disk was verified; a restored "seeding" download whose files were damaged downloads again.
      if (mine() && !t.done && entry.record.status === "seeding") this.setStatus(entry, "downloading");
    });
    t.on("done", () => {
      if (mine()) void this.serial(() => this.onDone(entry, t));
    });
    t.on("error", (err: unknown) => {
      if (!mine()) return;
      entry.torrent = null;
      this.logger.warn("torrent failed", entry.record.id, describe(err));
      this.setStatus(entry, "error", describe(err));
    });
    t.on("warning", (err: unknown) => this.logger.info("torrent warning", entry.record.id, describe(err)));
    t.on("wire", assumeRequestQueue);
  }

  private async onMetadata(entry: Entry, t: WebTorrentTorrent): Promise<void> {
    if (entry.source.kind === "magnet" && t.torrentFile) {
      const bytes = Buffer.from(t.torrentFile);
      try {
        this.persistence.saveTorrentFile(t.infoHash, bytes);
      } catch (err) {
        this.logger.warn("could not save .torrent", entry.record.id, describe(err));
      }
      entry.source = {
        kind: "file",
        bytes,
        infoHash: t.infoHash,
        name: t.name,
        totalBytes: t.length,
        announce: entry.source.announce,
      };
    }
    entry.meta = {
      files: t.files.map((f) => ({ path: f.path, length: f.length })),
      pieceLength: t.pieceLength,
      announce: [...(t.announce ?? [])],
    };
    entry.record.name = t.name || entry.record.name;
    entry.record.totalBytes = t.length;
    entry.record.updatedAt = Date.now();
    this.persist(entry);
    this.events.emit("status", copyRecord(entry.record));
  }

  private async onDone(entry: Entry, t: WebTorrentTorrent): Promise<void> {
    if (entry.torrent !== t) return;
    this.refreshProgress(entry);
    entry.record.bytesDone = entry.record.totalBytes;
    if (this.current.seeding) {
      if (entry.record.status !== "seeding") this.setStatus(entry, "seeding");
      return;
    }
    await this.stop(entry);
    this.setStatus(entry, "completed");
  }

  /** Destroy the live torrent but keep its files; remember verified pieces for a quick resume. */
  private async stop(entry: Entry): Promise<void> {
    const t = entry.torrent;
    if (!t) return;
    this.refreshProgress(entry);
    if (t.bitfield && t.files?.length && !t.done) entry.resumeBitfield = new Uint8Array(t.bitfield.buffer);
    entry.torrent = null;
    await new Promise<void>((resolve) => {
      t.destroy({ destroyStore: false }, () => resolve());
    });
  }

  async add(
    input: TorrentInput,
    opts: { id: string; linkId: string; savePath?: string; paused?: boolean },
  ): Promise<DownloadRecord> {
    if (this.closed) throw new Error("torrent engine is closed");
    if (!opts?.id) throw new Error("a download needs an id");
    const source = await resolveInput(input, this.fetchTimeoutMs);
    return this.serial(async () => {
      if (this.entries.has(opts.id)) throw new Error(`download id ${JSON.stringify(opts.id)} already exists`);
      for (const other of this.entries.values()) {
        if (other.record.infoHash === source.infoHash) {
          throw new InvalidTorrentError(`this torrent is already in the download list (download ${other.record.id})`);
        }
      }
      const savePath = path.resolve(opts.savePath ?? this.current.downloadFolder);
      await ensureFolder(savePath);
      if (source.kind === "file") this.persistence.saveTorrentFile(source.infoHash, source.bytes);
      const entry: Entry = {
        record: {
          id: opts.id,
          linkId: opts.linkId,
          infoHash: source.infoHash,
          name: source.name,
          status: opts.paused ? "paused" : "downloading",
          bytesDone: 0,
          totalBytes: source.kind === "file" ? source.totalBytes : 0,
          savePath,
          error: null,
          updatedAt: Date.now(),
        },
        source,
        meta: source.kind === "file" ? await metaFromTorrentFile(source.bytes) : null,
        torrent: null,
        resumeBitfield: null,
        lastPersistAt: 0,
        lastPersistedBytes: 0,
      };
      this.entries.set(opts.id, entry);
      this.persist(entry);
      this.events.emit("status", copyRecord(entry.record));
      if (!opts.paused) this.start(entry);
      return copyRecord(entry.record);
    });
  }

  async restore(
    records: DownloadRecord[],
    opts?: { magnetOf?: (record: DownloadRecord) => string | undefined },
  ): Promise<void> {
    for (const record of records) {
      await this.serial(async () => {
        if (this.entries.has(record.id)) return;
        let source: ResolvedTorrent | null = null;
        const stored = this.persistence.loadTorrentFile(record.infoHash);
        if (stored) source = await parseTorrentFile(stored).catch(() => null);
        const magnet = source ? undefined : opts?.magnetOf?.(record);
        if (magnet) {
          const parsed = await parseMagnet(magnet).catch((err: unknown) => {
            this.logger.warn("ignoring the magnet for", record.id, describe(err));
            return null;
          });
          if (parsed?.infoHash === record.infoHash) source = parsed;
        }
        source ??= {
          kind: "magnet",
          magnet: `magnet:?xt=urn:btih:${record.infoHash}`,
          infoHash: record.infoHash,
          name: record.name,
          announce: [],
        };
        const entry: Entry = {
          record: { ...record },
          source,
          meta: source.kind === "file" ? await metaFromTorrentFile(source.bytes) : null,
          torrent: null,
          resumeBitfield: null,
          lastPersistAt: Date.now(),
          lastPersistedBytes: record.bytesDone,
        };
        this.entries.set(record.id, entry);
        if (record.status === "downloading" || record.status === "queued") {
          // Pieces already on disk are hash-checked by WebTorrent before anything is requested.
          this.start(entry);
          if (record.status === "queued") this.setStatus(entry, "downloading");
        } else if (record.status === "seeding") {
          if (this.current.seeding) this.start(entry);
          else this.setStatus(entry, "completed");
        }
      });
    }
  }

  pause(id: string): Promise<DownloadRecord> {
    return this.serial(async () => {
      const entry = this.entry(id);
      const s = entry.record.status;
      if (s === "downloading" || s === "queued" || s === "seeding" || s === "error") {
        await this.stop(entry);
        this.setStatus(entry, "paused");
      }
      return copyRecord(entry.record);
    });
  }

  resume(id: string): Promise<DownloadRecord> {
    return this.serial(async () => {
      const entry = this.entry(id);
      if (this.closed) throw new Error("torrent engine is closed");
      if (entry.torrent) return copyRecord(entry.record);
      const s = entry.record.status;
      if (s === "completed" && !this.current.seeding) return copyRecord(entry.record);
      await ensureFolder(entry.record.savePath);
      this.setStatus(entry, s === "completed" ? "seeding" : "downloading");
      this.start(entry);
      return copyRecord(entry.record);
    });
  }

  cancel(id: string): Promise<DownloadRecord> {
    return this.serial(async () => {
      const entry = this.entry(id);
      if (entry.record.status === "cancelled") return copyRecord(entry.record);
      await this.stop(entry);
      entry.resumeBitfield = null;
      if (entry.record.status !== "completed" && entry.record.status !== "seeding") {
        await deleteTorrentFiles(entry.record.savePath, entry.meta?.files ?? []);
      }
      entry.record.bytesDone = 0;
      this.setStatus(entry, "cancelled");
      return copyRecord(entry.record);
    });
  }

  remove(id: string, opts: { deleteFiles: boolean }): Promise<void> {
    return this.serial(async () => {
      const entry = this.entry(id);
      await this.stop(entry);
      this.entries.delete(id);
      if (opts?.deleteFiles) await deleteTorrentFiles(entry.record.savePath, entry.meta?.files ?? []);
    });
  }

  private stats(entry: Entry): LiveStats {
    this.refreshProgress(entry);
    const t = entry.torrent;
    const { bytesDone, totalBytes } = entry.record;
    const downloadSpeed = t ? Math.round(t.downloadSpeed) : 0;
    const remaining = totalBytes - bytesDone;
    let eta: number | null = null;
    if (totalBytes > 0 && remaining <= 0) eta = 0;
    else if (t && totalBytes > 0 && downloadSpeed > 0) eta = Math.ceil(remaining / downloadSpeed);
    return {
      id: entry.record.id,
      infoHash: entry.record.infoHash,
      status: entry.record.status,
      bytesDone,
      totalBytes,
      progress: totalBytes > 0 ? bytesDone / totalBytes : 0,
      downloadSpeed,
      uploadSpeed: t ? Math.round(t.uploadSpeed) : 0,
      eta,
      peers: t ? t.numPeers : 0,
    };
  }

  list(): LiveStats[] {
    return [...this.entries.values()].map((e) => this.stats(e));
  }

  details(id: string): TorrentDetails | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const stats = this.stats(entry);
    const t = entry.torrent;
    const liveFiles = t?.files?.length ? t.files : null;
    const done = entry.record.status === "completed" || entry.record.status === "seeding";
    const files = liveFiles
      ? liveFiles.map((f) => ({ path: f.path, length: f.length, bytesDone: f.downloaded, progress: f.progress }))
      : (entry.meta?.files ?? []).map((f) => ({
          path: f.path,
          length: f.length,
          bytesDone: done ? f.length : Math.round(f.length * stats.progress),
          progress: done ? 1 : stats.progress,
        }));
    const wires: WebTorrentWire[] = t?.wires ?? [];
    return {
      ...stats,
      name: entry.record.name,
      savePath: entry.record.savePath,
      files,
      trackers: [...(t?.announce ?? entry.meta?.announce ?? entry.source.announce)],
      peerList: wires.map((w) => ({
        address: `${w.remoteAddress ?? "?"}:${w.remotePort ?? 0}`,
        client: peerClient(w.peerId),
        downloadSpeed: Math.round(w.downloadSpeed()),
        uploadSpeed: Math.round(w.uploadSpeed()),
      })),
      pieceLength: t?.pieceLength ?? entry.meta?.pieceLength ?? 0,
      error: entry.record.error,
      received: t?.received ?? 0,
      uploaded: t?.uploaded ?? 0,
    };
  }

  record(id: string): DownloadRecord | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.refreshProgress(entry);
    return copyRecord(entry.record);
  }

  settings(): TorrentSettings {
    return { ...this.current };
  }

  updateSettings(partial: Partial<TorrentSettings>): void {
    const next = { ...this.current, ...partial };
    validateSettings(next);
    const previous = this.current;
    this.current = next;
    if (next.downloadLimit !== previous.downloadLimit) {
      this.client.throttleDownload(next.downloadLimit > 0 ? next.downloadLimit : -1);
    }
    if (next.uploadLimit !== previous.uploadLimit) {
      this.client.throttleUpload(next.uploadLimit > 0 ? next.uploadLimit : -1);
    }
    if (next.maxConnections !== previous.maxConnections) this.client.maxConns = Math.max(1, next.maxConnections || 55);
    if (!next.seeding && previous.seeding) {
      void this.serial(async () => {
        for (const entry of this.entries.values()) {
          if (entry.record.status !== "seeding") continue;
          await this.stop(entry);
          this.setStatus(entry, "completed");
        }
      });
    }
    if (next.dht !== previous.dht || next.trackers !== previous.trackers || next.torrentPort !== previous.torrentPort) {
      // WebTorrent fixes discovery and the listening port when the client is built: rebuild it and re-add.
      void this.serial(() => this.rebuildClient());
    }
  }

  private async rebuildClient(): Promise<void> {
    if (this.closed) return;
    const running = [...this.entries.values()].filter((e) => e.torrent);
    for (const entry of running) await this.stop(entry);
    const old = this.client;
    await new Promise<void>((resolve) => old.destroy(() => resolve()));
    this.client = this.createClient();
    for (const entry of running) this.start(entry);
  }

  on(event: "progress", fn: (stats: LiveStats[]) => void): void;
  on(event: "status", fn: (record: DownloadRecord) => void): void;
  on(event: "progress" | "status", fn: (arg: never) => void): void {
    this.events.on(event, fn as (...args: unknown[]) => void);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.serial(async () => {
      this.closed = true;
      clearInterval(this.ticker);
      for (const entry of this.entries.values()) {
        if (!entry.torrent) continue;
        this.refreshProgress(entry);
        entry.record.updatedAt = Date.now();
        this.persist(entry);
      }
      await new Promise<void>((resolve) => this.client.destroy(() => resolve()));
      for (const entry of this.entries.values()) entry.torrent = null;
      this.events.removeAllListeners();
    });
  }
}

export function createTorrentEngine(opts: TorrentEngineOptions): TorrentEngine {
  return new WebTorrentEngine(opts);
}
