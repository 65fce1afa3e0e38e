/**
 * `perpetuanet open` and `perpetuanet install-handler`: magnet links and .torrent files handed over by
 * the desktop (or typed) reach the running agent; bad input, a locked PC and a PC where nothing runs
 * get clear answers. The desktop entry that install-handler writes is run the way a desktop runs it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DownloadView } from "@perpetuanet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logIn, PASSWORD, register } from "../../agent/test/helpers/agents.ts";
import {
  AgentProcess,
  freePort,
  runCli,
  ServerProcess,
  startCli,
  tempFolder,
} from "../../agent/test/helpers/processes.ts";
import { type Fixture, makeFixture } from "../../agent/test/helpers/torrent-fixtures.ts";

const work = tempFolder("pn-open-");
let server: ServerProcess;
let agent: AgentProcess;
const fixtures: Fixture[] = [];
// Nothing needs to download here: adding is what is tested, so the announce URL leads nowhere.
const NOWHERE = "http://127.0.0.1:9/announce";

beforeAll(async () => {
  for (const name of ["first.iso", "second.iso", "third.iso", "fourth.iso"]) {
    fixtures.push(
      await makeFixture({
        dir: join(work.path, name),
        name,
        files: { [name]: 64 * 1024 },
        announceUrl: NOWHERE,
      }),
    );
  }
  server = new ServerProcess(join(work.path, "server"));
  await server.start();
  agent = new AgentProcess({
    dataDir: join(work.path, "agent"),
    serverUrl: server.url,
    downloadDir: join(work.path, "downloads"),
    p2p: false,
  });
  await agent.start();
  await register(agent, "fay", server.url, "desk");
}, 120_000);

afterAll(async () => {
  await agent?.kill();
  await server?.kill();
  work.remove();
});

/** Ends a process this test did not spawn itself (a detached `perpetuanet start`), SIGKILL after 10 s. */
async function stopProcess(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, "SIGKILL");
}

const infoHashes = async () =>
  (await agent.call<DownloadView[]>("GET", "/api/downloads")).map((d) => d.infoHash).sort();

describe("perpetuanet open", () => {
  it("adds a magnet link and a .torrent file to the running agent", async () => {
    const [first, second] = fixtures as [Fixture, Fixture];
    const torrentPath = join(work.path, "second.torrent");
    writeFileSync(torrentPath, second.torrentFile);
    const r = await runCli(["open", first.magnet, torrentPath, "--data-dir", agent.opts.dataDir], 30_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.match(/Added to PerpetuaNet: /g)).toHaveLength(2);
    expect(await infoHashes()).toEqual([first.infoHash, second.infoHash].sort());

    // Again: the agent's refusal is passed on, and the exit code says something failed.
    const again = await runCli(["open", first.magnet, "--data-dir", agent.opts.dataDir], 30_000);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already in the download list/);
  });

  it("refuses what is neither a magnet, a .torrent URL nor a file, before contacting anything", async () => {
    const r = await runCli(["open", "magnet:?dn=no-hash", "--data-dir", agent.opts.dataDir], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid magnet link/);
    const missing = await runCli(
      ["open", join(work.path, "nothing.torrent"), "--data-dir", agent.opts.dataDir],
      30_000,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not a magnet link, a .torrent URL or a file that exists/);
  });

  it("says so when PerpetuaNet is not running and may not be started", async () => {
    const empty = tempFolder("pn-open-empty-");
    try {
      const r = await runCli(["open", fixtures[0]!.magnet, "--no-start", "--data-dir", empty.path], 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PerpetuaNet is not running on/);
    } finally {
      empty.remove();
    }
  });

  it("starts PerpetuaNet when nothing runs, and adds the link once the PC has an account", async () => {
    const home = tempFolder("pn-open-start-");
    const fifth = await makeFixture({
      dir: join(home.path, "fifth"),
      name: "fifth.iso",
      files: { "fifth.iso": 64 * 1024 },
      announceUrl: NOWHERE,
    });
    // What the background `perpetuanet start` runs with: loopback only, free ports, no window.
    const env = {
      ...process.env,
      PERPETUANET_SERVER_PORT: String(await freePort()),
      PERPETUANET_API_PORT: "0",
      PERPETUANET_P2P_LISTEN: "/ip4/127.0.0.1/tcp/0",
      PERPETUANET_NO_MDNS: "1",
      PERPETUANET_NO_DHT: "1",
      PERPETUANET_NO_OPEN: "1",
      PERPETUANET_DOWNLOAD_DIR: join(home.path, "downloads"),
    };
    const dataDir = join(home.path, "data");
    let pid = 0;
    try {
      const run = startCli(["open", fifth.magnet, "--data-dir", dataDir], 60_000, { env });
      await run.printed(/no account on this PC yet/, 30_000);
      const info = JSON.parse(readFileSync(join(dataDir, "agent.json"), "utf8")) as {
        pid: number;
        url: string;
        token: string;
      };
      pid = info.pid;
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${info.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${info.token}`, "content-type": "application/json" },
          body: body === undefined ? null : JSON.stringify(body),
        }).then((r) => r.json() as Promise<Record<string, unknown>>);
      const status = await call("GET", "/api/status");
      await call("POST", "/api/account/register", { serverUrl: status.serverUrl, login: "gus", password: PASSWORD });
      const r = await run.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Starting PerpetuaNet/);
      const downloads = (await call("GET", "/api/downloads")) as unknown as DownloadView[];
      expect(downloads.map((d) => d.infoHash)).toEqual([fifth.infoHash]);
    } finally {
      if (pid) await stopProcess(pid);
      home.remove();
    }
  });

  it("waits for a locked PC to be unlocked, then adds the link", async () => {
    const third = fixtures[2]!;
    await agent.call("POST", "/api/account/logout");
    const run = startCli(["open", third.magnet, "--no-window", "--data-dir", agent.opts.dataDir], 60_000);
    await run.printed(/PerpetuaNet is locked/, 30_000);
    await logIn(agent, "fay");
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Added to PerpetuaNet: /);
    expect(await infoHashes()).toContain(third.infoHash);
  });
});

describe("perpetuanet install-handler", () => {
  it("writes a desktop entry for magnet links and .torrent files, makes it the default, and its command adds links", async () => {
    const home = tempFolder("pn-handler-home-");
    try {
      const env = {
        ...process.env,
        HOME: home.path,
        XDG_DATA_HOME: join(home.path, "share"),
        XDG_CONFIG_HOME: join(home.path, "config"),
      };
      const r = await runCli(["install-handler", "--data-dir", agent.opts.dataDir], 30_000, { env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const entry = readFileSync(join(home.path, "share", "applications", "perpetuanet.desktop"), "utf8");
      expect(entry).toContain("MimeType=x-scheme-handler/magnet;application/x-bittorrent;");
      const exec = /^Exec=(.*)$/m.exec(entry)?.[1] ?? "";
      expect(exec).toMatch(/ open --data-dir \S+ %U$/);

      const query = await runCli([], 10_000, {
        env,
        command: ["xdg-mime", "query", "default", "x-scheme-handler/magnet"],
      });
      expect(query.stdout.trim()).toBe("perpetuanet.desktop");

      // What the desktop runs for a clicked magnet link: the Exec line with %U replaced by the link.
      const fourth = fixtures[3]!;
      const command = exec.split(" ").map((arg) => (arg === "%U" ? fourth.magnet : arg));
      const clicked = await runCli([], 30_000, { env, command });
      expect(clicked.code).toBe(0);
      expect(await infoHashes()).toContain(fourth.infoHash);
    } finally {
      home.remove();
    }
  });
});
