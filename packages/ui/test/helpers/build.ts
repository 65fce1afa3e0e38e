/**
 * Builds packages/ui/dist with Vite when it is missing or older than a source file, once even when
 * several test files ask at the same time (a lock folder serialises them).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export const UI_DIR = join(import.meta.dirname, "..", "..");
export const DIST_DIR = join(UI_DIR, "dist");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function distIsFresh(): boolean {
  const index = join(DIST_DIR, "index.html");
  if (!existsSync(index)) return false;
  const sources = Math.max(
    newestMtime(join(UI_DIR, "src")),
    statSync(join(UI_DIR, "index.html")).mtimeMs,
    statSync(join(UI_DIR, "vite.config.ts")).mtimeMs,
  );
  return statSync(index).mtimeMs >= sources;
}

export async function ensureUiBuilt(): Promise<void> {
  if (distIsFresh()) return;
  const lock = join(UI_DIR, ".build-lock");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than 2 minutes is a leftover from a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for another UI build");
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (distIsFresh()) return;
    const vite = join(UI_DIR, "node_modules", "vite", "bin", "vite.js");
    // Build beside dist/ and swap it in: an agent serving dist/ meanwhile never sees it half empty.
    const next = join(UI_DIR, `dist.next-${process.pid}`);
    const r = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn", "--outDir", next], {
      cwd: UI_DIR,
      // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: "production" },
      encoding: "utf8",
      timeout: 120_000,
    });
    if (r.status !== 0) {
      rmSync(next, { recursive: true, force: true });
      throw new Error(`vite build failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    rmSync(DIST_DIR, { recursive: true, force: true });
    renameSync(next, DIST_DIR);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Sizes of the built files: raw and gzipped bytes of the JS and CSS the page loads. */
export async function bundleSizes(): Promise<{ js: number; css: number; jsGzip: number; cssGzip: number }> {
  const { gzipSync } = await import("node:zlib");
  const { readFileSync } = await import("node:fs");
  const assets = join(DIST_DIR, "assets");
  const out = { js: 0, css: 0, jsGzip: 0, cssGzip: 0 };
  for (const f of readdirSync(assets)) {
    const buf = readFileSync(join(assets, f));
    const gz = gzipSync(buf, { level: 9 }).length;
    if (f.endsWith(".js")) {
      out.js += buf.length;
      out.jsGzip += gz;
    } else if (f.endsWith(".css")) {
      out.css += buf.length;
      out.cssGzip += gz;
    }
  }
  return out;
}
