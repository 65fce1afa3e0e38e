/**
 * Torrent downloads of this PC, wired to the store: every download is a synced `downloads` row (so the
 * user's other PCs see its status), its live figures come from the torrent engine, and the engine
 * restores from those rows after a restart.
 */
import type {
  AddTorrentRequest,
  Download,
  DownloadDetails,
  DownloadView,
  JsonValue,
  LinkView,
  RowOf,
} from "@perpetuanet/core";
import { newRowId } from "@perpetuanet/core";
import type { LocalStore } from "../store/index.ts";
import {
  createTorrentEngine,
  type DownloadRecord,
  InvalidTorrentError,
  type LiveStats,
  type TorrentEngine,
  type TorrentInput,
  type TorrentSettings,
} from "../torrent/index.ts";
import type { Devices } from "./devices.ts";
import { NotFoundError, UserInputError } from "./errors.ts";
import type { Library } from "./library.ts";
import type { LocalWriter } from "./local-writer.ts";

// linkId is written once, at creation: the engine may not know it (a .torrent file gets its link afterwards).
const RECORD_COLUMNS = ["infoHash", "name", "status", "bytesDone", "totalBytes", "savePath", "error"] as const;

export interface DownloadsOptions {
  store: LocalStore;
  writer: LocalWriter;
  library: Library;
  devices: Devices;
  settings: TorrentSettings;
  /** How often a running download's progress is written to the synced row (default 5 s). */
  persistIntervalMs?: number;
  onProgress: (views: DownloadView[]) => void;
  onStatus: (record: DownloadRecord, previous: DownloadRecord["status"] | undefined) => void;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
}

export class Downloads {
  private readonly opts: DownloadsOptions;
  readonly engine: TorrentEngine;
  private live = new Map<string, LiveStats>();

  constructor(opts: DownloadsOptions) {
    this.opts = opts;
    const { store } = opts;
    this.engine = createTorrentEngine({
      settings: opts.settings,
      persistIntervalMs: opts.persistIntervalMs ?? 5000,
      persistence: {
        saveDownload: (record) => this.saveRecord(record),
        saveTorrentFile: (infoHash, bytes) => store.saveTorrentFile(infoHash, bytes),
        loadTorrentFile: (infoHash) => store.loadTorrentFile(infoHash),
      },
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.engine.on("progress", (stats) => {
      this.live = new Map(stats.map((s) => [s.id, s]));
      opts.onProgress(this.list());
    });
  }

  private get deviceId(): string {
    return this.opts.writer.deviceId;
  }

  /** Takes over this PC's downloads from the store (after a restart or an unlock). */
  async restore(): Promise<void> {
    const mine = this.opts.store
      .listRows("downloads")
      .filter((row) => row.deviceId === this.deviceId && row.infoHash)
      .map(toRecord);
    await this.engine.restore(mine, {
      magnetOf: (record) => {
        const link = this.opts.store.getRow("links", record.linkId);
        return link?.kind === "magnet" ? link.url : undefined;
      },
    });
  }

  /** Writes only the columns that changed, so progress updates stay small in the sync log. */
  private saveRecord(record: DownloadRecord): void {
    const row = this.opts.store.getRow("downloads", record.id);
    const previous = row?.status;
    const values: Record<string, JsonValue> = {};
    for (const col of RECORD_COLUMNS) {
      if (row?.[col] !== record[col]) values[col] = record[col];
    }
    if (Object.keys(values).length === 0) return;
    if (!row) {
      values.linkId = record.linkId;
      values.deviceId = this.deviceId;
      values.deleted = false;
    }
    values.updatedAt = record.updatedAt;
    this.opts.writer.write("downloads", record.id, values as RowOf<"downloads">);
    if (record.status !== previous) this.opts.onStatus(record, previous);
  }

  async add(req: AddTorrentRequest): Promise<DownloadView> {
    const given = [req.magnet, req.torrentUrl, req.torrentFile].filter((v) => v !== undefined && v !== "");
    if (given.length !== 1) throw new UserInputError("give exactly one of magnet, torrentUrl or torrentFile");
    let input: TorrentInput;
    let link: LinkView | undefined;
    if (req.magnet) {
      input = { magnet: req.magnet };
      link = this.opts.library.ensure({ url: req.magnet, kind: "magnet", title: req.title });
    } else if (req.torrentUrl) {
      input = { torrentUrl: req.torrentUrl };
      link = this.opts.library.ensure({ url: req.torrentUrl, kind: "torrent", title: req.title });
    } else {
      const bytes = Buffer.from(req.torrentFile ?? "", "base64");
      if (bytes.length === 0) throw new UserInputError("the .torrent file is empty or not base64");
      input = { torrentFile: bytes };
    }
    return this.start(input, link, req);
  }

  /** Starts downloading a magnet or .torrent link from the library. */
  async fromLink(linkId: string, savePath?: string): Promise<DownloadView> {
    const link = this.opts.library.get(linkId);
    if (link.kind === "magnet") return this.start({ magnet: link.url }, link, { savePath });
    if (link.kind === "torrent") return this.start({ torrentUrl: link.url }, link, { savePath });
    throw new UserInputError(`"${link.title}" is a ${link.kind} link, not a torrent`, "NOT_A_TORRENT");
  }

  private async start(
    input: TorrentInput,
    link: LinkView | undefined,
    req: { savePath?: string | undefined; title?: string | undefined },
  ): Promise<DownloadView> {
    const id = newRowId();
    let record: DownloadRecord;
    try {
      record = await this.engine.add(input, {
        id,
        linkId: link?.id ?? "",
        ...(req.savePath ? { savePath: req.savePath } : {}),
      });
    } catch (error) {
      if (error instanceof InvalidTorrentError) throw new UserInputError(error.message, "INVALID_TORRENT");
      throw error;
    }
    if (!link) {
      // A .torrent file from the UI: the library keeps it as a magnet with the same info hash and name.
      const url = `magnet:?xt=urn:btih:${record.infoHash}&dn=${encodeURIComponent(record.name)}`;
      link = this.opts.library.ensure({ url, kind: "magnet", title: req.title || record.name });
      this.opts.writer.write("downloads", id, { linkId: link.id });
    }
    return this.view(id);
  }

  async pause(id: string): Promise<DownloadView> {
    await this.engine.pause(this.ownId(id));
    return this.view(id);
  }

  async resume(id: string): Promise<DownloadView> {
    await this.engine.resume(this.ownId(id));
    return this.view(id);
  }

  async cancel(id: string): Promise<DownloadView> {
    await this.engine.cancel(this.ownId(id));
    return this.view(id);
  }

  async remove(id: string, deleteFiles: boolean): Promise<void> {
    const row = this.row(id);
    if (row.deviceId === this.deviceId && this.engine.record(id)) await this.engine.remove(id, { deleteFiles });
    else if (row.deviceId !== this.deviceId && deleteFiles) {
      throw new UserInputError("the files of another PC's download can only be deleted on that PC", "NOT_LOCAL");
    }
    this.opts.writer.write("downloads", id, { deleted: true, updatedAt: Date.now() });
  }

  updateSettings(settings: TorrentSettings): void {
    this.engine.updateSettings(settings);
  }

  private row(id: string): Download {
    const row = this.opts.store.getRow("downloads", id);
    if (!row || row.deleted) throw new NotFoundError(`no download ${id}`);
    return row as Download;
  }

  private ownId(id: string): string {
    const row = this.row(id);
    if (row.deviceId !== this.deviceId || !this.engine.record(id)) {
      throw new UserInputError("this download belongs to another PC; start it here from the library", "NOT_LOCAL");
    }
    return id;
  }

  view(id: string): DownloadView {
    return this.toView(this.row(id));
  }

  list(): DownloadView[] {
    return this.opts.store
      .listRows("downloads")
      .map((row) => this.toView(row as Download))
      .sort((a, b) => Number(b.local) - Number(a.local) || b.updatedAt - a.updatedAt);
  }

  details(id: string): DownloadDetails {
    const view = this.view(id);
    const d = view.local ? this.engine.details(id) : undefined;
    const elsewhere = this.opts.store
      .findRows("downloads", "infoHash", view.infoHash)
      .filter((row) => row.deviceId !== view.deviceId)
      .map((row) => ({
        deviceId: row.deviceId ?? "",
        deviceName: row.deviceId ? this.opts.devices.name(row.deviceId) : null,
        status: row.status ?? "queued",
        progress: row.totalBytes ? Math.min(1, (row.bytesDone ?? 0) / row.totalBytes) : 0,
      }));
    return {
      ...view,
      files: d?.files ?? [],
      trackers: d?.trackers ?? [],
      peerList: d?.peerList ?? [],
      pieceLength: d?.pieceLength ?? 0,
      elsewhere,
    };
  }

  private toView(row: Download): DownloadView {
    const local = row.deviceId === this.deviceId;
    const live = local ? (this.live.get(row.id) ?? this.liveNow(row.id)) : undefined;
    const record = local ? this.engine.record(row.id) : undefined;
    const bytesDone = record?.bytesDone ?? row.bytesDone ?? 0;
    const totalBytes = record?.totalBytes ?? row.totalBytes ?? 0;
    const status = record?.status ?? row.status ?? "queued";
    const active = status === "downloading" || status === "seeding";
    return {
      id: row.id,
      linkId: row.linkId ?? "",
      infoHash: row.infoHash ?? "",
      name: record?.name ?? row.name ?? "",
      deviceId: row.deviceId ?? "",
      deviceName: row.deviceId ? this.opts.devices.name(row.deviceId) : null,
      local,
      status,
      bytesDone,
      totalBytes,
      progress: totalBytes > 0 ? Math.min(1, bytesDone / totalBytes) : status === "completed" ? 1 : 0,
      downloadSpeed: active ? (live?.downloadSpeed ?? 0) : 0,
      uploadSpeed: active ? (live?.uploadSpeed ?? 0) : 0,
      eta: active ? (live?.eta ?? null) : null,
      peers: active ? (live?.peers ?? 0) : 0,
      savePath: record?.savePath ?? row.savePath ?? "",
      error: record?.error ?? row.error ?? null,
      updatedAt: record?.updatedAt ?? row.updatedAt ?? 0,
    };
  }

  private liveNow(id: string): LiveStats | undefined {
    return this.engine.list().find((s) => s.id === id);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

function toRecord(row: Download): DownloadRecord {
  return {
    id: row.id,
    linkId: row.linkId ?? "",
    infoHash: row.infoHash ?? "",
    name: row.name ?? "",
    status: row.status ?? "queued",
    bytesDone: row.bytesDone ?? 0,
    totalBytes: row.totalBytes ?? 0,
    savePath: row.savePath ?? "",
    error: row.error ?? null,
    updatedAt: row.updatedAt ?? 0,
  };
}
