/** The Electron main process's logic that runs without Electron: options, magnets, forwarding, tray icon. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

interface Helpers {
  mainOptions(
    env: NodeJS.ProcessEnv,
    argv: string[],
  ): { appUrl: string | null; dataDir: string | null; startMinimised: boolean | null };
  magnetsIn(argv: string[]): string[];
  splitAppUrl(url: string): { origin: string; token: string | null };
  readAgentInfo(dir: string): { pid: number; url: string; token: string } | null;
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
      writeFileSync(join(dir, "agent.json"), JSON.stringify({ pid: 1, url: "http://127.0.0.1:7640", token: "a b" }));
      const info = h.readAgentInfo(dir);
      expect(info && h.appUrlOf(info)).toBe("http://127.0.0.1:7640/#token=a%20b");
      expect(h.splitAppUrl("http://127.0.0.1:7640/#token=a%20b")).toEqual({
        origin: "http://127.0.0.1:7640",
        token: "a b",
      });
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
