import { writeFile } from "node:fs/promises";
import path from "node:path";
import parseTorrent, { toTorrentFile } from "parse-torrent";
import { beforeAll, describe, expect, it } from "vitest";
import {
  aria2cArgs,
  type ExternalProcess,
  freePort,
  type QBittorrent,
  startExternal,
  startQBittorrent,
  transmissionArgs,
} from "../helpers/torrent-external.ts";
import { startTracker, verifyDownloaded, waitFor } from "../helpers/torrent-fixtures.ts";
import { useSwarm } from "../helpers/torrent-swarm.ts";

const MiB = 1024 * 1024;
// No WebTorrent seeder: the peers here are the external clients.
const swarm = useSwarm({
  prefix: "torrent-interop",
  name: "shared",
  files: { "video.bin": 6 * MiB + 123, "poster.bin": 200_000 },
  seeder: false,
});
let torrentPath: string;

beforeAll(async () => {
  torrentPath = path.join(swarm.dir, "shared.torrent");
  await writeFile(torrentPath, swarm.fixture.torrentFile);
});

/** An external client, stopped (SIGTERM, then SIGKILL) at the end of the file at the latest. */
function external(command: string, args: string[], limitMs: number): ExternalProcess {
  const proc = startExternal(command, args, limitMs);
  swarm.closeAtEnd(() => proc.stop());
  return proc;
}

const newEngine = (name: string, seeding: boolean) => swarm.engine(name, { settings: { seeding } });

/**
 * The fixture's torrent announcing to a tracker of its own (same info hash: the announce URL is outside
 * the info dictionary), so that the one client the test starts is the only peer to be found.
 */
async function isolatedTorrent(name: string) {
  const tracker = await startTracker();
  swarm.closeAtEnd(() => tracker.close());
  const parsed = await parseTorrent(swarm.fixture.torrentFile);
  parsed.announce = [tracker.announceUrl];
  const torrentFile = Buffer.from(toTorrentFile(parsed));
  const torrentPath = path.join(swarm.dir, `${name}.torrent`);
  await writeFile(torrentPath, torrentFile);
  return { tracker, torrentFile, torrentPath };
}

describe("torrent engine interoperates with a real Debian BitTorrent client (aria2c)", () => {
  it("downloads from aria2c seeding on loopback", { timeout: 90_000 }, async () => {
    const { fixture, tracker } = swarm;
    const aria = external(
      "aria2c",
      aria2cArgs({ dir: fixture.dataDir, torrentPath, port: await freePort(), seedForever: true }),
      80_000,
    );
    await waitFor(
      () => tracker.seeders(fixture.infoHash) > 0 || aria.child.exitCode !== null,
      30_000,
      "aria2c to check its data and announce as a seeder",
    );
    expect(aria.child.exitCode, aria.output()).toBeNull();

    const { engine, folder, waitForStatus } = newEngine("from-aria2c", false);
    await engine.add({ magnet: fixture.magnet }, { id: "from-aria", linkId: "l" });
    await waitForStatus("completed");
    await verifyDownloaded(folder, fixture);
    await aria.stop();
  });

  it("seeds to aria2c downloading on loopback", { timeout: 90_000 }, async () => {
    const { fixture, tracker } = swarm;
    // The engine seeds the fixture's own files: adding finds them complete on disk.
    const { engine, waitForStatus } = newEngine("seed", true);
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "seed", linkId: "l", savePath: fixture.dataDir });
    await waitForStatus("seeding", { timeoutMs: 30_000 });
    await waitFor(() => tracker.seeders(fixture.infoHash) > 0, 30_000, "the engine to announce as a seeder");

    const target = path.join(swarm.dir, "aria2c-download");
    const aria = external(
      "aria2c",
      aria2cArgs({ dir: target, torrentPath, port: await freePort(), seedForever: false }),
      80_000,
    );
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
    const { fixture } = swarm;
    const own = await isolatedTorrent("transmission");
    const args = await transmissionArgs({
      configDir: path.join(swarm.dir, "transmission-config"),
      dir: fixture.dataDir,
      torrentPath: own.torrentPath,
      port: await freePort(),
    });
    const transmission = external("transmission-cli", args, 140_000);
    await waitFor(
      () => own.tracker.seeders(fixture.infoHash) > 0 || transmission.child.exitCode !== null,
      45_000,
      "transmission-cli to verify its data and announce as a seeder",
    );
    expect(transmission.child.exitCode, transmission.output()).toBeNull();

    const { engine, folder, waitForStatus } = newEngine("from-transmission", false);
    const clients = new Set<string | null>();
    engine.on("progress", () => {
      for (const peer of engine.details("from-tr")?.peerList ?? []) clients.add(peer.client);
    });
    await engine.add({ torrentFile: own.torrentFile }, { id: "from-tr", linkId: "l" });
    await waitForStatus("completed", { timeoutMs: 90_000 });
    await verifyDownloaded(folder, fixture);
    expect([...clients]).toEqual([expect.stringMatching(/^TR \d{4}$/)]);
    await transmission.stop();
  });
});

describe("torrent engine interoperates with qbittorrent-nox (libtorrent)", () => {
  async function qbittorrent(name: string): Promise<QBittorrent> {
    const qbt = await startQBittorrent({ profileDir: path.join(swarm.dir, name), limitMs: 110_000 });
    swarm.closeAtEnd(() => qbt.process.stop());
    return qbt;
  }

  it("downloads from qbittorrent-nox seeding on loopback", { timeout: 120_000 }, async () => {
    const { fixture } = swarm;
    const own = await isolatedTorrent("qbt-seed");
    const qbt = await qbittorrent("qbt-seeder");
    await qbt.add(own.torrentFile, fixture.dataDir);
    await waitFor(
      () => own.tracker.seeders(fixture.infoHash) > 0 || qbt.process.child.exitCode !== null,
      45_000,
      "qbittorrent-nox to check its data and announce as a seeder",
    );
    expect(qbt.process.child.exitCode, qbt.process.output()).toBeNull();
    expect(await qbt.torrent(fixture.infoHash)).toMatchObject({ progress: 1 });

    const { engine, folder, waitForStatus } = newEngine("from-qbittorrent", false);
    await engine.add({ torrentFile: own.torrentFile }, { id: "from-qbt", linkId: "l" });
    await waitForStatus("completed", { timeoutMs: 60_000 });
    await verifyDownloaded(folder, fixture);
    // The bytes came from qBittorrent (its counters refresh about once a second).
    await waitFor(
      async () => ((await qbt.torrent(fixture.infoHash))?.uploaded ?? 0) >= fixture.totalBytes,
      15_000,
      "qBittorrent to count the whole torrent as uploaded",
    );
    await qbt.process.stop();
  });

  it("seeds to qbittorrent-nox downloading on loopback", { timeout: 120_000 }, async () => {
    const { fixture } = swarm;
    const own = await isolatedTorrent("qbt-leech");
    const { engine, waitForStatus } = newEngine("seed-to-qbt", true);
    await engine.add({ torrentFile: own.torrentFile }, { id: "to-qbt", linkId: "l", savePath: fixture.dataDir });
    await waitForStatus("seeding", { timeoutMs: 30_000 });
    await waitFor(() => own.tracker.seeders(fixture.infoHash) > 0, 30_000, "the engine to announce as a seeder");

    const qbt = await qbittorrent("qbt-leecher");
    const target = path.join(swarm.dir, "qbittorrent-download");
    await qbt.add(own.torrentFile, target);
    await waitFor(
      async () => {
        const t = await qbt.torrent(fixture.infoHash);
        return t && t.progress === 1 && t.amount_left === 0 && !t.state.startsWith("checking");
      },
      60_000,
      "qbittorrent-nox to complete the download",
      250,
    );
    await qbt.process.stop();
    await verifyDownloaded(target, fixture);
    // The only peer qBittorrent could find is the engine, and the engine sent it the whole torrent.
    expect(engine.details("to-qbt")?.uploaded).toBeGreaterThanOrEqual(fixture.totalBytes);
  });
});
