import { describe, expect, it } from "vitest";
import { verifyDownloaded, waitFor } from "../helpers/torrent-fixtures.ts";
import { useSwarm } from "../helpers/torrent-swarm.ts";

const MiB = 1024 * 1024;
const swarm = useSwarm({ prefix: "torrent-limits", name: "big.bin", files: { "big.bin": 20 * MiB } });

describe("torrent engine download limit", () => {
  it("holds 1 MiB/s within 20 % and lifts at runtime", { timeout: 60_000 }, async () => {
    const { seeder, fixture } = swarm;
    const { engine, persistence, folder, waitForStatus } = swarm.engine("limited", {
      settings: { downloadLimit: MiB },
      persistIntervalMs: 2000,
      progressIntervalMs: 250,
    });
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "lim", linkId: "l" });

    // Warm-up: the first second carries the handshake and the throttle's initial burst.
    await waitFor(() => (engine.record("lim")?.bytesDone ?? 0) > 1.5 * MiB, 30_000, "warm-up");
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
    await waitForStatus("completed", { timeoutMs: 30_000 });
    await verifyDownloaded(folder, fixture);
  });

  it("finds no peers with trackers off and finds the seeder once they are switched on", async () => {
    const { fixture, tracker } = swarm;
    const { engine, folder, waitForStatus } = swarm.engine("no-trackers", { settings: { trackers: false } });
    await engine.add({ torrentFile: fixture.torrentFile }, { id: "nt", linkId: "l" });
    await new Promise((r) => setTimeout(r, 2500)); // a measurement window: nothing may happen in it
    expect(engine.list()[0]).toMatchObject({ status: "downloading", bytesDone: 0, peers: 0 });
    expect(tracker.leechers(fixture.infoHash)).toBe(0);

    engine.updateSettings({ trackers: true });
    await waitForStatus("completed");
    await verifyDownloaded(folder, fixture);
  });

  it("rejects nonsense settings with a clear error and keeps the old ones", () => {
    const { engine } = swarm.engine("settings");
    expect(() => engine.updateSettings({ downloadLimit: -5 })).toThrow(/downloadLimit must be a number >= 0/);
    expect(() => engine.updateSettings({ torrentPort: 70000 })).toThrow(/torrentPort must be a port number/);
    expect(engine.settings().downloadLimit).toBe(0);
    engine.updateSettings({ maxConnections: 5, uploadLimit: 2 * MiB });
    expect(engine.settings()).toMatchObject({ maxConnections: 5, uploadLimit: 2 * MiB });
  });
});
