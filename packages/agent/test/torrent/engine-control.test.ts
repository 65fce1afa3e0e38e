import { existsSync } from "node:fs";
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

const MiB = 1024 * 1024;
let work: Awaited<ReturnType<typeof tempDir>>;
let tracker: TestTracker;
let fixture: Fixture;
let seeder: TestSeeder;
const engines: TorrentEngine[] = [];

beforeAll(async () => {
  work = await tempDir("torrent-control");
  tracker = await startTracker();
  fixture = await makeFixture({
    dir: work.dir,
    name: "movie",
    files: { "movie.bin": 16 * MiB, "subs.srt": 30_000 },
    announceUrl: tracker.announceUrl,
  });
  // A slow seeder so that there is time to pause and cancel mid-transfer.
  seeder = await startSeeder(fixture, tracker, 3 * MiB);
});

afterAll(async () => {
  for (const engine of engines) await engine.close();
  await seeder?.close();
  await tracker?.close();
  await work?.cleanup();
});

function newEngine(name: string) {
  const folder = path.join(work.dir, name);
  const persistence = memoryPersistence();
  const engine = createTorrentEngine({ settings: testSettings(folder), persistence, progressIntervalMs: 250 });
  engines.push(engine);
  const statuses: DownloadRecord[] = [];
  engine.on("status", (r) => statuses.push(r));
  return { engine, persistence, folder, statuses };
}

/** Bytes the seeder sends and the engine reports over a measured window. */
async function measureWindow(engine: TorrentEngine, id: string, ms: number) {
  const before = { sent: seeder.torrent.uploaded, done: engine.record(id)?.bytesDone ?? -1 };
  await new Promise((r) => setTimeout(r, ms));
  return {
    sent: seeder.torrent.uploaded - before.sent,
    done: (engine.record(id)?.bytesDone ?? -1) - before.done,
  };
}

describe("pause, resume and cancel really stop and restart the transfer", () => {
  it("pause stops every byte and resume completes the download", async () => {
    const { engine, folder, statuses } = newEngine("pause");
    const progressBytes: number[] = [];
    engine.on("progress", (stats) => progressBytes.push(stats[0]?.bytesDone ?? 0));
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "p", linkId: "l" });
    await waitFor(() => (engine.record("p")?.bytesDone ?? 0) > 3 * MiB, 60_000, "3 MiB downloaded");
    expect(engine.details("p")?.peers).toBe(1);

    const paused = await engine.pause("p");
    expect(paused.status).toBe("paused");
    expect(paused.bytesDone).toBeGreaterThan(3 * MiB);
    expect(paused.bytesDone).toBeLessThan(fixture.totalBytes);
    // The seeder sees us leave, then nothing flows during a 3 s window (its rate is 3 MiB/s).
    await waitFor(() => seeder.torrent.wires.length === 0, 15_000, "the seeder to lose its connection to us");
    const window = await measureWindow(engine, "p", 3000);
    expect(window).toEqual({ sent: 0, done: 0 });
    expect(engine.list()[0]).toMatchObject({ status: "paused", downloadSpeed: 0, peers: 0 });

    const resumed = await engine.resume("p");
    expect(resumed.status).toBe("downloading");
    await waitFor(() => statuses.find((r) => r.id === "p" && r.status === "completed"), 60_000, "completion");
    await verifyDownloaded(folder, fixture);
    expect(progressBytes.length).toBeGreaterThan(3);
    expect(statuses.map((s) => s.status)).toEqual(
      expect.arrayContaining(["downloading", "paused", "downloading", "completed"]),
    );
  });

  it("a resumed download receives only what was missing", async () => {
    const { engine, statuses } = newEngine("pause-count");
    const sentBefore = seeder.torrent.uploaded;
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "q", linkId: "l" });
    await waitFor(() => (engine.record("q")?.bytesDone ?? 0) > 8 * MiB, 60_000, "8 MiB downloaded");
    const paused = await engine.pause("q");
    const sentAtPause = seeder.torrent.uploaded;
    await engine.resume("q");
    await waitFor(() => statuses.find((r) => r.id === "q" && r.status === "completed"), 60_000, "completion");
    const sentAfterResume = seeder.torrent.uploaded - sentAtPause;
    // Allow one piece of slack per request in flight at pause time.
    const slack = 2 * MiB;
    expect(sentAfterResume).toBeLessThan(fixture.totalBytes - paused.bytesDone + slack);
    expect(seeder.torrent.uploaded - sentBefore).toBeLessThan(fixture.totalBytes + slack);
  });

  it("cancel stops the transfer and removes the partial files", async () => {
    const { engine, folder } = newEngine("cancel");
    await engine.add({ magnet: fixture.magnet }, { id: "c", linkId: "l" });
    await waitFor(() => (engine.record("c")?.bytesDone ?? 0) > 2 * MiB, 60_000, "2 MiB downloaded");
    expect(existsSync(path.join(folder, "movie", "movie.bin"))).toBe(true);

    const cancelled = await engine.cancel("c");
    expect(cancelled).toMatchObject({ status: "cancelled", bytesDone: 0 });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
    expect(existsSync(folder)).toBe(true);
    await waitFor(() => seeder.torrent.wires.length === 0, 15_000, "the seeder to lose its connection to us");
    expect(await measureWindow(engine, "c", 2000)).toEqual({ sent: 0, done: 0 });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
  });

  it("remove forgets a download and deletes its files only when asked", async () => {
    const { engine, folder, statuses } = newEngine("remove");
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "keep", linkId: "l" });
    await waitFor(() => statuses.find((r) => r.id === "keep" && r.status === "completed"), 60_000, "completion");
    await engine.remove("keep", { deleteFiles: false });
    expect(engine.record("keep")).toBeUndefined();
    expect(engine.list()).toEqual([]);
    await verifyDownloaded(folder, fixture);

    // Re-adding finds the complete files on disk and finishes without any transfer.
    const sent = seeder.torrent.uploaded;
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "again", linkId: "l" });
    await waitFor(() => statuses.find((r) => r.id === "again" && r.status === "completed"), 60_000, "re-check");
    expect(seeder.torrent.uploaded).toBe(sent);

    await engine.remove("again", { deleteFiles: true });
    expect(existsSync(path.join(folder, "movie"))).toBe(false);
    await expect(engine.pause("again")).rejects.toThrow(/no download with id "again"/);
  });
});
