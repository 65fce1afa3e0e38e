/**
 * Real processes for end-to-end tests: a central server (`packages/server/src/main.ts`) and agents
 * (`perpetuanet agent`), each in its own temp folder, driven through their HTTP APIs. Waiting is done
 * on the agents' event streams (Server-Sent Events), always with a deadline.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentEvent, StatusView } from "@perpetuanet/core";
import { Agent as UndiciAgent, fetch as undiciFetch } from "undici";

const ROOT = new URL("../../../../", import.meta.url).pathname;
const SERVER_MAIN = join(ROOT, "packages/server/src/main.ts");
const CLI_MAIN = join(ROOT, "packages/cli/src/main.ts");

export function tempFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface CliRun {
  /** Resolves once stdout matches (rejects if the command ends first or after `timeoutMs`). */
  printed(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The command's end (it is killed after the `timeoutMs` it was started with). */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `perpetuanet <args>` (or `command` instead of the CLI) and follows what it prints. */
export function startCli(
  args: string[],
  timeoutMs: number,
  opts: { env?: NodeJS.ProcessEnv; command?: string[] } = {},
): CliRun {
  const [file, ...argv] = opts.command ?? [process.execPath, CLI_MAIN, ...args];
  const child = spawn(file as string, argv, {
    cwd: ROOT,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    for (const w of watchers) w();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      for (const w of watchers) w();
      resolve({ code, stdout, stderr });
    }),
  );
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    done,
    printed: (pattern, waitMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout)) finish();
          else if (ended()) finish(new Error(`ended without printing ${pattern}:\n${stdout}\n${stderr}`));
        };
        const finish = (error?: Error) => {
          clearTimeout(deadline);
          watchers.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const deadline = setTimeout(
          () => finish(new Error(`${pattern} not printed within ${waitMs} ms:\n${stdout}`)),
          waitMs,
        );
        watchers.add(check);
        check();
      }),
  };
}

/** Runs `perpetuanet <args>` to its end (killed after `timeoutMs`) and returns what it printed. */
export function runCli(
  args: string[],
  timeoutMs: number,
  opts: { env?: NodeJS.ProcessEnv; command?: string[] } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli(args, timeoutMs, opts).done;
}

/** Spawns a node process and resolves once a line of its stdout matches; kills it if it never does. */
function spawnUntil(
  args: string[],
  ready: RegExp,
  timeoutMs: number,
  netns?: string,
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const [command, argv] = netns
    ? ["ip", ["netns", "exec", netns, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`process did not get ready in ${timeoutMs} ms: ${args.join(" ")}\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => `${out}\n${err}` });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before it was ready: ${args.join(" ")}\n${out}\n${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export interface ServerProcessOptions {
  /** Run inside this network namespace, listening on every address with a self-signed TLS certificate. */
  netns?: string;
  /** Enables the admin API (notices) with this bearer token. */
  adminToken?: string;
}

export class ServerProcess {
  readonly dataDir: string;
  readonly opts: ServerProcessOptions;
  port = 0;
  /** SHA-256 fingerprint of the self-signed certificate (TLS servers only). */
  fingerprint: string | null = null;
  child: ChildProcess | null = null;

  constructor(dataDir: string, opts: ServerProcessOptions = {}) {
    this.dataDir = dataDir;
    this.opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server's URL as reached at `host` (TLS servers in a namespace). */
  urlAt(host: string): string {
    return `https://${host}:${this.port}`;
  }

  /** Starts (or restarts) the server on the same port and data folder. */
  async start(): Promise<void> {
    // In a fresh namespace every port is free; in this one, ask the kernel for one.
    if (this.port === 0) this.port = this.opts.netns ? 8787 : await freePort();
    const args = [SERVER_MAIN, "--port", String(this.port), "--data-dir", this.dataDir, "--log-level", "warn"];
    if (this.opts.netns) args.push("--host", "0.0.0.0", "--tls-self-signed");
    if (this.opts.adminToken) args.push("--admin-token", this.opts.adminToken);
    const { child, match } = await spawnUntil(
      args,
      /(?:TLS fingerprint \(SHA-256\): ([0-9A-F:]+)\s+)?PerpetuaNet server listening on /,
      30_000,
      this.opts.netns,
    );
    this.fingerprint = match[1] ?? null;
    this.child = child;
  }

  /** Publishes a notice through the admin API, as an operator announcing maintenance would. */
  async publishNotice(notice: { title: string; body?: string; severity?: string; kind?: string }): Promise<void> {
    const res = await fetch(`${this.url}/v1/admin/notices`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.opts.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(notice),
    });
    if (res.status !== 201) throw new Error(`publishing a notice: HTTP ${res.status} ${await res.text()}`);
  }

  /** SIGKILL: the server dies as in a crash, with requests in flight. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.kill("SIGKILL");
    await exited(child);
  }
}

export interface AgentProcessOptions {
  dataDir: string;
  /** The central server offered at sign-in; ignored with `embeddedServerPort`. */
  serverUrl: string;
  /**
   * Run `perpetuanet start` (what `npm start` runs: an embedded server on this port, 0 = any, and the
   * agent pointed at it; no window) instead of `perpetuanet agent`.
   */
  embeddedServerPort?: number;
  downloadDir?: string;
  p2p?: boolean;
  extraArgs?: string[];
  /** Defaults to FAST_TIMING. */
  timing?: typeof FAST_TIMING;
  /** Run inside this network namespace; the test then reaches the local API over a Unix socket. */
  netns?: string;
  tlsFingerprint?: string;
}

/** The settings every e2e agent runs with: fast failure detection, loopback only, no DHT. */
export const FAST_TIMING = {
  healthIntervalMs: 400,
  healthTimeoutMs: 400,
  maxBackoffMs: 800,
  syncIntervalMs: 400,
};

/** How long the agent may take to notice a dead server: a probe interval, a confirming probe, two timeouts. */
export const OFFLINE_WINDOW_MS =
  FAST_TIMING.healthIntervalMs + Math.min(1000, FAST_TIMING.healthIntervalMs) + 2 * FAST_TIMING.healthTimeoutMs;
/** How long it may take to notice the server is back: the longest backoff plus one timeout. */
export const ONLINE_WINDOW_MS = FAST_TIMING.maxBackoffMs + FAST_TIMING.healthTimeoutMs;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export class AgentProcess {
  readonly opts: AgentProcessOptions;
  child: ChildProcess | null = null;
  url = "";
  /** With `embeddedServerPort`: the embedded server's URL, as `perpetuanet start` printed it. */
  embeddedServerUrl = "";
  readonly token = `t${Math.random().toString(36).slice(2)}`;
  private events: EventStream | null = null;
  private dispatcher: UndiciAgent | undefined;

  constructor(opts: AgentProcessOptions) {
    this.opts = opts;
  }

  /** The Unix socket of the local API (agents in a network namespace). */
  get socketPath(): string {
    return join(this.opts.dataDir, "api.sock");
  }

  async start(): Promise<void> {
    const timing = this.opts.timing ?? FAST_TIMING;
    const netns = this.opts.netns;
    const embedded = this.opts.embeddedServerPort;
    const args = [
      CLI_MAIN,
      ...(embedded === undefined
        ? ["agent", "--server", this.opts.serverUrl]
        : ["start", "--no-open", "--server-port", String(embedded)]),
      "--data-dir",
      this.opts.dataDir,
      "--api-port",
      "0",
      "--token",
      this.token,
      "--health-interval",
      String(timing.healthIntervalMs),
      "--health-timeout",
      String(timing.healthTimeoutMs),
      "--max-backoff",
      String(timing.maxBackoffMs),
      "--sync-interval",
      String(timing.syncIntervalMs),
      "--no-dht",
      "--no-mdns",
      "--p2p-redial",
      "500",
      "--p2p-anti-entropy",
      "2000",
      "--p2p-listen",
      netns ? "/ip4/0.0.0.0/tcp/0" : "/ip4/127.0.0.1/tcp/0",
      ...(netns ? ["--api-socket", this.socketPath] : []),
      ...(this.opts.tlsFingerprint ? ["--tls-fingerprint", this.opts.tlsFingerprint] : []),
      "--log-level",
      "warn",
      ...(this.opts.downloadDir ? ["--download-dir", this.opts.downloadDir] : []),
      ...(this.opts.p2p === false ? ["--no-p2p"] : []),
      ...(this.opts.extraArgs ?? []),
    ];
    const { child, match, output } = await spawnUntil(
      args,
      /PerpetuaNet agent listening on (http:\/\/\S+)/,
      30_000,
      netns,
    );
    this.child = child;
    this.embeddedServerUrl = /PerpetuaNet server \(embedded\) listening on (\S+)/.exec(output())?.[1] ?? "";
    // Inside a namespace the agent's 127.0.0.1 is not ours: talk to it over its Unix socket instead.
    this.url = netns ? "http://localhost" : (match[1] as string);
    this.dispatcher = netns ? new UndiciAgent({ connect: { socketPath: this.socketPath } }) : undefined;
    this.events = new EventStream(`${this.url}/api/events?token=${encodeURIComponent(this.token)}`, this.dispatcher);
    await this.events.opened;
  }

  /** SIGKILL, as in a crash or a power cut of the process. */
  async kill(): Promise<void> {
    this.events?.close();
    this.events = null;
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.kill("SIGKILL");
    await exited(child);
  }

  /** SIGTERM, as when the user quits; resolves with the exit code (0 = closed cleanly). */
  async stop(): Promise<number | null> {
    this.events?.close();
    this.events = null;
    const child = this.child;
    this.child = null;
    if (!child) return null;
    child.kill("SIGTERM");
    await exited(child);
    return child.exitCode;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await undiciFetch(`${this.url}${path}`, {
      dispatcher: this.dispatcher,
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ApiError(res.status, json?.code ?? "?", json?.error ?? text);
    return json as T;
  }

  status(): Promise<StatusView> {
    return this.call<StatusView>("GET", "/api/status");
  }

  /**
   * Resolves with the first value `check` returns that is not undefined, evaluating it now and after
   * every event the agent sends; rejects after `timeoutMs` with the last value seen.
   */
  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    if (!this.events) throw new Error("agent is not running");
    return this.events.until(what, check, timeoutMs);
  }

  waitForStatus(what: string, predicate: (s: StatusView) => boolean, timeoutMs: number): Promise<StatusView> {
    return this.until(
      what,
      async () => {
        const s = await this.status();
        return predicate(s) ? s : undefined;
      },
      timeoutMs,
    );
  }
}

/** A Server-Sent Events client that re-checks conditions whenever an event arrives. */
export class EventStream {
  readonly opened: Promise<void>;
  private readonly abort = new AbortController();
  private waiters = new Set<() => void>();
  readonly received: AgentEvent[] = [];

  constructor(url: string, dispatcher?: UndiciAgent) {
    this.opened = (async () => {
      const res = await undiciFetch(url, { signal: this.abort.signal, dispatcher });
      if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
      void this.read(res.body).catch(() => {});
    })();
  }

  private async read(body: import("node:stream/web").ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (data) {
          this.received.push(JSON.parse(data) as AgentEvent);
          if (this.received.length > 5000) this.received.splice(0, 1000);
          for (const wake of [...this.waiters]) wake();
        }
        end = buffer.indexOf("\n\n");
      }
    }
  }

  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let woken = false;
      let wake: () => void = () => {
        woken = true;
      };
      const signalled = new Promise<void>((resolve) => {
        wake = () => {
          woken = true;
          resolve();
        };
      });
      this.waiters.add(wake);
      try {
        const value = await check();
        if (value !== undefined) return value;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        // Periodic events (status every sync round) wake this; the timer only bounds the wait.
        if (!woken) await Promise.race([signalled, new Promise((r) => setTimeout(r, Math.min(left, 1000)))]);
      } finally {
        this.waiters.delete(wake);
      }
    }
  }

  close(): void {
    this.abort.abort();
  }
}
