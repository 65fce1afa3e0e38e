import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createTorrentEngine, type DownloadRecord, type LiveStats } from "../../src/torrent/index.ts";
import { testSettings, verifyDownloaded, waitFor } from "../helpers/torrent-fixtures.ts";
import { jsonFilePersistence } from "../helpers/torrent-json-persistence.ts";
import { useSwarm } from "../helpers/torrent-swarm.ts";

const MiB = 1024 * 1024;
const childScript = fileURLToPath(new URL("../helpers/torrent-child.ts", import.meta.url));
const swarm = useSwarm({
  prefix: "torrent-restart",
  name: "archive",
  files: { "part-1.bin": 14 * MiB, "part-2.bin": 10 * MiB },
});
let child: ChildProcess | undefined;
swarm.closeAtEnd(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

describe("torrent engine survives a crash", () => {
  it("a SIGKILLed engine's download is restored and completes without fetching verified pieces again", async () => {
    const { dir, fixture, seeder } = swarm;
    const folder = path.join(dir, "downloads");
    const stateFile = path.join(dir, "state.json");
    const torrentFilePath = path.join(dir, "archive.torrent");
    const configFile = path.join(dir, "child.json");
    await writeFile(torrentFilePath, fixture.torrentFile);
    await writeFile(
      configFile,
      JSON.stringify({
        stateFile,
        folder,
        downloadLimit: 4 * MiB,
        add: { torrentFilePath, id: "crash", linkId: "link" },
      }),
    );

    child = spawn(process.execPath, [childScript, configFile], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child?.once("exit", (_code, signal) => resolve(signal)),
    );
    let latest: LiveStats | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const msg = JSON.parse(line) as { event: string; stats?: LiveStats[] };
      if (msg.event === "progress") latest = msg.stats?.[0];
    });
    await waitFor(() => (latest?.progress ?? 0) >= 0.5, 60_000, "the child engine to reach 50 %");
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const killedAt = latest?.bytesDone ?? 0;
    expect(killedAt).toBeLessThan(fixture.totalBytes);

    const persistence = jsonFilePersistence(stateFile);
    const [saved] = persistence.records();
    expect(saved).toMatchObject({ id: "crash", status: "downloading", infoHash: fixture.infoHash });
    expect(persistence.loadTorrentFile(fixture.infoHash)?.equals(fixture.torrentFile)).toBe(true);

    // The dead peer sends no more requests; a uTP connection to it may linger until it times out.
    const sentBeforeRestart = seeder.torrent.uploaded;

    const engine = createTorrentEngine({ settings: testSettings(folder), persistence, progressIntervalMs: 200 });
    try {
      const statuses: DownloadRecord[] = [];
      engine.on("status", (r) => statuses.push(r));
      await engine.restore(persistence.records());
      await waitFor(() => statuses.find((r) => r.status === "completed"), 60_000, "the restored download to complete");
      await verifyDownloaded(folder, fixture);
      const sentAfterRestart = seeder.torrent.uploaded - sentBeforeRestart;
      // Verified pieces stay on disk: after the restart the seeder sent roughly the missing half, not the whole.
      expect(sentAfterRestart).toBeLessThan(fixture.totalBytes - killedAt + 2 * MiB);
      expect(sentAfterRestart).toBeLessThan(0.6 * fixture.totalBytes);
      expect(persistence.records()[0]).toMatchObject({ status: "completed", bytesDone: fixture.totalBytes });
    } finally {
      await engine.close();
    }
  });

  it("restore keeps paused, completed and cancelled downloads as they were", async () => {
    const { dir, fixture, seeder } = swarm;
    const folder = path.join(dir, "restore-states");
    const persistence = jsonFilePersistence(path.join(dir, "states.json"));
    persistence.saveTorrentFile(fixture.infoHash, fixture.torrentFile);
    const base = {
      linkId: "l",
      infoHash: fixture.infoHash,
      name: "archive",
      bytesDone: 0,
      totalBytes: fixture.totalBytes,
      savePath: folder,
      error: null,
      updatedAt: 1,
    };
    const engine = createTorrentEngine({ settings: testSettings(folder), persistence });
    try {
      const sent = seeder.torrent.uploaded;
      await engine.restore([
        { ...base, id: "p", status: "paused" },
        { ...base, id: "c", status: "completed", bytesDone: fixture.totalBytes },
        { ...base, id: "x", status: "cancelled" },
      ]);
      expect(engine.list().map((s) => [s.id, s.status, s.peers])).toEqual([
        ["p", "paused", 0],
        ["c", "completed", 0],
        ["x", "cancelled", 0],
      ]);
      expect(engine.details("c")?.files.every((f) => f.progress === 1)).toBe(true);
      expect(seeder.torrent.uploaded).toBe(sent);
    } finally {
      await engine.close();
    }
  });
});

describe("torrent engine restores a seeding download", () => {
  it("checks the files and seeds again", async () => {
    const { dir, fixture, tracker } = swarm;
    const persistence = jsonFilePersistence(path.join(dir, "seeding.json"));
    persistence.saveTorrentFile(fixture.infoHash, fixture.torrentFile);
    const engine = createTorrentEngine({
      settings: { ...testSettings(fixture.dataDir), seeding: true },
      persistence,
    });
    try {
      const seedersBefore = tracker.seeders(fixture.infoHash);
      await engine.restore([
        {
          id: "s",
          linkId: "l",
          infoHash: fixture.infoHash,
          name: "archive",
          status: "seeding",
          bytesDone: fixture.totalBytes,
          totalBytes: fixture.totalBytes,
          savePath: fixture.dataDir,
          error: null,
          updatedAt: 1,
        },
      ]);
      await waitFor(
        () => tracker.seeders(fixture.infoHash) > seedersBefore,
        30_000,
        "the engine to announce as seeder",
      );
      expect(engine.list()[0]).toMatchObject({ id: "s", status: "seeding", progress: 1 });
      expect(engine.details("s")?.pieceLength).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });
});
