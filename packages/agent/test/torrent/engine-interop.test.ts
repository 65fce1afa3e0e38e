import { writeFile } from "node:fs/promises";
import path from "node:path";
import parseTorrent, { toTorrentFile } from "parse-torrent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTorrentEngine, type DownloadRecord, type TorrentEngine } from "../../src/torrent/index.ts";
import {
  aria2cArgs,
  type ExternalProcess,
  freePort,
  startExternal,
  transmissionArgs,
} from "../helpers/torrent-external.ts";
import {
  type Fixture,
  makeFixture,
  memoryPersistence,
  startTracker,
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
let torrentPath: string;
const processes: ExternalProcess[] = [];
const engines: TorrentEngine[] = [];
const trackers: TestTracker[] = [];

beforeAll(async () => {
  work = await tempDir("torrent-interop");
  tracker = await startTracker();
  fixture = await makeFixture({
    dir: work.dir,
    name: "shared",
    files: { "video.bin": 6 * MiB + 123, "poster.bin": 200_000 },
    announceUrl: tracker.announceUrl,
  });
  torrentPath = path.join(work.dir, "shared.torrent");
  await writeFile(torrentPath, fixture.torrentFile);
});

afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const engine of engines) await engine.close();
  for (const t of trackers) await t.close();
  await tracker?.close();
  await work?.cleanup();
});

function newEngine(name: string, seeding: boolean) {
  const folder = path.join(work.dir, name);
  const engine = createTorrentEngine({
    settings: { ...testSettings(folder), seeding },
    persistence: memoryPersistence(),
  });
  engines.push(engine);
  const statuses: DownloadRecord[] = [];
  engine.on("status", (r) => statuses.push(r));
  return { engine, folder, statuses };
}

describe("torrent engine interoperates with a real Debian BitTorrent client (aria2c)", () => {
  it("downloads from aria2c seeding on loopback", { timeout: 90_000 }, async () => {
    const aria = startExternal(
      "aria2c",
      aria2cArgs({ dir: fixture.dataDir, torrentPath, port: await freePort(), seedForever: true }),
      80_000,
    );
    processes.push(aria);
    await waitFor(
      () => tracker.seeders(fixture.infoHash) > 0 || aria.child.exitCode !== null,
      30_000,
      "aria2c to check its data and announce as a seeder",
    );
    expect(aria.child.exitCode, aria.output()).toBeNull();

    const { engine, folder, statuses } = newEngine("from-aria2c", false);
    await engine.add({ magnet: fixture.magnet }, { id: "from-aria", linkId: "l" });
    await waitFor(() => statuses.find((r) => r.status === "completed"), 60_000, "download from aria2c");
    await verifyDownloaded(folder, fixture);
    await aria.stop();
  });

  it("seeds to aria2c downloading on loopback", { timeout: 90_000 }, async () => {
    // The engine seeds the fixture's own files: adding finds them complete on disk.
    const { engine, statuses } = newEngine("seed", true);
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "seed", linkId: "l", savePath: fixture.dataDir });
    await waitFor(() => statuses.find((r) => r.status === "seeding"), 30_000, "the engine to seed");
    await waitFor(() => tracker.seeders(fixture.infoHash) > 0, 30_000, "the engine to announce as a seeder");

    const target = path.join(work.dir, "aria2c-download");
    const aria = startExternal(
      "aria2c",
      aria2cArgs({ dir: target, torrentPath, port: await freePort(), seedForever: false }),
      80_000,
    );
    processes.push(aria);
    const code = await aria.exited;
    expect(code, aria.output()).toBe(0);
    await verifyDownloaded(target, fixture);
    expect(engine.details("seed")?.uploaded).toBeGreaterThanOrEqual(fixture.totalBytes);
    await engine.close();
  });
});

describe("torrent engine interoperates with transmission-cli", () => {
  // transmission-cli unchokes on its 10 s rechoke round, and WebTorrent's request pipeline grows with the
  // measured speed, so this transfer starts slowly: the bounds are generous.
  it("downloads from transmission-cli seeding on loopback", { timeout: 150_000 }, async () => {
    // Its own tracker (same info hash: the announce URL is outside the info dictionary), so that
    // transmission-cli is the only peer the engine can find.
    const ownTracker = await startTracker();
    trackers.push(ownTracker);
    const parsed = await parseTorrent(fixture.torrentFile);
    parsed.announce = [ownTracker.announceUrl];
    const torrentFile = Buffer.from(toTorrentFile(parsed));
    const ownTorrentPath = path.join(work.dir, "transmission.torrent");
    await writeFile(ownTorrentPath, torrentFile);
    const args = await transmissionArgs({
      configDir: path.join(work.dir, "transmission-config"),
      dir: fixture.dataDir,
      torrentPath: ownTorrentPath,
      port: await freePort(),
    });
    const transmission = startExternal("transmission-cli", args, 140_000);
    processes.push(transmission);
    await waitFor(
      () => ownTracker.seeders(fixture.infoHash) > 0 || transmission.child.exitCode !== null,
      45_000,
      "transmission-cli to verify its data and announce as a seeder",
    );
    expect(transmission.child.exitCode, transmission.output()).toBeNull();

    const { engine, folder, statuses } = newEngine("from-transmission", false);
    const clients = new Set<string | null>();
    engine.on("progress", () => {
      for (const peer of engine.details("from-tr")?.peerList ?? []) clients.add(peer.client);
    });
    await engine.add({ torrentFile }, { id: "from-tr", linkId: "l" });
    await waitFor(() => statuses.find((r) => r.status === "completed"), 90_000, "download from transmission-cli");
    await verifyDownloaded(folder, fixture);
    expect([...clients]).toEqual([expect.stringMatching(/^TR \d{4}$/)]);
    await transmission.stop();
  });
});
