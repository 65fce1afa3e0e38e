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
let engine: TorrentEngine | undefined;

beforeAll(async () => {
  work = await tempDir("torrent-limits");
  tracker = await startTracker();
  fixture = await makeFixture({
    dir: work.dir,
    name: "big.bin",
    files: { "big.bin": 20 * MiB },
    announceUrl: tracker.announceUrl,
  });
  seeder = await startSeeder(fixture, tracker);
});

afterAll(async () => {
  await engine?.close();
  await seeder?.close();
  await tracker?.close();
  await work?.cleanup();
});

describe("torrent engine download limit", () => {
  it("holds 1 MiB/s within 20 % and lifts at runtime", { timeout: 60_000 }, async () => {
    const folder = path.join(work.dir, "limited");
    const persistence = memoryPersistence();
    engine = createTorrentEngine({
      settings: { ...testSettings(folder), downloadLimit: MiB },
      persistence,
      persistIntervalMs: 2000,
      progressIntervalMs: 250,
    });
    const statuses: DownloadRecord[] = [];
    engine.on("status", (r) => statuses.push(r));
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "lim", linkId: "l" });

    // Warm-up: the first second carries the handshake and the throttle's initial burst.
    await waitFor(() => (engine?.record("lim")?.bytesDone ?? 0) > 1.5 * MiB, 30_000, "warm-up");
    const start = { at: performance.now(), bytes: seeder.torrent.uploaded };
    await new Promise((r) => setTimeout(r, 8000)); // a measurement window, not a synchronisation
    const seconds = (performance.now() - start.at) / 1000;
    const rate = (seeder.torrent.uploaded - start.bytes) / seconds;
    console.log(`download limit 1 MiB/s measured ${(rate / MiB).toFixed(3)} MiB/s`);
    expect(rate).toBeGreaterThan(0.8 * MiB);
    expect(rate).toBeLessThan(1.2 * MiB);

    // Progress is written at a bounded rate, not per piece: at most one write per 2 s plus status changes.
    const progressWrites = persistence.saved.filter((r) => r.id === "lim" && r.status === "downloading").length;
    expect(progressWrites).toBeGreaterThan(1);
    expect(progressWrites).toBeLessThanOrEqual(Math.ceil((performance.now() - start.at) / 2000) + 4);

    engine.updateSettings({ downloadLimit: 0 });
    expect(engine.settings().downloadLimit).toBe(0);
    await waitFor(() => statuses.find((r) => r.status === "completed"), 30_000, "completion after lifting the limit");
    await verifyDownloaded(folder, fixture);
  });

  it("finds no peers with trackers off and finds the seeder once they are switched on", async () => {
    const folder = path.join(work.dir, "no-trackers");
    const e = createTorrentEngine({
      settings: { ...testSettings(folder), trackers: false },
      persistence: memoryPersistence(),
    });
    try {
      const statuses: DownloadRecord[] = [];
      e.on("status", (r) => statuses.push(r));
      await e.add({ torrentFile: fixture.torrentFile }, { id: "nt", linkId: "l" });
      await new Promise((r) => setTimeout(r, 2500)); // a measurement window: nothing may happen in it
      expect(e.list()[0]).toMatchObject({ status: "downloading", bytesDone: 0, peers: 0 });
      expect(tracker.leechers(fixture.infoHash)).toBe(0);

      e.updateSettings({ trackers: true });
      await waitFor(() => statuses.find((r) => r.status === "completed"), 60_000, "completion with trackers on");
      await verifyDownloaded(folder, fixture);
    } finally {
      await e.close();
    }
  });

  it("rejects nonsense settings with a clear error and keeps the old ones", () => {
    const e = createTorrentEngine({
      settings: testSettings(path.join(work.dir, "settings")),
      persistence: memoryPersistence(),
    });
    try {
      expect(() => e.updateSettings({ downloadLimit: -5 })).toThrow(/downloadLimit must be a number >= 0/);
      expect(() => e.updateSettings({ torrentPort: 70000 })).toThrow(/torrentPort must be a port number/);
      expect(e.settings().downloadLimit).toBe(0);
      e.updateSettings({ maxConnections: 5, uploadLimit: 2 * MiB });
      expect(e.settings()).toMatchObject({ maxConnections: 5, uploadLimit: 2 * MiB });
    } finally {
      void e.close();
    }
  });
});
