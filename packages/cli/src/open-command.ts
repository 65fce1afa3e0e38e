/**
 * `perpetuanet open <magnet | .torrent URL | .torrent file>...`: hands links to the PerpetuaNet running
 * on this PC, as a clicked magnet link or a double-clicked .torrent file does through the desktop entry
 * that `perpetuanet install-handler` writes. Starts PerpetuaNet when it is not running, and waits for
 * the user to unlock it when it is locked.
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_TORRENT_FILE_BYTES, resolveDataDir, runningAgentInfo } from "@perpetuanet/agent";
import { type AddTorrentRequest, classifyLink, type DownloadView, type StatusView } from "@perpetuanet/core";
import { nonNegativeInt } from "@perpetuanet/server";
import { Command, Option } from "commander";
import { openWindow } from "./open-window.ts";

/** The `perpetuanet` entry point, for commands that start another `perpetuanet` process. */
export const CLI_MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** What the agent's `POST /api/downloads` takes for one command-line argument; throws with why not. */
export function torrentRequestFor(arg: string): AddTorrentRequest & { label: string } {
  if (/^magnet:/i.test(arg)) {
    classifyLink(arg);
    return { magnet: arg, label: arg.length > 80 ? `${arg.slice(0, 77)}...` : arg };
  }
  if (/^https?:\/\//i.test(arg)) {
    classifyLink(arg);
    return { torrentUrl: arg, label: arg };
  }
  const path = /^file:\/\//i.test(arg) ? fileURLToPath(arg) : arg;
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new Error(`${arg}: not a magnet link, a .torrent URL or a file that exists`);
  }
  if (size > MAX_TORRENT_FILE_BYTES) throw new Error(`${path}: too large for a .torrent file (${size} bytes)`);
  return { torrentFile: readFileSync(path).toString("base64"), label: path };
}

interface Agent {
  url: string;
  token: string;
}

async function call<T>(agent: Agent, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${agent.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${agent.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new Error(json.error ?? `${res.status} ${res.statusText}`);
  return json as T;
}

/** Waits for `check` to give a value, asking again every `everyMs`, until `deadline`. */
async function waitUntil<T>(check: () => Promise<T | null>, everyMs: number, deadline: number): Promise<T | null> {
  for (;;) {
    const value = await check().catch(() => null);
    if (value !== null || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `perpetuanet start` in the background (its window opens, so the user can unlock), with its output in
 * `<dataDir>/perpetuanet.log`; resolves with the agent once its agent.json appears.
 */
async function startInBackground(dataDir: string, deadline: number): Promise<Agent | null> {
  // A first start on this PC: the data folder does not exist yet.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = openSync(join(dataDir, "perpetuanet.log"), "a", 0o600);
  const child = spawn(process.execPath, [CLI_MAIN, "start", "--data-dir", dataDir], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.unref();
  // agent.json is the one signal a detached process leaves; a person is waiting, so 200 ms is plenty.
  const agent = await waitUntil(async () => runningAgentInfo(dataDir) ?? (exited ? false : null), 200, deadline);
  return agent || null;
}

interface OpenFlags {
  dataDir?: string;
  wait: number;
  start: boolean;
  window: boolean;
}

export function openCommand(): Command {
  return new Command("open")
    .description("Add magnet links, .torrent URLs or .torrent files to the PerpetuaNet running on this PC.")
    .argument("<links...>", "magnet: links, http(s) URLs of .torrent files, or .torrent file paths")
    .addOption(
      new Option("--data-dir <dir>", "folder of the encrypted database (default: the OS config folder)").env(
        "PERPETUANET_DATA_DIR",
      ),
    )
    .addOption(
      new Option("--wait <ms>", "how long to wait for PerpetuaNet to start and be unlocked")
        .default(600_000)
        .argParser(nonNegativeInt("--wait")),
    )
    .addOption(new Option("--no-start", "do not start PerpetuaNet when it is not running"))
    .addOption(new Option("--no-window", "do not show the window when PerpetuaNet has to be unlocked first"))
    .action(async (links: string[], o: OpenFlags) => {
      let requests: Array<ReturnType<typeof torrentRequestFor>>;
      try {
        requests = links.map(torrentRequestFor);
      } catch (error) {
        console.error(`perpetuanet open: ${(error as Error).message}`);
        process.exit(2);
      }
      const dataDir = resolveDataDir(o.dataDir);
      const deadline = Date.now() + o.wait;
      let agent: Agent | null = runningAgentInfo(dataDir);
      let startedNow = false;
      if (!agent && o.start) {
        console.log(`Starting PerpetuaNet (${dataDir})...`);
        agent = await startInBackground(dataDir, deadline);
        startedNow = true;
      }
      if (!agent) {
        const why = startedNow ? `could not be started (see ${join(dataDir, "perpetuanet.log")})` : "is not running";
        console.error(`perpetuanet open: PerpetuaNet ${why} on ${dataDir}; start it (npm start) and try again.`);
        process.exit(1);
      }
      const lock = async () => (await call<StatusView>(agent, "GET", "/api/status")).lock;
      const unlocked = async () => ((await lock()) === "unlocked" ? true : null);
      const state = await lock().catch(() => null);
      if (state !== "unlocked") {
        console.log(
          state === "setup"
            ? "PerpetuaNet has no account on this PC yet: register or log in in its window, and the links are added then."
            : "PerpetuaNet is locked: unlock it in its window, and the links are added then.",
        );
        if (!startedNow && o.window) await openWindow(`${agent.url}/#token=${agent.token}`, dataDir);
        if (!(await waitUntil(unlocked, 1000, deadline))) {
          console.error(`perpetuanet open: PerpetuaNet was not unlocked within ${o.wait} ms; nothing was added.`);
          process.exit(1);
        }
      }
      let failures = 0;
      for (const { label, ...request } of requests) {
        try {
          const d = await call<DownloadView>(agent, "POST", "/api/downloads", request);
          console.log(`Added to PerpetuaNet: ${d.name || label}`);
        } catch (error) {
          failures++;
          console.error(`perpetuanet open: ${label}: ${(error as Error).message}`);
        }
      }
      process.exit(failures === 0 ? 0 : 1);
    });
}
