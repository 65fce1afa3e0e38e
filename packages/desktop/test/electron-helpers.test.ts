/**
 * The Electron main process's logic that runs without Electron: options, magnets, forwarding, tray
 * icon, and starting PerpetuaNet (a real `perpetuanet start`) when the shell is launched on its own.
 */
import { type ChildProcess, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultDataDir as agentDefaultDataDir, resolveDataDir } from "@perpetuanet/agent";
import { describe, expect, it } from "vitest";
import { freePort } from "../../agent/test/helpers/processes.ts";

interface AgentInfo {
  pid: number;
  url: string;
  token: string;
}
interface Helpers {
  mainOptions(
    env: NodeJS.ProcessEnv,
    argv: string[],
  ): { appUrl: string | null; dataDir: string | null; startMinimised: boolean | null };
  magnetsIn(argv: string[]): string[];
  splitAppUrl(url: string): { origin: string; token: string | null };
  readAgentInfo(dir: string): AgentInfo | null;
  defaultDataDir(env: NodeJS.ProcessEnv, platform?: NodeJS.Platform, home?: string): string;
  startCommand(dataDir: string, env: NodeJS.ProcessEnv): string[];
  ensureAgent(a: {
    dataDir: string;
    command: string[];
    timeoutMs?: number;
  }): Promise<{ info: AgentInfo; child: ChildProcess | null }>;
  appUrlOf(info: { url: string; token: string }): string;
  forwardMagnet(a: { origin: string; token: string; magnet: string }): Promise<{ ok: boolean; error?: string }>;
  trayBitmap(size: number): Buffer;
  isInsideApp(target: string, origin: string): boolean;
}
const h = createRequire(import.meta.url)("../src/electron-helpers.cjs") as Helpers;
const MAGNET = "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=x";

describe("Electron main helpers", () => {
  it("reads the window options from the environment, and the data folder from a protocol launch", () => {
    expect(
      h.mainOptions({ PERPETUANET_APP_URL: "http://127.0.0.1:1/#token=a", PERPETUANET_DATA_DIR: "/d" }, []),
    ).toEqual({
      appUrl: "http://127.0.0.1:1/#token=a",
      dataDir: "/d",
      startMinimised: null,
    });
    expect(
      h.mainOptions({ PERPETUANET_START_MINIMISED: "1" }, ["electron", "--perpetuanet-data-dir=/x", MAGNET]),
    ).toEqual({
      appUrl: null,
      dataDir: "/x",
      startMinimised: true,
    });
  });

  it("finds magnet links in a second instance's argv", () => {
    expect(h.magnetsIn(["/usr/bin/electron", "main.cjs", "--flag", MAGNET, "https://x"])).toEqual([MAGNET]);
  });

  it("finds the running agent through agent.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "pn-electron-"));
    try {
      expect(h.readAgentInfo(dir)).toBeNull();
      const info = { pid: process.pid, url: "http://127.0.0.1:7640", token: "a b" };
      writeFileSync(join(dir, "agent.json"), JSON.stringify(info));
      expect(h.readAgentInfo(dir)).toEqual(info);
      expect(info && h.appUrlOf(info)).toBe("http://127.0.0.1:7640/#token=a%20b");
      expect(h.splitAppUrl("http://127.0.0.1:7640/#token=a%20b")).toEqual({
        origin: "http://127.0.0.1:7640",
        token: "a b",
      });
      // Left behind by an agent that is gone (a crash): not a running agent.
      const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
        encoding: "utf8",
      });
      writeFileSync(join(dir, "agent.json"), JSON.stringify({ ...info, pid: Number(gone.stdout) }));
      expect(h.readAgentInfo(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("forwards a magnet link to the agent's POST /api/downloads with the token, and reports its errors", async () => {
    const got: Array<{ auth: string | undefined; body: unknown }> = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      got.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) });
      if (req.headers.authorization !== "Bearer tok") {
        res
          .writeHead(401, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "missing or wrong API token" }));
        return;
      }
      res.writeHead(201, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await h.forwardMagnet({ origin, token: "tok", magnet: MAGNET })).toEqual({ ok: true });
      expect(got[0]).toEqual({ auth: "Bearer tok", body: { magnet: MAGNET } });
      expect(await h.forwardMagnet({ origin, token: "bad", magnet: MAGNET })).toEqual({
        ok: false,
        error: "missing or wrong API token",
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    const down = await h.forwardMagnet({ origin, token: "tok", magnet: MAGNET });
    expect(down.ok).toBe(false);
    expect(down.error).toMatch(/not answering/);
  });

  it("keeps navigation on the agent's origin", () => {
    expect(h.isInsideApp("http://127.0.0.1:7640/x", "http://127.0.0.1:7640")).toBe(true);
    expect(h.isInsideApp("https://example.org/", "http://127.0.0.1:7640")).toBe(false);
    expect(h.isInsideApp("not a url", "http://127.0.0.1:7640")).toBe(false);
  });

  it("draws an opaque tray icon with transparent corners", () => {
    const bmp = h.trayBitmap(32);
    expect(bmp.length).toBe(32 * 32 * 4);
    expect(bmp[3]).toBe(0); // corner alpha
    expect(bmp[(16 * 32 + 16) * 4 + 3]).toBe(255); // centre alpha
  });
});

describe("the Electron shell launched on its own", () => {
  it("looks for the agent in the data folder the agent itself uses by default", () => {
    const home = "/home/ada";
    for (const [platform, env] of [
      ["linux", {}],
      ["linux", { XDG_CONFIG_HOME: "/xdg" }],
      ["darwin", {}],
      ["win32", { ProgramData: "D:\\Data" }],
    ] as Array<[NodeJS.Platform, NodeJS.ProcessEnv]>) {
      expect(h.defaultDataDir(env, platform, home)).toBe(agentDefaultDataDir(platform, env, home));
    }
    const env = { PERPETUANET_DATA_DIR: "/srv/pn" };
    expect(h.defaultDataDir(env)).toBe(resolveDataDir(undefined, env));
  });

  it("starts PerpetuaNet when nothing runs on the data folder, and uses the running one after that", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pn-electron-start-"));
    let started: ChildProcess | null = null;
    try {
      const command = [
        ...h.startCommand(dir, { PERPETUANET_NODE: process.execPath }),
        // Loopback only and out of the way of a real installation's ports.
        ...["--server-port", String(await freePort()), "--api-port", "0"],
        ...["--no-mdns", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--log-level", "warn"],
      ];
      expect(command.slice(2, 6)).toEqual(["start", "--no-open", "--data-dir", dir]);
      const first = await h.ensureAgent({ dataDir: dir, command, timeoutMs: 30_000 });
      started = first.child;
      expect(started?.pid).toBe(first.info.pid);
      const res = await fetch(`${first.info.url}/api/status`, {
        headers: { authorization: `Bearer ${first.info.token}` },
      });
      expect(((await res.json()) as { lock: string }).lock).toBe("setup");

      const second = await h.ensureAgent({ dataDir: dir, command, timeoutMs: 30_000 });
      expect(second.child).toBeNull();
      expect(second.info).toEqual(first.info);

      // Quit: the agent the shell started closes cleanly and its agent.json goes with it.
      const exit = new Promise<number | null>((r) => started?.once("exit", (code) => r(code)));
      started?.kill("SIGTERM");
      expect(await exit).toBe(0);
      started = null;
      expect(h.readAgentInfo(dir)).toBeNull();
    } finally {
      started?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says what went wrong when PerpetuaNet cannot start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pn-electron-fail-"));
    try {
      const command = [process.execPath, "-e", "console.error('port 8787 is in use'); process.exit(3)"];
      await expect(h.ensureAgent({ dataDir: dir, command, timeoutMs: 30_000 })).rejects.toThrow(
        /exited with 3\): port 8787 is in use/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the Electron main process type-checks against electron's types", () => {
  const electronTypes = join(import.meta.dirname, "..", "..", "..", "node_modules", "electron", "electron.d.ts");
  it.skipIf(!existsSync(electronTypes))("tsc -p packages/desktop/tsconfig.json", () => {
    const tsc = join(import.meta.dirname, "..", "..", "..", "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join(import.meta.dirname, "..", "tsconfig.json")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
