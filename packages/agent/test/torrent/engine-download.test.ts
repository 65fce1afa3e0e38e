import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTorrentEngine, type DownloadRecord, type TorrentEngine } from "../../src/torrent/index.ts";
import {
  type Fixture,
  makeFixture,
  memoryPersistence,
  startSeeder,
  startTracker,
  type TestSeeder,
  type TestTracker,
  tempDir,
  testSettings,
  verifyDownloaded,
  waitFor,
} from "../helpers/torrent-fixtures.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let tracker: TestTracker;
let fixture: Fixture;
let seeder: TestSeeder;
let http: HttpServer;
let torrentUrl: string;
const engines: TorrentEngine[] = [];

beforeAll(async () => {
  work = await tempDir("torrent-download");
  tracker = await startTracker();
  fixture = await makeFixture({
    dir: work.dir,
    name: "album",
    files: { "track-1.bin": 3 * 1024 * 1024 + 17, "notes/readme.txt": 40_000 },
    announceUrl: tracker.announceUrl,
  });
  seeder = await startSeeder(fixture, tracker);
  http = createServer((req, res) => {
    if (req.url === "/album.torrent") {
      res.writeHead(200, { "content-type": "application/x-bittorrent" });
      res.end(fixture.torrentFile);
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  torrentUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/album.torrent`;
});

afterAll(async () => {
  for (const engine of engines) await engine.close();
  await seeder?.close();
  await tracker?.close();
  await new Promise((resolve) => http?.close(resolve));
  await work?.cleanup();
});

async function newEngine(name: string, overrides: { seeding?: boolean } = {}) {
  const folder = path.join(work.dir, name);
  const persistence = memoryPersistence();
  const engine = createTorrentEngine({
    settings: { ...testSettings(folder), ...overrides },
    persistence,
    persistIntervalMs: 500,
  });
  engines.push(engine);
  const statuses: DownloadRecord[] = [];
  engine.on("status", (r) => statuses.push(r));
  return { engine, persistence, folder, statuses };
}

async function waitForStatus(statuses: DownloadRecord[], id: string, status: string, timeoutMs = 60_000) {
  return waitFor(
    () => statuses.find((r) => r.id === id && r.status === status),
    timeoutMs,
    `download ${id} to become ${status}`,
  );
}

describe("torrent engine downloads from a real peer on loopback", () => {
  it("downloads a magnet link and the files match the seeded bytes", async () => {
    const { engine, persistence, folder, statuses } = await newEngine("by-magnet");
    const added = await engine.add({ magnet: fixture.magnet }, { id: "d-magnet", linkId: "l1" });
    expect(added).toMatchObject({ id: "d-magnet", linkId: "l1", infoHash: fixture.infoHash, status: "downloading" });
    expect(added.savePath).toBe(folder);

    const done = await waitForStatus(statuses, "d-magnet", "completed");
    expect(done.bytesDone).toBe(fixture.totalBytes);
    expect(done.totalBytes).toBe(fixture.totalBytes);
    expect(done.name).toBe("album");
    await verifyDownloaded(folder, fixture);
    // The metadata fetched from the peer is kept so that a restart needs no peer to know the files.
    expect(persistence.loadTorrentFile(fixture.infoHash)?.length).toBeGreaterThan(0);
    expect(persistence.latest("d-magnet")?.status).toBe("completed");
    expect(engine.list()).toEqual([
      expect.objectContaining({ id: "d-magnet", status: "completed", progress: 1, peers: 0, eta: 0 }),
    ]);
    const details = engine.details("d-magnet");
    expect(details?.files.map((f) => f.path).sort()).toEqual(Object.keys(fixture.sha256).sort());
    expect(details?.trackers).toContain(tracker.announceUrl);
  });

  it("downloads from .torrent bytes and then seeds when seeding is on", async () => {
    const { engine, folder, statuses } = await newEngine("by-file", { seeding: true });
    const progress: number[] = [];
    engine.on("progress", (stats) => progress.push(stats[0]?.bytesDone ?? 0));
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "d-file", linkId: "l2" });
    const seeding = await waitForStatus(statuses, "d-file", "seeding");
    expect(seeding.bytesDone).toBe(fixture.totalBytes);
    expect(statuses.some((r) => r.id === "d-file" && r.status === "completed")).toBe(false);
    await verifyDownloaded(folder, fixture);
    // Still in the swarm: the live torrent reports its peer.
    expect(engine.list()[0]).toMatchObject({ status: "seeding", progress: 1 });
  });

  it("downloads a .torrent served over http", async () => {
    const { engine, folder, statuses } = await newEngine("by-url");
    const added = await engine.add({ torrentUrl }, { id: "d-url", linkId: "l3" });
    expect(added.totalBytes).toBe(fixture.totalBytes);
    await waitForStatus(statuses, "d-url", "completed");
    await verifyDownloaded(folder, fixture);
  });

  it("refuses to add the same torrent twice", async () => {
    const { engine } = await newEngine("duplicate");
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "d-a", linkId: "l4", paused: true });
    await expect(engine.add({ magnet: fixture.magnet }, { id: "d-b", linkId: "l4" })).rejects.toThrow(
      /already in the download list \(download d-a\)/,
    );
    expect(engine.record("d-a")?.status).toBe("paused");
  });
});

describe("torrent engine restores a magnet that had no metadata yet", () => {
  it("restarts from the link's magnet, keeping its trackers, once a peer is there", async () => {
    // A torrent nobody seeds yet: the magnet download waits for metadata.
    const lonely = await makeFixture({
      dir: path.join(work.dir, "lonely"),
      name: "lonely.bin",
      files: { "lonely.bin": 300_000 },
      announceUrl: tracker.announceUrl,
    });
    const first = await newEngine("magnet-restore");
    const added = await first.engine.add({ magnet: lonely.magnet }, { id: "m", linkId: "lm" });
    expect(added.totalBytes).toBe(0);
    await first.engine.close();
    expect(first.persistence.loadTorrentFile(lonely.infoHash)).toBeUndefined();
    const saved = first.persistence.latest("m") as DownloadRecord;
    expect(saved.status).toBe("downloading");

    const lonelySeeder = await startSeeder(lonely, tracker);
    try {
      const second = await newEngine("magnet-restore");
      await second.engine.restore([saved], { magnetOf: (r) => (r.linkId === "lm" ? lonely.magnet : undefined) });
      await waitForStatus(second.statuses, "m", "completed");
      await verifyDownloaded(second.folder, lonely);
      expect(second.persistence.loadTorrentFile(lonely.infoHash)?.length).toBeGreaterThan(0);
    } finally {
      await lonelySeeder.close();
    }
  });
});
