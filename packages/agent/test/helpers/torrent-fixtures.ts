import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Server } from "bittorrent-tracker";
import createTorrent from "create-torrent";
import parseTorrent, { toMagnetURI } from "parse-torrent";
import WebTorrent, { type WebTorrentTorrent } from "webtorrent";
import type { DownloadRecord, TorrentPersistence } from "../../src/torrent/index.ts";

/** Poll a condition until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `pn-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestTracker {
  announceUrl: string;
  server: Server;
  /** Peers the tracker currently knows as complete (seeders) for a torrent. */
  seeders(infoHash: string): number;
  /** Peers the tracker currently knows as still downloading. */
  leechers(infoHash: string): number;
  close(): Promise<void>;
}

/** An in-process HTTP tracker on 127.0.0.1 that tells clients to re-announce every few seconds. */
export async function startTracker(): Promise<TestTracker> {
  const server = new Server({ http: true, udp: false, ws: false, stats: false, interval: 3000 });
  server.on("error", () => {});
  server.on("warning", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.http?.address();
  if (!address || typeof address === "string") throw new Error("tracker did not bind");
  const torrents = (server as unknown as { torrents: Record<string, { complete: number; incomplete: number }> })
    .torrents;
  return {
    announceUrl: `http://127.0.0.1:${address.port}/announce`,
    server,
    seeders: (infoHash) => torrents[infoHash]?.complete ?? 0,
    leechers: (infoHash) => torrents[infoHash]?.incomplete ?? 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Fixture {
  /** Folder holding the complete data (the seeder's save folder). */
  dataDir: string;
  name: string;
  torrentFile: Buffer;
  infoHash: string;
  magnet: string;
  totalBytes: number;
  /** sha256 per file path relative to the save folder. */
  sha256: Record<string, string>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function writeRandomFile(file: string, size: number): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const hash = createHash("sha256");
  const chunk = 4 * 1024 * 1024;
  const handle = await open(file, "w");
  try {
    for (let done = 0; done < size; done += chunk) {
      const buf = randomBytes(Math.min(chunk, size - done));
      hash.update(buf);
      await handle.write(buf);
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/**
 * Random content plus a .torrent announcing to `announceUrl`.
 * `files` maps paths inside the torrent to sizes; one entry with no "/" makes a single-file torrent.
 */
export async function makeFixture(opts: {
  dir: string;
  name: string;
  files: Record<string, number>;
  announceUrl: string;
  pieceLength?: number;
}): Promise<Fixture> {
  const dataDir = path.join(opts.dir, "seed");
  const entries = Object.entries(opts.files);
  const single = entries.length === 1 && entries[0]?.[0] === opts.name;
  const sha256: Record<string, string> = {};
  for (const [rel, size] of entries) {
    const relPath = single ? rel : path.join(opts.name, rel);
    sha256[relPath] = await writeRandomFile(path.join(dataDir, relPath), size);
  }
  const input = path.join(dataDir, opts.name);
  const torrentFile = await new Promise<Buffer>((resolve, reject) =>
    createTorrent(
      input,
      {
        name: opts.name,
        announceList: [[opts.announceUrl]],
        createdBy: "PerpetuaNet tests",
        ...(opts.pieceLength ? { pieceLength: opts.pieceLength } : {}),
      },
      (err, torrent) => (err ? reject(err) : resolve(Buffer.from(torrent))),
    ),
  );
  const parsed = await parseTorrent(torrentFile);
  return {
    dataDir,
    name: opts.name,
    torrentFile,
    infoHash: parsed.infoHash,
    magnet: toMagnetURI({ infoHash: parsed.infoHash, name: opts.name, announce: [opts.announceUrl] }),
    totalBytes: parsed.length ?? 0,
    sha256,
  };
}

export async function verifyDownloaded(saveDir: string, fixture: Fixture): Promise<void> {
  for (const [rel, expected] of Object.entries(fixture.sha256)) {
    const actual = await sha256File(path.join(saveDir, rel));
    if (actual !== expected) throw new Error(`${rel}: sha256 ${actual} does not match the seeded ${expected}`);
  }
}

export interface TestSeeder {
  client: WebTorrent;
  torrent: WebTorrentTorrent;
  close(): Promise<void>;
}

/** A separate WebTorrent client seeding the fixture over TCP on loopback, registered with the tracker. */
export async function startSeeder(fixture: Fixture, tracker: TestTracker, uploadLimit = -1): Promise<TestSeeder> {
  const client = new WebTorrent({
    dht: false,
    lsd: false,
    utPex: false,
    natUpnp: false,
    natPmp: false,
    uploadLimit,
  });
  client.on("error", () => {});
  const torrent = client.add(fixture.torrentFile, { path: fixture.dataDir });
  torrent.on("error", () => {});
  await waitFor(() => torrent.done, 60_000, "the seeder to verify its data");
  await waitFor(() => tracker.seeders(fixture.infoHash) > 0, 30_000, "the seeder to announce to the tracker");
  return { client, torrent, close: () => new Promise<void>((resolve) => client.destroy(() => resolve())) };
}

/** In-memory persistence that keeps every saved version, so tests can check what and how often was written. */
export function memoryPersistence(): TorrentPersistence & {
  saved: DownloadRecord[];
  latest(id: string): DownloadRecord | undefined;
  torrentFiles: Map<string, Buffer>;
} {
  const saved: DownloadRecord[] = [];
  const torrentFiles = new Map<string, Buffer>();
  return {
    saved,
    torrentFiles,
    latest: (id) => saved.filter((r) => r.id === id).at(-1),
    saveDownload: (record) => {
      saved.push({ ...record });
    },
    saveTorrentFile: (infoHash, bytes) => {
      torrentFiles.set(infoHash, Buffer.from(bytes));
    },
    loadTorrentFile: (infoHash) => torrentFiles.get(infoHash),
  };
}

export function testSettings(downloadFolder: string) {
  return {
    downloadFolder,
    maxConnections: 20,
    downloadLimit: 0,
    uploadLimit: 0,
    seeding: false,
    dht: false,
    trackers: true,
  };
}
