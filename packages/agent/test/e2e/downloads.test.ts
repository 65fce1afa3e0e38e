/**
 * Torrents through the agent's API: a magnet or .torrent added on PC A downloads from a seeder on
 * loopback, becomes a library link and a synced download row, PC B sees its status without
 * downloading it, and paused/finished downloads keep their state across an agent restart.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { DownloadDetails, DownloadView, LinkView } from "@perpetuanet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logIn, PASSWORD, register } from "../helpers/agents.ts";
import { AgentProcess, type ApiError, ServerProcess } from "../helpers/processes.ts";
import {
  type Fixture,
  makeFixture,
  startSeeder,
  startTracker,
  type TestSeeder,
  type TestTracker,
  tempDir,
  verifyDownloaded,
} from "../helpers/torrent-fixtures.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let tracker: TestTracker;
let fast: Fixture;
let slow: Fixture;
let big: Fixture;
let seeders: TestSeeder[] = [];
let server: ServerProcess;
let a: AgentProcess;
let b: AgentProcess;
const downloadsA = () => path.join(work.dir, "downloads-a");
const downloadsB = () => path.join(work.dir, "downloads-b");
const filmsA = () => path.join(work.dir, "films-a");

beforeAll(async () => {
  work = await tempDir("e2e-downloads");
  tracker = await startTracker();
  fast = await makeFixture({
    dir: path.join(work.dir, "fast"),
    name: "album",
    files: { "01.flac": 3 * 1024 * 1024, "02.flac": 2 * 1024 * 1024 + 77 },
    announceUrl: tracker.announceUrl,
  });
  slow = await makeFixture({
    dir: path.join(work.dir, "slow"),
    name: "film.mkv",
    files: { "film.mkv": 12 * 1024 * 1024 },
    announceUrl: tracker.announceUrl,
  });
  big = await makeFixture({
    dir: path.join(work.dir, "big"),
    name: "backup.tar",
    files: { "backup.tar": 16 * 1024 * 1024 },
    announceUrl: tracker.announceUrl,
  });
  // The slow torrent's seeder is capped so a test can act while the download is under way.
  seeders = [
    await startSeeder(fast, tracker),
    await startSeeder(slow, tracker, 1024 * 1024),
    await startSeeder(big, tracker),
  ];
  server = new ServerProcess(path.join(work.dir, "server"));
  await server.start();
  a = new AgentProcess({
    dataDir: path.join(work.dir, "agent-a"),
    serverUrl: server.url,
    downloadDir: downloadsA(),
    p2p: false,
  });
  b = new AgentProcess({
    dataDir: path.join(work.dir, "agent-b"),
    serverUrl: server.url,
    downloadDir: downloadsB(),
    p2p: false,
  });
  await a.start();
  await b.start();
  await register(a, "erin", server.url, "pc-a");
  await logIn(b, "erin", PASSWORD, "pc-b");
}, 120_000);

afterAll(async () => {
  await a?.kill();
  await b?.kill();
  await server?.kill();
  for (const s of seeders) await s.close();
  await tracker?.close();
  await work?.cleanup();
});

const download = (agent: AgentProcess, id: string) =>
  agent.call<DownloadView[]>("GET", "/api/downloads").then((list) => list.find((d) => d.id === id));

function waitForDownload(
  agent: AgentProcess,
  id: string,
  what: string,
  check: (d: DownloadView) => boolean,
  ms = 30_000,
) {
  return agent.until(
    what,
    async () => {
      const d = await download(agent, id);
      return d && check(d) ? d : undefined;
    },
    ms,
  );
}

describe("downloads through the agent", () => {
  it("downloads a magnet link, files it in the library, and shows its status on the other PC", async () => {
    const added = await a.call<DownloadView>("POST", "/api/downloads", { magnet: fast.magnet });
    expect(added).toMatchObject({ infoHash: fast.infoHash, local: true });
    const done = await waitForDownload(
      a,
      added.id,
      "the download to finish",
      (d) => d.progress === 1 && d.status === "seeding",
    );
    expect(done.bytesDone).toBe(fast.totalBytes);
    await verifyDownloaded(downloadsA(), fast);

    const links = await a.call<LinkView[]>("GET", "/api/links");
    expect(links.find((l) => l.id === added.linkId)).toMatchObject({
      kind: "magnet",
      url: fast.magnet,
      title: "album",
    });
    const details = await a.call<DownloadDetails>("GET", `/api/downloads/${added.id}`);
    expect(details.files.map((f) => f.path).sort()).toEqual(["album/01.flac", "album/02.flac"]);
    expect(details.trackers).toContain(tracker.announceUrl);

    const seen = await waitForDownload(b, added.id, "A's finished download on B", (d) => d.status === "seeding");
    expect(seen).toMatchObject({ local: false, deviceName: "pc-a", bytesDone: fast.totalBytes });
    // B only shows the status: it downloads nothing unless asked.
    expect(await readdir(downloadsB()).catch(() => [])).toEqual([]);
    await expect(b.call("POST", `/api/downloads/${added.id}/pause`)).rejects.toMatchObject({ code: "NOT_LOCAL" });
  });

  it("refuses bad input with a clear error and adds nothing", async () => {
    const before = (await a.call<DownloadView[]>("GET", "/api/downloads")).length;
    const bad = [
      { magnet: "magnet:?dn=no-hash" },
      { torrentFile: Buffer.from("this is not a torrent").toString("base64") },
      { magnet: fast.magnet, torrentUrl: "http://127.0.0.1:1/x.torrent" },
    ];
    for (const body of bad) {
      const error = (await a.call("POST", "/api/downloads", body).catch((e: ApiError) => e)) as ApiError;
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/magnet|torrent|exactly one/i);
    }
    const duplicate = (await a
      .call("POST", "/api/downloads", { magnet: fast.magnet })
      .catch((e: ApiError) => e)) as ApiError;
    expect(duplicate.message).toMatch(/already in the download list/);
    expect((await a.call<DownloadView[]>("GET", "/api/downloads")).length).toBe(before);
  });

  it("keeps a paused download paused, in its own folder, and a finished one finished across an agent restart", async () => {
    const torrentFile = slow.torrentFile.toString("base64");
    const added = await a.call<DownloadView>("POST", "/api/downloads", {
      torrentFile,
      title: "The film",
      savePath: filmsA(),
    });
    expect(added.savePath).toBe(filmsA());
    await waitForDownload(a, added.id, "part of the film", (d) => d.bytesDone > 2 * 1024 * 1024);
    const paused = await a.call<DownloadView>("POST", `/api/downloads/${added.id}/pause`);
    expect(paused.status).toBe("paused");
    const link = await a.call<LinkView>("GET", `/api/links/${added.linkId}`);
    expect(link).toMatchObject({ kind: "magnet", title: "The film" });

    await a.stop();
    await a.start();
    await logIn(a, "erin");
    const list = await a.call<DownloadView[]>("GET", "/api/downloads");
    expect(list.find((d) => d.id === added.id)).toMatchObject({ status: "paused", local: true, savePath: filmsA() });
    expect(list.find((d) => d.infoHash === fast.infoHash)).toMatchObject({ status: "seeding", progress: 1 });

    await a.call("POST", `/api/downloads/${added.id}/resume`);
    await waitForDownload(a, added.id, "the film to finish", (d) => d.progress === 1, 60_000);
    await verifyDownloaded(filmsA(), slow);
    // The folder chosen for this torrent only: nothing of it in the default download folder.
    expect(await readdir(downloadsA())).not.toContain(slow.name);
  });

  it("applies a speed limit from Settings, and after the agent is killed half way finishes without fetching it all again", async () => {
    const limit = 2 * 1024 * 1024;
    await a.call("PUT", "/api/settings", { downloadLimit: limit });
    const seeder = seeders[2]!.torrent;
    const sentBefore = seeder.uploaded;
    const added = await a.call<DownloadView>("POST", "/api/downloads", { magnet: big.magnet });
    const first = await waitForDownload(a, added.id, "some data", (d) => d.bytesDone >= 2 * 1024 * 1024);
    const t0 = performance.now();
    const half = await waitForDownload(a, added.id, "half the data", (d) => d.bytesDone >= big.totalBytes / 2);
    const rate = (half.bytesDone - first.bytesDone) / ((performance.now() - t0) / 1000);
    // The limit reached the running engine: a loopback transfer is otherwise many times faster.
    expect(rate).toBeLessThan(limit * 1.3);

    await a.kill();
    await a.start();
    await logIn(a, "erin");
    await a.call("PUT", "/api/settings", { downloadLimit: 0 });
    await waitForDownload(a, added.id, "the backup to finish", (d) => d.progress === 1, 60_000);
    await verifyDownloaded(downloadsA(), big);
    // What was on disk and verified was not fetched again (a few MiB may be in flight at the kill).
    expect(seeder.uploaded - sentBefore).toBeLessThan(big.totalBytes + 4 * 1024 * 1024);
    expect(seeder.uploaded - sentBefore).toBeGreaterThanOrEqual(big.totalBytes / 2);
  }, 120_000);
});
