/**
 * Which window `perpetuanet start` opens (Electron, Chromium --app, default browser) given what the
 * machine has, and the Chromium path for real: Debian's Chromium, headless, opening a loopback page.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../../agent/test/helpers/temp-dirs.ts";
import { browserOpener, findChromium, openAppWindow, type Probe, planLaunches, systemProbe } from "../src/index.ts";

const URL_ = "http://127.0.0.1:7640/#token=secret";
const HEADLESS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function probe(over: Partial<Probe> & { files?: string[] } = {}): Probe {
  const files = new Set(over.files ?? []);
  return {
    platform: over.platform ?? "linux",
    env: over.env ?? { PATH: "/usr/local/bin:/usr/bin" },
    electronBinary: over.electronBinary ?? (() => null),
    isExecutable: over.isExecutable ?? ((p) => files.has(p)),
  };
}

const kinds = (p: Probe) => planLaunches(URL_, { dataDir: "/data" }, p).map((plan) => plan.kind);

describe("choosing the window", () => {
  it("prefers Electron, then Chromium, then the default browser", () => {
    const electron = () => "/x/electron";
    expect(kinds(probe({ electronBinary: electron, files: ["/usr/bin/chromium"] }))).toEqual([
      "electron",
      "chromium",
      "browser",
    ]);
    expect(kinds(probe({ files: ["/usr/bin/chromium"] }))).toEqual(["chromium", "browser"]);
    expect(kinds(probe())).toEqual(["browser"]);
  });

  it("starts Electron on its main script with the URL in the environment, not in argv", () => {
    const [plan] = planLaunches(
      URL_,
      { dataDir: "/data", startMinimised: true },
      probe({ electronBinary: () => "/x/electron", env: { PATH: "", ELECTRON_RUN_AS_NODE: "1" } }),
    );
    expect(plan?.command).toBe("/x/electron");
    expect(plan?.args).toHaveLength(1);
    expect(plan?.args[0]).toMatch(/electron-main\.cjs$/);
    expect(existsSync(plan?.args[0] ?? "")).toBe(true);
    expect(plan?.args.join(" ")).not.toContain("secret");
    expect(plan?.env).toMatchObject({
      PERPETUANET_APP_URL: URL_,
      PERPETUANET_DATA_DIR: "/data",
      PERPETUANET_START_MINIMISED: "1",
    });
    expect(plan?.env?.ELECTRON_RUN_AS_NODE).toBeUndefined();
  });

  it("runs Chromium as an app window with its own profile under the data folder", () => {
    const plans = planLaunches(
      URL_,
      { dataDir: "/data" },
      probe({ files: ["/usr/bin/google-chrome"] }),
      "file:///p.html",
    );
    expect(plans[0]?.command).toBe("/usr/bin/google-chrome");
    expect(plans[0]?.args).toContain("--app=file:///p.html");
    expect(plans[0]?.args).toContain("--user-data-dir=/data/window-profile");
  });

  it("looks for the Chromium family on PATH in order, then in the usual install folders", () => {
    expect(findChromium(probe({ files: ["/usr/bin/google-chrome-stable", "/usr/local/bin/chromium-browser"] }))).toBe(
      "/usr/local/bin/chromium-browser",
    );
    expect(findChromium(probe({ env: { PATH: "" }, files: ["/snap/bin/chromium"] }))).toBe("/snap/bin/chromium");
    const win = probe({
      platform: "win32",
      env: { PATH: "C:\\Windows", PROGRAMFILES: "C:\\Program Files", LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local" },
      files: ["C:\\Users\\a\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe"],
    });
    expect(findChromium(win)).toBe("C:\\Users\\a\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe");
    const mac = probe({
      platform: "darwin",
      env: { PATH: "/usr/bin" },
      files: ["/Applications/Chromium.app/Contents/MacOS/Chromium"],
    });
    expect(findChromium(mac)).toBe("/Applications/Chromium.app/Contents/MacOS/Chromium");
    expect(
      findChromium(
        probe({ env: { PERPETUANET_CHROMIUM: "/opt/c/chrome" }, files: ["/opt/c/chrome", "/usr/bin/chromium"] }),
      ),
    ).toBe("/opt/c/chrome");
  });

  it("opens the default browser with xdg-open, open or start", () => {
    expect(browserOpener("linux", URL_)).toEqual({ command: "xdg-open", args: [URL_] });
    expect(browserOpener("darwin", URL_)).toEqual({ command: "open", args: [URL_] });
    expect(browserOpener("win32", "http://x/?a=1&b=2")).toEqual({
      command: "cmd",
      args: ["/c", "start", '""', "http://x/?a=1^&b=2"],
    });
  });

  it("honours PERPETUANET_WINDOW and `only`", () => {
    const p = probe({
      electronBinary: () => "/x/electron",
      files: ["/usr/bin/chromium"],
      env: { PATH: "/usr/bin", PERPETUANET_WINDOW: "browser" },
    });
    expect(kinds(p)).toEqual(["browser"]);
    expect(planLaunches(URL_, { dataDir: "/d", only: ["chromium"] }, p).map((x) => x.kind)).toEqual(["chromium"]);
  });

  it("sees that Electron's binary is not installed on this machine", () => {
    // electron is an optionalDependency whose install script (the binary download) does not run here.
    const binary = systemProbe().electronBinary();
    if (binary) expect(existsSync(binary)).toBe(true);
    else expect(binary).toBeNull();
  });
});

// Chromium's helper processes can still be writing the profile for a moment after its main process is
// gone: removal retries on ENOTEMPTY instead of failing the test.
const REMOVE_PROFILE = { recursive: true, force: true, maxRetries: 20, retryDelay: 100 } as const;
const cleanups = useCleanups();

describe("the Chromium app window, for real", () => {
  it.skipIf(!existsSync("/usr/bin/chromium"))(
    "opens the app URL (token in the fragment) in Chromium with its own profile, and closes it",
    async () => {
      const seen: string[] = [];
      let reported: (hash: string) => void = () => {};
      const hashSeen = new Promise<string>((resolve) => {
        reported = resolve;
      });
      const server = createServer((req, res) => {
        seen.push(req.url ?? "");
        if (req.url?.startsWith("/seen")) {
          reported(decodeURIComponent(req.url.slice("/seen?".length)));
          res.end("ok");
          return;
        }
        res.setHeader("content-type", "text/html");
        res.end("<!doctype html><script>fetch('/seen?' + encodeURIComponent(location.hash))</script>app");
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
      const dataDir = mkdtempSync(join(tmpdir(), "pn-desktop-"));
      cleanups.push(() => rmSync(dataDir, REMOVE_PROFILE));
      const lines: string[] = [];
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/#token=t0k3n`;
      const win = await openAppWindow(url, {
        dataDir,
        only: ["chromium"],
        env: { ...process.env, PERPETUANET_CHROMIUM: "/usr/bin/chromium" },
        chromiumArgs: HEADLESS,
        log: (l) => lines.push(l),
      });
      cleanups.push(() => win.close());
      expect(win.kind).toBe("chromium");
      expect(lines).toEqual(["PerpetuaNet window: Chromium app window (/usr/bin/chromium)"]);
      const hash = await Promise.race([
        hashSeen,
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error("the page never loaded")), 30_000)),
      ]);
      expect(hash).toBe("#token=t0k3n");
      // The profile is the app's own, and the token is not on Chromium's command line.
      expect(statSync(join(dataDir, "window-profile")).isDirectory()).toBe(true);
      const cmdline = readFileSync(`/proc/${win.pid}/cmdline`, "utf8");
      expect(cmdline).toContain(`--user-data-dir=${join(dataDir, "window-profile")}`);
      expect(cmdline).not.toContain("t0k3n");
      await win.close();
      expect(existsSync(`/proc/${win.pid}`) && !readFileSync(`/proc/${win.pid}/stat`, "utf8").includes(") Z")).toBe(
        false,
      );
    },
  );

  /** Runs a Node process that opens a headless Chromium window and exits; returns Chromium's pid. */
  function openFromChild(dataDir: string, asAgent: boolean): number {
    const script = join(dataDir, "open-and-exit.mjs");
    const index = join(import.meta.dirname, "..", "src", "index.ts");
    writeFileSync(
      script,
      `import { writeFileSync } from "node:fs";
import { openAppWindow } from ${JSON.stringify(index)};
if (${asAgent}) writeFileSync(${JSON.stringify(join(dataDir, "agent.json"))}, JSON.stringify({ pid: process.pid }));
const w = await openAppWindow("http://127.0.0.1:9/#token=x", {
  dataDir: ${JSON.stringify(dataDir)},
  only: ["chromium"],
  env: { ...process.env, PERPETUANET_CHROMIUM: "/usr/bin/chromium" },
  chromiumArgs: ${JSON.stringify(HEADLESS)},
  log: () => {},
});
console.log(w.pid);
process.exit(0);`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 30_000 });
    const pid = Number(r.stdout.trim());
    if (!(pid > 0)) throw new Error(`no window: ${r.stderr}`);
    return pid;
  }
  const running = (pid: number) =>
    existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");

  it.skipIf(!existsSync("/usr/bin/chromium"))(
    "ends the window with the agent process that opened it, not with a second launcher",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "pn-desktop-"));
      cleanups.push(() => rmSync(dataDir, REMOVE_PROFILE));
      const withAgent = openFromChild(dataDir, true);
      await expect.poll(() => running(withAgent), { timeout: 10_000 }).toBe(false);

      const other = mkdtempSync(join(tmpdir(), "pn-desktop-"));
      cleanups.push(() => rmSync(other, REMOVE_PROFILE));
      const launcherOnly = openFromChild(other, false);
      cleanups.push(async () => {
        if (running(launcherOnly)) process.kill(launcherOnly, "SIGTERM");
        // Chromium writes its profile until it is gone: only then may the folder be removed.
        await expect.poll(() => running(launcherOnly), { timeout: 10_000 }).toBe(false);
      });
      expect(running(launcherOnly)).toBe(true);
    },
  );

  it("falls back to the next launcher when a browser fails to start", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pn-desktop-"));
    cleanups.push(() => rmSync(dataDir, REMOVE_PROFILE));
    // A "Chromium" that exits with an error, and no opener on PATH: nothing works, and the error says why.
    const fake = join(dataDir, "chromium");
    spawnSync("sh", ["-c", `printf '#!/bin/sh\\nexit 3\\n' > ${fake} && chmod +x ${fake}`]);
    await expect(
      openAppWindow(URL_, { dataDir, env: { PATH: dataDir }, only: ["chromium", "browser"], log: () => {} }),
    ).rejects.toThrow(/Chromium app window .*exited with code 3.*default browser \(xdg-open\): .*ENOENT/);
  });
});
