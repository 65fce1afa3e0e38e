export { createTorrentEngine } from "./engine.ts";
export { MAX_TORRENT_FILE_BYTES } from "./input.ts";
export {
  type DownloadRecord,
  InvalidTorrentError,
  type LiveStats,
  type TorrentDetails,
  type TorrentEngine,
  type TorrentEngineOptions,
  type TorrentInput,
  type TorrentPersistence,
  type TorrentSettings,
} from "./types.ts";
