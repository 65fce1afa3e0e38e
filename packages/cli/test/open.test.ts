/**
 * `perpetuanet open` and `perpetuanet install-handler`: magnet links and .torrent files handed over by
 * the desktop (or typed) reach the running agent; bad input, a locked PC and a PC where nothing runs
 * get clear answers. The desktop entry that install-handler writes is run the way a desktop runs it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DownloadView } from "@perpetuanet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logIn, register } from "../../agent/test/helpers/agents.ts";
import { AgentProcess, runCli, ServerProcess, startCli, tempFolder } from "../../agent/test/helpers/processes.ts";
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
