import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TorrentEngine } from "../../src/torrent/index.ts";
import { verifyDownloaded, waitFor } from "../helpers/torrent-fixtures.ts";
import { useSwarm } from "../helpers/torrent-swarm.ts";

const MiB = 1024 * 1024;
const swarm = useSwarm({
  prefix: "torrent-control",
  name: "movie",
  files: { "movie.bin": 16 * MiB, "subs.srt": 30_000 },
  // A slow seeder so that there is time to pause and cancel mid-transfer.
  seederUploadLimit: 3 * MiB,
});

const newEngine = (name: string) => swarm.engine(name, { progressIntervalMs: 250 });

/** Bytes the seeder sends and the engine reports over a measured window. */
async function measureWindow(engine: TorrentEngine, id: string, ms: number) {
  const before = { sent: swarm.seeder.torrent.uploaded, done: engine.record(id)?.bytesDone ?? -1 };
  await new Promise((r) => setTimeout(r, ms));
  return {
    sent: swarm.seeder.torrent.uploaded - before.sent,
    done: (engine.record(id)?.bytesDone ?? -1) - before.done,
  };
}

describe("pause, resume and cancel really stop and restart the transfer", () => {
  it("pause stops every byte and resume completes the download", async () => {
    const { engine, folder, statuses, waitForStatus } = newEngine("pause");
    const progressBytes: number[] = [];
    engine.on("progress", (stats) => progressBytes.push(stats[0]?.bytesDone ?? 0));
    await engine.add({ torrentFile: swarm.fixture.torrentFile }, { id: "p", linkId: "l" });
    await waitFor(() => (engine.record("p")?.bytesDone ?? 0) > 3 * MiB, 60_000, "3 MiB downloaded");
    expect(engine.details("p")?.peers).toBe(1);

    const paused = await engine.pause("p");
    expect(paused.status).toBe("paused");
    expect(paused.bytesDone).toBeGreaterThan(3 * MiB);
    expect(paused.bytesDone).toBeLessThan(swarm.fixture.totalBytes);
    // The seeder sees us leave, then nothing flows during a 3 s window (its rate is 3 MiB/s).
    await waitFor(() => swarm.seeder.torrent.wires.length === 0, 15_000, "the seeder to lose its connection to us");
    const window = await measureWindow(engine, "p", 3000);
    expect(window).toEqual({ sent: 0, done: 0 });
    expect(engine.list()[0]).toMatchObject({ status: "paused", downloadSpeed: 0, peers: 0 });

    const resumed = await engine.resume("p");
    expect(resumed.status).toBe("downloading");
    await waitForStatus("completed", { id: "p" });
    await verifyDownloaded(folder, swarm.fixture);
    expect(progressBytes.length).toBeGreaterThan(3);
    expect(statuses.map((s) => s.status)).toEqual(
      expect.arrayContaining(["downloading", "paused", "downloading", "completed"]),
    );
  });

  it("a resumed download receives only what was missing", async () => {
    const { engine, waitForStatus } = newEngine("pause-count");
    const sentBefore = swarm.seeder.torrent.uploaded;
    await engine.add({ torrentFile: swarm.fixture.torrentFile }, { id: "q", linkId: "l" });
    await waitFor(() => (engine.record("q")?.bytesDone ?? 0) > 8 * MiB, 60_000, "8 MiB downloaded");
    const paused = await engine.pause("q");
    const sentAtPause = swarm.seeder.torrent.uploaded;
    await engine.resume("q");
    await waitForStatus("completed", { id: "q" });
    const sentAfterResume = swarm.seeder.torrent.uploaded - sentAtPause;
    // Allow one piece of slack per request in flight at pause time.
    const slack = 2 * MiB;
    expect(sentAfterResume).toBeLessThan(swarm.fixture.totalBytes - paused.bytesDone + slack);
    expect(swarm.seeder.torrent.uploaded - sentBefore).toBeLessThan(swarm.fixture.totalBytes + slack);
  });

  it("cancel stops the transfer and removes the partial files", async () => {
    const { engine, folder } = newEngine("cancel");
    await engine.add({ magnet: swarm.fixture.magnet }, { id: "c", linkId: "l" });
    await waitFor(() => (engine.record("c")?.bytesDone ?? 0) > 2 * MiB, 60_000, "2 MiB downloaded");
    expect(existsSync(path.join(folder, "movie", "movie.bin"))).toBe(true);

    const cancelled = await engine.cancel("c");
    expect(cancelled).toMatchObject({ status: "cancelled", bytesDone: 0 });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
    expect(existsSync(folder)).toBe(true);
    await waitFor(() => swarm.seeder.torrent.wires.length === 0, 15_000, "the seeder to lose its connection to us");
    expect(await measureWindow(engine, "c", 2000)).toEqual({ sent: 0, done: 0 });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
  });

  it("remove forgets a download and deletes its files only when asked", async () => {
    const { engine, folder, waitForStatus } = newEngine("remove");
    await engine.add({ torrentFile: swarm.fixture.torrentFile }, { id: "keep", linkId: "l" });
    await waitForStatus("completed", { id: "keep" });
    await engine.remove("keep", { deleteFiles: false });
    expect(engine.record("keep")).toBeUndefined();
    expect(engine.list()).toEqual([]);
    await verifyDownloaded(folder, swarm.fixture);

    // Re-adding finds the complete files on disk and finishes without any transfer.
    const sent = swarm.seeder.torrent.uploaded;
    await engine.add({ torrentFile: swarm.fixture.torrentFile }, { id: "again", linkId: "l" });
    await waitForStatus("completed", { id: "again" });
    expect(swarm.seeder.torrent.uploaded).toBe(sent);

    await engine.remove("again", { deleteFiles: true });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
    await expect(engine.pause("again")).rejects.toThrow(/no download with id "again"/);
  });
});
