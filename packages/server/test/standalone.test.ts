import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../src/index.ts";
import { api, envelopes, newAccount, tempDir, waitFor } from "./helpers/server.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dirs: string[] = [];
const dir = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts main.ts; resolves with the printed fingerprint and URL once it reports it listens. */
function runMain(
  args: string[],
): Promise<{ child: ChildProcess; url: string; fingerprint: string | null; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within 60 s:\n${out}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /PerpetuaNet server listening on (\S+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        const fingerprint = /TLS fingerprint \(SHA-256\): ([0-9A-F:]{95})/.exec(out)?.[1] ?? null;
        resolve({ child, url, fingerprint, output: () => out });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

function stopMain(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

/**
 * GET over https, trusting exactly the certificate with this SHA-256 fingerprint (no CA). A fresh
 * connection each time (agent: false), so the check runs before any request bytes are sent.
 */
function pinnedGet(url: string, fingerprint: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", rejectUnauthorized: false, agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("socket", (socket) => {
      socket.once("secureConnect", () => {
        const presented = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (presented !== fingerprint) req.destroy(new Error(`certificate fingerprint mismatch: ${presented}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

describe("standalone server", () => {
  it("on PGlite keeps accounts and messages across a restart in the same data folder", async () => {
    const dataDir = dir();
    const first = await startServer({ port: 0, dataDir, logLevel: "silent" });
    const user = await newAccount(first.url);
    const batch = envelopes("persistpc", 1, 12);
    await api(first.url, "POST", "/v1/sync", { token: user.token, body: { messages: batch } });
    await first.close();

    const second = await startServer({ port: 0, dataDir, logLevel: "silent" });
    try {
      // A second opener of the same folder is refused instead of corrupting it.
      await expect(startServer({ port: 0, dataDir, logLevel: "silent" })).rejects.toThrow(/in use by process/);
      const session = await api(second.url, "POST", "/v1/sessions", {
        body: { login: user.login, authKey: user.authKey },
      });
      expect(session.status).toBe(200);
      const pulled = await api(second.url, "POST", "/v1/sync", { token: session.body.accessToken, body: {} });
      expect(pulled.body.messages).toEqual(batch);
      // The sequence continues after the restart: new messages come after the old cursor.
      await api(second.url, "POST", "/v1/sync", {
        token: session.body.accessToken,
        body: { messages: envelopes("persistpc", 13, 1) },
      });
      const next = await api(second.url, "POST", "/v1/sync", {
        token: session.body.accessToken,
        body: { cursor: pulled.body.cursor },
      });
      expect(next.body.messages.map((m: { seq: number }) => m.seq)).toEqual([13]);
    } finally {
      await second.close();
    }
  });

  it("with --tls-self-signed prints a fingerprint that a pinning https client accepts, stable across restarts", async () => {
    const dataDir = dir();
    const run1 = await runMain(["--tls-self-signed", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"]);
    try {
      expect(run1.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(run1.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      const health = await pinnedGet(`${run1.url}/v1/health`, run1.fingerprint as string);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: "ok", database: "ok" });
      await expect(pinnedGet(`${run1.url}/v1/health`, "00:11:22")).rejects.toThrow(/fingerprint mismatch/);
      // Without pinning or a CA, a normal client refuses the self-signed certificate.
      await expect(fetch(`${run1.url}/v1/health`, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
    } finally {
      expect(await stopMain(run1.child)).toBe(0);
    }
    const run2 = await runMain(["--tls-self-signed", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"]);
    try {
      expect(run2.fingerprint).toBe(run1.fingerprint);
    } finally {
      expect(await stopMain(run2.child)).toBe(0);
    }
  });

  it("refuses plain HTTP on a non-loopback address and warns on loopback", async () => {
    await expect(startServer({ host: "0.0.0.0", port: 0, dataDir: dir(), logLevel: "silent" })).rejects.toThrow(
      /refusing to serve plain HTTP/,
    );
    const run = await runMain(["--port", "0", "--data-dir", dir(), "--log-level", "warn"]);
    try {
      expect(run.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // The log line and the ready line are separate writes: wait for both.
      await waitFor(async () => /plain HTTP/.test(run.output()), 10_000);
    } finally {
      expect(await stopMain(run.child)).toBe(0);
    }
  });

  it("documents every option in --help", async () => {
    const child = spawn(process.execPath, [MAIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    await new Promise((r) => child.once("exit", r));
    for (const flag of [
      "--host",
      "--port",
      "--database-url",
      "--data-dir",
      "--admin-token",
      "--tls-cert",
      "--tls-key",
      "--tls-self-signed",
      "--access-token-ttl",
      "--login-limit-account",
      "--log-level",
      "DATABASE_URL",
      "PERPETUANET_ADMIN_TOKEN",
    ]) {
      expect(out).toContain(flag);
    }
  });
});
