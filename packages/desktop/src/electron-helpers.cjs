// @ts-check
/**
 * Pure helpers of the Electron main process (electron-main.cjs), kept free of `electron` so that they
 * run and are tested under plain Node (test/electron-helpers.test.ts).
 */
"use strict";

const { spawn } = require("node:child_process");
const { readFileSync } = require("node:fs");
const { homedir } = require("node:os");
const { join, resolve, win32 } = require("node:path");

/**
 * @typedef {{ appUrl: string | null; dataDir: string | null; startMinimised: boolean | null }} MainOptions
 * @typedef {{ pid: number; url: string; token: string }} AgentInfo
 */

/**
 * The window's options: the URL (with `#token=`) and data folder come in environment variables from
 * `openAppWindow` (not in argv, which other local users can read with `ps`); a launch by the OS as
 * the magnet: handler only has `--perpetuanet-data-dir=` and finds the agent through agent.json.
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} argv
 * @returns {MainOptions}
 */
function mainOptions(env, argv) {
  const flag = (/** @type {string} */ name) => {
    const hit = argv.find((a) => a.startsWith(`${name}=`));
    return hit ? hit.slice(name.length + 1) : null;
  };
  const minimised = env.PERPETUANET_START_MINIMISED;
  return {
    appUrl: env.PERPETUANET_APP_URL || null,
    dataDir: env.PERPETUANET_DATA_DIR || flag("--perpetuanet-data-dir"),
    startMinimised: minimised === "1" ? true : minimised === "0" ? false : null,
  };
}

/**
 * magnet: links among command-line arguments (how Windows and Linux hand a clicked link to the app).
 * @param {readonly string[]} argv
 * @returns {string[]}
 */
function magnetsIn(argv) {
  return argv.filter((a) => typeof a === "string" && /^magnet:\?/i.test(a));
}

/**
 * `http://127.0.0.1:7640/#token=abc` -> { origin, token }.
 * @param {string} appUrl
 * @returns {{ origin: string; token: string | null }}
 */
function splitAppUrl(appUrl) {
  const u = new URL(appUrl);
  const token = new URLSearchParams(u.hash.replace(/^#/, "")).get("token");
  return { origin: u.origin, token };
}

/**
 * The running agent of a data folder, from the agent.json it writes (null if absent, unreadable, or
 * left behind by an agent that is gone).
 * @param {string} dataDir
 * @returns {AgentInfo | null}
 */
function readAgentInfo(dataDir) {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, "agent.json"), "utf8"));
    if (typeof info.url !== "string" || typeof info.token !== "string") return null;
    process.kill(info.pid, 0);
    return info;
  } catch {
    // no agent running on this folder
  }
  return null;
}

/**
 * The data folder an agent started without --data-dir uses: the same rules as the agent's
 * `resolveDataDir` (packages/agent/src/paths.ts; a test keeps the two equal), which this CommonJS
 * file cannot import.
 * @param {NodeJS.ProcessEnv} env
 * @param {NodeJS.Platform} platform
 * @param {string} home
 */
function defaultDataDir(env = process.env, platform = process.platform, home = homedir()) {
  if (env.PERPETUANET_DATA_DIR) return env.PERPETUANET_DATA_DIR;
  if (platform === "win32") return win32.join(env.ProgramData ?? "C:\\ProgramData", "PerpetuaNet");
  if (platform === "darwin") return join(home, "Library", "Application Support", "PerpetuaNet");
  return join(env.XDG_CONFIG_HOME || join(home, ".config"), "perpetuanet");
}

/**
 * How the shell starts PerpetuaNet when it was launched on its own (a desktop shortcut, a clicked
 * magnet link): `perpetuanet start --no-open` (embedded server and agent, no second window) under the
 * Node in PERPETUANET_NODE, else `node` on PATH (Electron's own Node cannot run the TypeScript sources).
 * @param {string} dataDir
 * @param {NodeJS.ProcessEnv} env
 * @returns {string[]}
 */
function startCommand(dataDir, env = process.env) {
  const cli = resolve(__dirname, "../../cli/src/main.ts");
  return [env.PERPETUANET_NODE || "node", cli, "start", "--no-open", "--data-dir", dataDir];
}

/**
 * The agent of `dataDir`, started with `command` when none is running there. Resolves when the new
 * agent prints its address (`Open the app: <url>`: it is then listening), or, if another launch won
 * the race (`already running`), with that one; rejects with what it printed if it exits first or takes
 * longer than `timeoutMs`. `child` is the process started here (null if one was running already),
 * which the shell stops when the user quits.
 * @param {{ dataDir: string; command: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number }} a
 * @returns {Promise<{ info: AgentInfo; child: import("node:child_process").ChildProcess | null }>}
 */
function ensureAgent({ dataDir, command, env = process.env, timeoutMs = 60_000 }) {
  const running = readAgentInfo(dataDir);
  if (running) return Promise.resolve({ info: running, child: null });
  const [file, ...args] = command;
  if (!file) return Promise.reject(new Error("no command to start PerpetuaNet with"));
  const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  return new Promise((resolvePromise, reject) => {
    /** @param {Error | null} error @param {{ info: AgentInfo; child: import("node:child_process").ChildProcess | null }} [result] */
    const finish = (error, result) => {
      clearTimeout(timer);
      // Keep draining its output: a full pipe would block the agent's writes.
      child.stdout?.removeAllListeners("data");
      child.stdout?.resume();
      child.removeListener("exit", onExit);
      child.removeListener("error", onError);
      if (error || !result) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        reject(error);
      } else resolvePromise(result);
    };
    const failed = (/** @type {string} */ why) =>
      new Error(`PerpetuaNet could not start (${command.join(" ")} ${why}): ${stderr.trim() || stdout.trim()}`);
    const onExit = (/** @type {number | null} */ code) => {
      const other = code === 0 && /already running/.test(stdout) ? readAgentInfo(dataDir) : null;
      if (other) finish(null, { info: other, child: null });
      else finish(failed(`exited with ${code}`));
    };
    const onError = (/** @type {Error} */ error) => finish(failed(`failed: ${error.message}`));
    child.once("exit", onExit);
    child.once("error", onError);
    child.stderr?.on("data", (d) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.stdout?.on("data", (d) => {
      stdout = (stdout + d.toString()).slice(-4000);
      const hit = /Open the app: (\S+)/.exec(stdout);
      if (!hit?.[1] || child.pid === undefined) return;
      const { origin, token } = splitAppUrl(hit[1]);
      if (token) finish(null, { info: { pid: child.pid, url: origin, token }, child });
    });
    const timer = setTimeout(() => finish(failed(`did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
}

/**
 * @param {AgentInfo} info
 * @returns {string}
 */
function appUrlOf(info) {
  return `${info.url}/#token=${encodeURIComponent(info.token)}`;
}

/**
 * Hands a magnet link to the agent's local API (`POST /api/downloads {magnet}`).
 * @param {{ origin: string; token: string; magnet: string; fetchImpl?: typeof fetch }} a
 * @returns {Promise<{ ok: true } | { ok: false; error: string }>}
 */
async function forwardMagnet({ origin, token, magnet, fetchImpl = fetch }) {
  try {
    const res = await fetchImpl(`${origin}/api/downloads`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ magnet }),
    });
    if (res.ok) return { ok: true };
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch {
      // not JSON: keep the status line
    }
    return { ok: false, error: message };
  } catch (error) {
    return { ok: false, error: `the PerpetuaNet agent is not answering (${/** @type {Error} */ (error).message})` };
  }
}

/**
 * A tray icon drawn in code (no image file to ship): a filled disc with a light ring, as BGRA
 * pixels for nativeImage.createFromBitmap.
 * @param {number} size
 * @returns {Buffer}
 */
function trayBitmap(size) {
  const buf = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const r = size / 2 - 0.5;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      const i = (y * size + x) * 4;
      if (d > r) continue;
      const ring = d > r * 0.45 && d < r * 0.62;
      // indigo #4c6ef5, white ring (B, G, R, A)
      buf[i] = ring ? 255 : 0xf5;
      buf[i + 1] = ring ? 255 : 0x6e;
      buf[i + 2] = ring ? 255 : 0x4c;
      buf[i + 3] = 255;
    }
  }
  return buf;
}

/**
 * Whether a navigation stays inside the app (same origin as the agent); anything else opens outside.
 * @param {string} target
 * @param {string} origin
 */
function isInsideApp(target, origin) {
  try {
    return new URL(target).origin === origin;
  } catch {
    return false;
  }
}

module.exports = {
  mainOptions,
  magnetsIn,
  splitAppUrl,
  readAgentInfo,
  defaultDataDir,
  startCommand,
  ensureAgent,
  appUrlOf,
  forwardMagnet,
  trayBitmap,
  isInsideApp,
};
