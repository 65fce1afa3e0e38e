// A torrent engine in its own process, so that tests can SIGKILL it mid-download.
// Usage: node torrent-child.ts <config.json>; prints one JSON line per event on stdout.
import { readFileSync } from "node:fs";
import { createTorrentEngine } from "../../src/torrent/index.ts";
import { jsonFilePersistence } from "./torrent-json-persistence.ts";

interface ChildConfig {
  stateFile: string;
  folder: string;
  downloadLimit: number;
  seeding?: boolean;
  /** Start a new download from this .torrent file; without it, restore what the state file holds. */
  add?: { torrentFilePath: string; id: string; linkId: string };
}

const config = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as ChildConfig;
const persistence = jsonFilePersistence(config.stateFile);
const engine = createTorrentEngine({
  settings: {
    downloadFolder: config.folder,
    maxConnections: 20,
    downloadLimit: config.downloadLimit,
    uploadLimit: 0,
    seeding: config.seeding ?? false,
    dht: false,
    trackers: true,
  },
  persistence,
  persistIntervalMs: 500,
  progressIntervalMs: 200,
});
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
engine.on("progress", (stats) => print({ event: "progress", stats }));
engine.on("status", (record) => print({ event: "status", record }));

if (config.add) {
  await engine.add(
    { torrentFile: readFileSync(config.add.torrentFilePath) },
    { id: config.add.id, linkId: config.add.linkId },
  );
} else {
  await engine.restore(persistence.records());
}
print({ event: "ready" });

process.on("SIGTERM", () => {
  void engine.close().then(() => process.exit(0));
});
