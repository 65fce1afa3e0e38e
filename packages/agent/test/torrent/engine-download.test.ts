import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DownloadRecord } from "../../src/torrent/index.ts";
import { makeFixture, startSeeder, verifyDownloaded } from "../helpers/torrent-fixtures.ts";
import { useSwarm } from "../helpers/torrent-swarm.ts";

const swarm = useSwarm({
  prefix: "torrent-download",
  name: "album",
  files: { "track-1.bin": 3 * 1024 * 1024 + 17, "notes/readme.txt": 40_000 },
});
let torrentUrl: string;

beforeAll(async () => {
  const http = createServer((req, res) => {
    if (req.url === "/album.torrent") {
      res.writeHead(200, { "content-type": "application/x-bittorrent" });
      res.end(swarm.fixture.torrentFile);
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  swarm.closeAtEnd(() => new Promise((resolve) => http.close(resolve)));
  torrentUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/album.torrent`;
});

const newEngine = (name: string, overrides: { seeding?: boolean } = {}) =>
  swarm.engine(name, { settings: overrides, persistIntervalMs: 500 });

describe("torrent engine downloads from a real peer on loopback", () => {
  it("downloads a magnet link and the files match the seeded bytes", async () => {
    const { fixture } = swarm;
    const { engine, persistence, folder, waitForStatus } = newEngine("by-magnet");
    const added = await engine.add({ magnet: fixture.magnet }, { id: "d-magnet", linkId: "l1" });
    expect(added).toMatchObject({ id: "d-magnet", linkId: "l1", infoHash: fixture.infoHash, status: "downloading" });
    expect(added.savePath).toBe(folder);

    const done = await waitForStatus("completed", { id: "d-magnet" });
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
    expect(details?.trackers).toContain(swarm.tracker.announceUrl);
  });

  it("downloads from .torrent bytes and then seeds when seeding is on", async () => {
    const { fixture } = swarm;
    const { engine, folder, statuses, waitForStatus } = newEngine("by-file", { seeding: true });
    const progress: number[] = [];
    engine.on("progress", (stats) => progress.push(stats[0]?.bytesDone ?? 0));
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "d-file", linkId: "l2" });
    const seeding = await waitForStatus("seeding", { id: "d-file" });
    expect(seeding.bytesDone).toBe(fixture.totalBytes);
    expect(statuses.some((r) => r.id === "d-file" && r.status === "completed")).toBe(false);
    await verifyDownloaded(folder, fixture);
    // Still in the swarm: the live torrent reports its peer.
    expect(engine.list()[0]).toMatchObject({ status: "seeding", progress: 1 });
  });

  it("downloads a .torrent served over http", async () => {
    const { engine, folder, waitForStatus } = newEngine("by-url");
    const added = await engine.add({ torrentUrl }, { id: "d-url", linkId: "l3" });
    expect(added.totalBytes).toBe(swarm.fixture.totalBytes);
    await waitForStatus("completed", { id: "d-url" });
    await verifyDownloaded(folder, swarm.fixture);
  });

  it("refuses to add the same torrent twice", async () => {
    const { fixture } = swarm;
    const { engine } = newEngine("duplicate");
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
      dir: path.join(swarm.dir, "lonely"),
      name: "lonely.bin",
      files: { "lonely.bin": 300_000 },
      announceUrl: swarm.tracker.announceUrl,
    });
    const first = newEngine("magnet-restore");
    const added = await first.engine.add({ magnet: lonely.magnet }, { id: "m", linkId: "lm" });
    expect(added.totalBytes).toBe(0);
    await first.engine.close();
    expect(first.persistence.loadTorrentFile(lonely.infoHash)).toBeUndefined();
    const saved = first.persistence.latest("m") as DownloadRecord;
    expect(saved.status).toBe("downloading");

    const lonelySeeder = await startSeeder(lonely, swarm.tracker);
    try {
      const second = newEngine("magnet-restore");
      await second.engine.restore([saved], { magnetOf: (r) => (r.linkId === "lm" ? lonely.magnet : undefined) });
      await second.waitForStatus("completed", { id: "m" });
      await verifyDownloaded(second.folder, lonely);
      expect(second.persistence.loadTorrentFile(lonely.infoHash)?.length).toBeGreaterThan(0);
    } finally {
      await lonelySeeder.close();
    }
  });
});
