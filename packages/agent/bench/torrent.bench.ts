/**
 * Leech throughput of the PerpetuaNet torrent engine (WebTorrent) vs aria2c vs transmission-cli, all
 * downloading the same 1 GiB torrent from the same seeder (aria2c) over loopback, one after another.
 * Target: PerpetuaNet >= 0.8x the better of the two native clients.
 * The 1 GiB of random data and its .torrent are generated once into a cache folder
 * (PERPETUANET_BENCH_CACHE, default <tmp>/perpetuanet-bench-cache) and reused by later runs.
 * PERPETUANET_BENCH_NODE_FLAGS="--initial-old-space-size=128" runs this process (and so the engine) with
 * those node/V8 flags, for comparing how the agent could be started.
 */

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { constants, type PerformanceEntry, PerformanceObserver, performance } from "node:perf_hooks";
import createTorrent from "create-torrent";
import parseTorrent, { toTorrentFile } from "parse-torrent";
import { createTorrentEngine, type DownloadRecord } from "../src/torrent/index.ts";
import { aria2cArgs, freePort, startExternal, transmissionArgs } from "../test/helpers/torrent-external.ts";
import { sha256File, startTracker, waitFor } from "../test/helpers/torrent-fixtures.ts";

// Some V8 heap flags are refused in NODE_OPTIONS and ignored by v8.setFlagsFromString after start-up,
// so the flags are given to a fresh node that runs this same file.
const nodeFlags = process.env.PERPETUANET_BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
if (nodeFlags.length > 0 && !process.env.PERPETUANET_BENCH_REEXEC) {
  const child = spawnSync(process.execPath, [...nodeFlags, process.argv[1] as string], {
    stdio: "inherit",
    env: { ...process.env, PERPETUANET_BENCH_REEXEC: "1" },
  });
  process.exit(child.status ?? 1);
}

const MiB = 1024 * 1024;
const SIZE = Number(process.env.PERPETUANET_BENCH_TORRENT_MIB ?? 1024) * MiB;
const NAME = `bench-${SIZE / MiB}mib.bin`;
const cacheDir = path.join(
  process.env.PERPETUANET_BENCH_CACHE ?? path.join(tmpdir(), "perpetuanet-bench-cache"),
  `torrent-${SIZE / MiB}mib`,
);
const dataDir = path.join(cacheDir, "data");
const torrentCache = path.join(cacheDir, `${NAME}.torrent`);
const shaCache = path.join(cacheDir, `${NAME}.sha256`);
const LIMIT_MS = 10 * 60_000;

async function ensureCache(): Promise<{ info: Buffer; sha256: string }> {
  if (existsSync(torrentCache) && existsSync(shaCache)) {
    return { info: await readFile(torrentCache), sha256: (await readFile(shaCache, "utf8")).trim() };
  }
  console.log(`generating ${SIZE / MiB} MiB of random data into ${cacheDir} (once)...`);
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, NAME);
  const handle = await open(file, "w");
  const hash = createHash("sha256");
  for (let done = 0; done < SIZE; done += 16 * MiB) {
    const chunk = randomBytes(Math.min(16 * MiB, SIZE - done));
    hash.update(chunk);
    await handle.write(chunk);
  }
  await handle.close();
  const torrent = await new Promise<Buffer>((resolve, reject) =>
    createTorrent(file, { name: NAME, createdBy: "PerpetuaNet bench" }, (err, t) =>
      err ? reject(err) : resolve(Buffer.from(t)),
    ),
  );
  const sha256 = hash.digest("hex");
  await writeFile(torrentCache, torrent);
  await writeFile(shaCache, sha256);
  return { info: torrent, sha256 };
}

/** The cached .torrent pointed at this run's tracker (announce is outside the info dict: same info hash). */
async function withTracker(torrent: Buffer, announceUrl: string): Promise<{ bytes: Buffer; infoHash: string }> {
  const parsed = await parseTorrent(torrent);
  parsed.announce = [announceUrl];
  return { bytes: Buffer.from(toTorrentFile(parsed)), infoHash: parsed.infoHash };
}

/** CPU seconds (user + system) a child process has used so far; sampled until it exits. */
function childCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

interface Run {
  /** performance.now() when the download completed. */
  endAt: number;
  seconds: number;
  cpuSeconds: number | undefined;
  /** Where this process's CPU went (PerpetuaNet only), for the printed breakdown. */
  detail?: string;
}

/**
 * CPU seconds of this process's threads by kind: the JavaScript thread, V8's helper threads (concurrent
 * and parallel garbage collection, background compilation) and libuv's pool (file writes).
 */
function threadCpuSeconds(): { main: number; v8: number; libuv: number } {
  const out = { main: 0, v8: 0, libuv: 0 };
  for (const tid of readdirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    if (tid === String(process.pid)) out.main += seconds;
    else if (name.startsWith("libuv-worker")) out.libuv += seconds;
    else out.v8 += seconds;
  }
  return out;
}

/** Counts full (mark-compact) and young-generation collections while it runs. */
function countGcs(): { stop(): { major: number; minor: number } } {
  const counts = { major: 0, minor: 0 };
  const tally = (entries: PerformanceEntry[]) => {
    for (const entry of entries) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
    }
  };
  const observer = new PerformanceObserver((list) => tally(list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      tally(observer.takeRecords());
      observer.disconnect();
      return counts;
    },
  };
}

function sampleCpu(pid: number | undefined): { stop(): number | undefined } {
  let last = childCpuSeconds(pid);
  const timer = setInterval(() => {
    last = childCpuSeconds(pid) ?? last;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return last;
    },
  };
}

/** When the first payload byte reached the disk: allocated blocks of the target file become non-zero. */
function watchFirstByte(file: string): { stop(): number | undefined } {
  let firstAt: number | undefined;
  const timer = setInterval(() => {
    if (firstAt !== undefined) return;
    try {
      if (statSync(file).blocks > 0) firstAt = performance.now();
    } catch {
      // not created yet
    }
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      return firstAt;
    },
  };
}

async function checkResult(file: string, sha256: string, who: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== sha256) throw new Error(`${who}: downloaded bytes do not match (sha256 ${actual})`);
}

async function leechPerpetuaNet(torrent: Buffer, dir: string): Promise<Run> {
  const engine = createTorrentEngine({
    settings: {
      downloadFolder: dir,
      maxConnections: 55,
      downloadLimit: 0,
      uploadLimit: 0,
      seeding: false,
      dht: false,
      trackers: true,
    },
    persistence: { saveDownload() {}, saveTorrentFile() {}, loadTorrentFile: () => undefined },
  });
  try {
    const statuses: DownloadRecord[] = [];
    engine.on("status", (r) => statuses.push(r));
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const threadsBefore = threadCpuSeconds();
    const gcs = countGcs();
    const eluBefore = performance.eventLoopUtilization();
    await engine.add({ torrentFile: torrent }, { id: "bench", linkId: "bench" });
    await waitFor(
      () => statuses.find((r) => r.status === "completed" || r.status === "error"),
      LIMIT_MS,
      "PerpetuaNet",
      20,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const threads = threadCpuSeconds();
    const { major, minor } = gcs.stop();
    const failed = statuses.find((r) => r.status === "error");
    if (failed) throw new Error(`PerpetuaNet: ${failed.error}`);
    const perMiB = (s: number) => `${((s / SIZE) * MiB * 1000).toFixed(1)}`;
    const detail =
      `event loop busy ${(elu.utilization * 100).toFixed(0)} %; ms/MiB: JS thread ${perMiB(threads.main - threadsBefore.main)}, ` +
      `V8 helpers ${perMiB(threads.v8 - threadsBefore.v8)}, libuv (file writes) ${perMiB(threads.libuv - threadsBefore.libuv)}; ` +
      `GCs: ${major} full, ${minor} young`;
    return { seconds, endAt: started + seconds * 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, detail };
  } finally {
    await engine.close();
  }
}

async function leechAria2c(torrentPath: string, dir: string): Promise<Run> {
  const port = await freePort();
  const started = performance.now();
  const aria = startExternal("aria2c", aria2cArgs({ dir, torrentPath, port, seedForever: false }), LIMIT_MS);
  const cpu = sampleCpu(aria.child.pid);
  const code = await aria.exited;
  const cpuSeconds = cpu.stop();
  if (code !== 0) throw new Error(`aria2c exited with ${code}: ${aria.output()}`);
  const endAt = performance.now();
  return { seconds: (endAt - started) / 1000, endAt, cpuSeconds };
}

async function leechTransmission(torrentPath: string, dir: string): Promise<Run> {
  const configDir = path.join(dir, ".transmission");
  await mkdir(configDir, { recursive: true });
  const marker = path.join(dir, ".finished");
  const script = path.join(configDir, "finished.sh");
  await writeFile(script, `#!/bin/sh\ntouch '${marker}'\n`);
  await chmod(script, 0o755);
  const args = await transmissionArgs({ configDir, dir, torrentPath, port: await freePort(), finishScript: script });
  const started = performance.now();
  const tr = startExternal("transmission-cli", args, LIMIT_MS);
  const cpu = sampleCpu(tr.child.pid);
  try {
    await waitFor(() => existsSync(marker) || tr.child.exitCode !== null, LIMIT_MS, "transmission-cli", 20);
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpu.stop();
    if (!existsSync(marker)) throw new Error(`transmission-cli exited early: ${tr.output()}`);
    return { seconds, endAt: started + seconds * 1000, cpuSeconds };
  } finally {
    cpu.stop();
    await tr.stop();
  }
}

const { info, sha256 } = await ensureCache();
const tracker = await startTracker();
const work = path.join(tmpdir(), `pn-torrent-bench-${process.pid}`);
await mkdir(work, { recursive: true });
const { bytes: torrent, infoHash } = await withTracker(info, tracker.announceUrl);
const torrentPath = path.join(work, `${NAME}.torrent`);
await writeFile(torrentPath, torrent);

if (nodeFlags.length > 0) console.log(`node flags: ${nodeFlags.join(" ")}`);
console.log(
  `seeder: aria2c 1.36 seeding ${SIZE / MiB} MiB (${NAME}) from ${dataDir}; leechers run one after another on loopback`,
);
const seeder = startExternal(
  "aria2c",
  aria2cArgs({ dir: dataDir, torrentPath, port: await freePort(), seedForever: true, trustData: true }),
  60 * 60_000,
);
const results: Record<string, { wall: number; transfer: number }> = {};
try {
  await waitFor(() => tracker.seeders(infoHash) > 0 || seeder.child.exitCode !== null, 120_000, "the aria2c seeder");
  if (seeder.child.exitCode !== null) throw new Error(`aria2c seeder exited: ${seeder.output()}`);
  const runs: Array<[string, (dir: string) => Promise<Run>]> = [
    ["PerpetuaNet (WebTorrent)", (dir) => leechPerpetuaNet(torrent, dir)],
    ["aria2c", (dir) => leechAria2c(torrentPath, dir)],
    ["transmission-cli", (dir) => leechTransmission(torrentPath, dir)],
  ];
  // PERPETUANET_BENCH_ONLY=aria2c,PerpetuaNet runs a subset (for investigating one client).
  const only = process.env.PERPETUANET_BENCH_ONLY?.toLowerCase().split(",");
  for (const [who, run] of runs.filter(([w]) => !only || only.some((o) => w.toLowerCase().includes(o)))) {
    const dir = path.join(work, who.replace(/\W+/g, "-"));
    await mkdir(dir, { recursive: true });
    try {
      const firstByte = watchFirstByte(path.join(dir, NAME));
      const { seconds, endAt, cpuSeconds, detail } = await run(dir);
      const firstAt = firstByte.stop();
      await checkResult(path.join(dir, NAME), sha256, who);
      const wall = SIZE / MiB / seconds;
      const transfer = firstAt === undefined ? wall : SIZE / MiB / ((endAt - firstAt) / 1000);
      results[who] = { wall, transfer };
      const cpu =
        cpuSeconds === undefined
          ? ""
          : `  CPU ${cpuSeconds.toFixed(1)} s (${((cpuSeconds / SIZE) * MiB * 1000).toFixed(1)} ms/MiB)`;
      console.log(
        `${who.padEnd(26)} ${seconds.toFixed(1).padStart(6)} s  ${wall.toFixed(1).padStart(7)} MiB/s start-to-end  ${transfer.toFixed(1).padStart(7)} MiB/s first-byte-to-end${cpu}`,
      );
      if (detail) console.log(`  ${detail}`);
    } catch (err) {
      console.log(`${who.padEnd(26)} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
} finally {
  await seeder.stop();
  await tracker.close();
  await rm(work, { recursive: true, force: true });
}

const ours = results["PerpetuaNet (WebTorrent)"];
for (const key of ["wall", "transfer"] as const) {
  const best = Math.max(results.aria2c?.[key] ?? 0, results["transmission-cli"]?.[key] ?? 0);
  if (ours === undefined || best === 0) continue;
  const ratio = ours[key] / best;
  const label = key === "wall" ? "start-to-end" : "first-byte-to-end";
  console.log(
    `PerpetuaNet / better native client (${label}): ${ratio.toFixed(2)}x (target >= 0.80x) ${ratio >= 0.8 ? "OK" : "MISSED"}`,
  );
}
console.log(
  `load average during run: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} (2 cores shared)`,
);
