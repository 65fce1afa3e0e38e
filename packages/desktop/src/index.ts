/**
 * Opens the PerpetuaNet window on the agent's URL: the Electron shell when the `electron` package and
 * its binary are installed, else an installed Chromium / Chrome / Edge as an app window (`--app=`,
 * own profile under the data folder), else the default browser. Used by `perpetuanet start`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join, win32 } from "node:path";

export type LauncherKind = "electron" | "chromium" | "browser";

export interface OpenAppWindowOptions {
  /** The data folder: Chromium's profile goes in `<dataDir>/window-profile`. */
  dataDir: string;
  /** Skip launchers (tests, or `PERPETUANET_WINDOW=chromium|browser|electron` to force one). */
  only?: LauncherKind[];
  /** Electron only: start in the tray (default: the agent's "start minimised" setting). */
  startMinimised?: boolean;
  /** Extra Chromium flags (tests run it headless). */
  chromiumArgs?: string[];
  /**
   * End the Electron or Chromium window when this process exits. Default: when this process is the
   * agent (`<dataDir>/agent.json` names its pid), as in `perpetuanet start`: the window is of no use once
   * its agent has stopped. A second `perpetuanet start` that only opens a window leaves it open.
   */
  closeOnExit?: boolean;
  /** Where to say which launcher was used (default console.log). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export interface AppWindow {
  kind: LauncherKind;
  /** The program started (Electron, the browser binary, or the opener command). */
  command: string;
  pid: number | undefined;
  /** Ends the window's process (Electron, Chromium); a default browser's tab cannot be closed. */
  close(): Promise<void>;
}

/** What the machine offers; a parameter so that the choice can be tested without installing anything. */
export interface Probe {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Path of the Electron binary if the package and its binary are installed. */
  electronBinary(): string | null;
  isExecutable(path: string): boolean;
}

export interface LaunchPlan {
  kind: LauncherKind;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  label: string;
}

const ELECTRON_MAIN = join(import.meta.dirname, "electron-main.cjs");

export const CHROMIUM_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome",
  "google-chrome-stable",
  "microsoft-edge",
  "brave-browser",
];

/** Install locations of Chromium-based browsers outside PATH, per OS. */
export function chromiumPaths(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === "win32") {
    const roots = [env.PROGRAMFILES, env["PROGRAMFILES(X86)"], env.LOCALAPPDATA].filter((r): r is string => !!r);
    const rel = [
      "Google\\Chrome\\Application\\chrome.exe",
      "Chromium\\Application\\chrome.exe",
      "Microsoft\\Edge\\Application\\msedge.exe",
      "BraveSoftware\\Brave-Browser\\Application\\brave.exe",
    ];
    return roots.flatMap((root) => rel.map((r) => win32.join(root, r)));
  }
  if (platform === "darwin") {
    const apps = [
      "Google Chrome.app/Contents/MacOS/Google Chrome",
      "Chromium.app/Contents/MacOS/Chromium",
      "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
      "Brave Browser.app/Contents/MacOS/Brave Browser",
    ];
    return [
      ...apps.map((a) => `/Applications/${a}`),
      ...(env.HOME ? apps.map((a) => `${env.HOME}/Applications/${a}`) : []),
    ];
  }
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium", "/usr/bin/google-chrome"];
}

/** The first Chromium-like browser: `PERPETUANET_CHROMIUM`, then PATH, then the usual install folders. */
export function findChromium(probe: Probe): string | null {
  const { env, platform } = probe;
  if (env.PERPETUANET_CHROMIUM) return probe.isExecutable(env.PERPETUANET_CHROMIUM) ? env.PERPETUANET_CHROMIUM : null;
  const pathDirs = (env.PATH ?? env.Path ?? "").split(platform === "win32" ? ";" : delimiter).filter(Boolean);
  const exts = platform === "win32" ? [".exe"] : [""];
  const join_ = platform === "win32" ? win32.join : join;
  for (const name of CHROMIUM_NAMES) {
    for (const dir of pathDirs) {
      for (const ext of exts) {
        const candidate = join_(dir, name + ext);
        if (probe.isExecutable(candidate)) return candidate;
      }
    }
  }
  return chromiumPaths(platform, env).find((p) => probe.isExecutable(p)) ?? null;
}

/** The command that opens a URL in the default browser. */
export function browserOpener(platform: NodeJS.Platform, url: string): { command: string; args: string[] } {
  if (platform === "darwin") return { command: "open", args: [url] };
  // `start` is a cmd built-in; its first quoted argument is a window title; `^&` escapes cmd's `&`.
  if (platform === "win32") return { command: "cmd", args: ["/c", "start", '""', url.replace(/&/g, "^&")] };
  return { command: "xdg-open", args: [url] };
}

/**
 * The launchers to try, best first: Electron, then Chromium `--app`, then the default browser.
 * `appPage` is what Chromium opens (a local page that forwards to `url`, so the token stays out of argv).
 */
export function planLaunches(
  url: string,
  opts: Pick<OpenAppWindowOptions, "dataDir" | "only" | "startMinimised" | "chromiumArgs">,
  probe: Probe,
  appPage: string = url,
): LaunchPlan[] {
  const forced = probe.env.PERPETUANET_WINDOW as LauncherKind | undefined;
  const allowed = (k: LauncherKind) => (opts.only ? opts.only.includes(k) : forced ? forced === k : true);
  const plans: LaunchPlan[] = [];
  const electron = allowed("electron") ? probe.electronBinary() : null;
  if (electron) {
    const env: NodeJS.ProcessEnv = {
      ...probe.env,
      PERPETUANET_APP_URL: url,
      PERPETUANET_DATA_DIR: opts.dataDir,
      ...(opts.startMinimised !== undefined ? { PERPETUANET_START_MINIMISED: opts.startMinimised ? "1" : "0" } : {}),
    };
    delete env.ELECTRON_RUN_AS_NODE;
    plans.push({ kind: "electron", command: electron, args: [ELECTRON_MAIN], env, label: "Electron" });
  }
  const chromium = allowed("chromium") ? findChromium(probe) : null;
  if (chromium) {
    plans.push({
      kind: "chromium",
      command: chromium,
      args: [
        `--app=${appPage}`,
        `--user-data-dir=${join(opts.dataDir, "window-profile")}`,
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1280,800",
        ...(opts.chromiumArgs ?? []),
      ],
      env: probe.env,
      label: `Chromium app window (${chromium})`,
    });
  }
  if (allowed("browser")) {
    const { command, args } = browserOpener(probe.platform, url);
    plans.push({ kind: "browser", command, args, env: probe.env, label: `the default browser (${command})` });
  }
  return plans;
}

export function systemProbe(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Probe {
  return {
    platform,
    env,
    electronBinary() {
      try {
        // The electron package exports its binary's path, and throws when the binary was not downloaded.
        const path = createRequire(import.meta.url)("electron") as unknown;
        return typeof path === "string" && existsSync(path) ? path : null;
      } catch {
        return null;
      }
    },
    isExecutable(path) {
      try {
        accessSync(path, platform === "win32" ? constants.F_OK : constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** A local page that sends Chromium on to the app URL: the token is in this 0600 file, not in `ps` output. */
function writeForwardPage(dataDir: string, url: string): string {
  const dir = join(dataDir, "window-profile");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "open-perpetuanet.html");
  const html = `<!doctype html><meta charset="utf-8"><title>PerpetuaNet</title><script>location.replace(${JSON.stringify(url)})</script>`;
  writeFileSync(file, html, { mode: 0o600 });
  return `file://${file.startsWith("/") ? "" : "/"}${file.replace(/\\/g, "/")}`;
}

/** Whether the agent of `dataDir` is this process (its agent.json names our pid). */
export function agentRunsHere(dataDir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dataDir, "agent.json"), "utf8")) as { pid?: unknown }).pid === process.pid;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Spawns a plan; fails if the program is missing or exits with an error within `graceMs`. */
async function launch(plan: LaunchPlan, graceMs: number): Promise<ChildProcess> {
  const child = spawn(plan.command, plan.args, {
    stdio: "ignore",
    env: plan.env ?? process.env,
    detached: plan.kind === "browser",
    windowsHide: plan.kind === "browser",
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, graceMs);
    function done() {
      clearTimeout(timer);
      child.off("error", onError);
      child.off("exit", onExit);
      resolve();
    }
    function onError(err: Error) {
      clearTimeout(timer);
      reject(err);
    }
    function onExit(code: number | null) {
      // Openers (xdg-open, open, start) and a browser handing the URL to its running instance exit 0.
      if (code === 0) done();
      else {
        clearTimeout(timer);
        reject(new Error(`${plan.command} exited with code ${code}`));
      }
    }
    child.once("error", onError);
    child.once("exit", onExit);
  });
  child.unref();
  return child;
}

export async function openAppWindow(url: string, opts: OpenAppWindowOptions): Promise<AppWindow> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const probe = systemProbe(opts.env ?? process.env, opts.platform ?? process.platform);
  const hasChromium = !opts.only || opts.only.includes("chromium");
  const page = hasChromium && findChromium(probe) ? writeForwardPage(opts.dataDir, url) : url;
  const plans = planLaunches(url, opts, probe, page);
  const failures: string[] = [];
  for (const plan of plans) {
    try {
      const child = await launch(plan, plan.kind === "browser" ? 5000 : 1500);
      log(`PerpetuaNet window: ${plan.label}`);
      const endWithUs = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      };
      if (plan.kind !== "browser" && (opts.closeOnExit ?? agentRunsHere(opts.dataDir))) process.once("exit", endWithUs);
      return {
        kind: plan.kind,
        command: plan.command,
        pid: child.pid,
        async close() {
          process.off("exit", endWithUs);
          if (plan.kind === "browser" || child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited(child);
          clearTimeout(timer);
        },
      };
    } catch (error) {
      failures.push(`${plan.label}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `no way to open a window here (${failures.join("; ") || "no launcher allowed"}); open ${url.split("#")[0]} yourself`,
  );
}
