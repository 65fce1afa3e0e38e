import type { DownloadStatus, TorrentOptions, TransferStats } from "@perpetuanet/core";

/** One download as the rest of the agent stores and syncs it (the `downloads` row, minus deviceId). */
export interface DownloadRecord {
  id: string;
  linkId: string;
  infoHash: string;
  name: string;
  status: DownloadStatus;
  bytesDone: number;
  totalBytes: number;
  savePath: string;
  error: string | null;
  updatedAt: number;
}

/** Where the engine keeps what must survive a restart. The runtime backs this with the local store. */
export interface TorrentPersistence {
  saveDownload(record: DownloadRecord): void;
  saveTorrentFile(infoHash: string, bytes: Buffer): void;
  loadTorrentFile(infoHash: string): Buffer | undefined;
}

export interface TorrentSettings extends TorrentOptions {
  /** The port peers connect to (0 or absent = any free port). */
  torrentPort?: number;
}

/** The engine's live figures for one download; `eta` is null also while a magnet has no metadata yet. */
export interface LiveStats extends TransferStats {
  id: string;
  infoHash: string;
}

export interface TorrentDetails extends LiveStats {
  name: string;
  savePath: string;
  files: Array<{ path: string; length: number; bytesDone: number; progress: number }>;
  trackers: string[];
  peerList: Array<{ address: string; client: string | null; downloadSpeed: number; uploadSpeed: number }>;
  pieceLength: number;
  error: string | null;
  /** Payload bytes received from peers since this download was last started in this process. */
  received: number;
  /** Payload bytes sent to peers since this download was last started in this process. */
  uploaded: number;
}

export type TorrentInput = { magnet: string } | { torrentFile: Buffer } | { torrentUrl: string };

/** The input is not a usable torrent (bad magnet, garbage .torrent bytes, unreachable .torrent URL). */
export class InvalidTorrentError extends Error {
  override name = "InvalidTorrentError";
}

export interface TorrentEngine {
  add(
    input: TorrentInput,
    opts: { id: string; linkId: string; savePath?: string; paused?: boolean },
  ): Promise<DownloadRecord>;
  /**
   * Take over downloads from a previous run. A download whose .torrent was never saved (a magnet that
   * had no metadata yet) restarts from `magnetOf(record)` when given (e.g. the link's URL, keeping its
   * trackers), else from a bare info-hash magnet that only the DHT can resolve.
   */
  restore(
    records: DownloadRecord[],
    opts?: { magnetOf?: (record: DownloadRecord) => string | undefined },
  ): Promise<void>;
  pause(id: string): Promise<DownloadRecord>;
  resume(id: string): Promise<DownloadRecord>;
  cancel(id: string): Promise<DownloadRecord>;
  remove(id: string, opts: { deleteFiles: boolean }): Promise<void>;
  list(): LiveStats[];
  details(id: string): TorrentDetails | undefined;
  record(id: string): DownloadRecord | undefined;
  updateSettings(partial: Partial<TorrentSettings>): void;
  settings(): TorrentSettings;
  on(event: "progress", fn: (stats: LiveStats[]) => void): void;
  on(event: "status", fn: (record: DownloadRecord) => void): void;
  close(): Promise<void>;
}

export interface TorrentEngineOptions {
  settings: TorrentSettings;
  persistence: TorrentPersistence;
  /** Minimum time between two progress writes of the same download (default 2000 ms). */
  persistIntervalMs?: number;
  /** How often "progress" is emitted while something is active (default 1000 ms). */
  progressIntervalMs?: number;
  /** Timeout for fetching a .torrent URL (default 30 s). */
  fetchTimeoutMs?: number;
  /**
   * Dial peers over uTP first (default false: TCP). WebTorrent only falls back from uTP to TCP after
   * about 20 s of retries, which loses every TCP-only peer at first contact.
   */
  utp?: boolean;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
}
