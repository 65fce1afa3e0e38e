// @ts-check
/**
 * Pure helpers of the Electron main process (electron-main.cjs), kept free of `electron` so that they
 * run and are tested under plain Node (test/electron-helpers.test.ts).
 */
"use strict";

const { readFileSync } = require("node:fs");
const { join } = require("node:path");

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
 * The running agent of a data folder, from the agent.json it writes (null if absent or unreadable).
 * @param {string} dataDir
 * @returns {AgentInfo | null}
 */
function readAgentInfo(dataDir) {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, "agent.json"), "utf8"));
    if (typeof info.url === "string" && typeof info.token === "string") return info;
  } catch {
    // no agent running on this folder
  }
  return null;
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
  appUrlOf,
  forwardMagnet,
  trayBitmap,
  isInsideApp,
};
