import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { DownloadRecord, TorrentPersistence } from "../../src/torrent/index.ts";

interface State {
  downloads: Record<string, DownloadRecord>;
  torrents: Record<string, string>;
}

/** Persistence in one JSON file, rewritten atomically on every save, as a stand-in for the store across processes. */
export function jsonFilePersistence(file: string): TorrentPersistence & { records(): DownloadRecord[] } {
  const read = (): State =>
    existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as State) : { downloads: {}, torrents: {} };
  const write = (state: State) => {
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  };
  return {
    records: () => Object.values(read().downloads),
    saveDownload(record) {
      const state = read();
      state.downloads[record.id] = record;
      write(state);
    },
    saveTorrentFile(infoHash, bytes) {
      const state = read();
      state.torrents[infoHash] = Buffer.from(bytes).toString("base64");
      write(state);
    },
    loadTorrentFile(infoHash) {
      const b64 = read().torrents[infoHash];
      return b64 === undefined ? undefined : Buffer.from(b64, "base64");
    },
  };
}
