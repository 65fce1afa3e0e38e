/**
 * Runs the agent as a process: the agent itself, its local API, the `agent.json` file through which the
 * desktop shell (and a second launch) finds the running instance, and a clean shutdown on signals.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { startLocalApi } from "./api/local-api.ts";
import { Agent, type AgentOptions } from "./runtime/agent.ts";
import type { Logger } from "./runtime/session.ts";

export interface RunAgentOptions extends Omit<AgentOptions, "logger"> {
  apiPort?: number;
  apiSocket?: string;
  token?: string;
  logLevel?: string;
}

export interface RunningAgent {
  agent: Agent;
  url: string;
  /** The URL that opens the app, with the token in the fragment (never sent over the network). */
  appUrl: string;
  token: string;
  close(): Promise<void>;
}

export interface AgentInfo {
  pid: number;
  url: string;
  token: string;
}

/** pino's methods take one message; the runtime logs a few values, so they are joined. */
export function createLogger(level = "info"): Logger {
  const base = pino({ level, base: { app: "perpetuanet-agent" } }, pino.destination(2));
  const join = (a: unknown[]) =>
    a.map((x) => (x instanceof Error ? x.message : typeof x === "string" ? x : JSON.stringify(x))).join(" ");
  return {
    debug: (...a) => base.debug(join(a)),
    info: (...a) => base.info(join(a)),
    warn: (...a) => base.warn(join(a)),
    error: (...a) => base.error(join(a)),
  };
}

export function agentInfoPath(dataDir: string): string {
  return join(dataDir, "agent.json");
}

/** The agent already running on this data folder, if its process is alive. */
export function runningAgentInfo(dataDir: string): AgentInfo | null {
  const path = agentInfoPath(dataDir);
  if (!existsSync(path)) return null;
  try {
    const info = JSON.parse(readFileSync(path, "utf8")) as AgentInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}

export async function runAgent(opts: RunAgentOptions): Promise<RunningAgent> {
  const logger = createLogger(opts.logLevel ?? "info");
  const agent = await Agent.create({ ...opts, logger });
  let api: Awaited<ReturnType<typeof startLocalApi>>;
  try {
    api = await startLocalApi({
      agent,
      ...(opts.apiPort !== undefined ? { port: opts.apiPort } : {}),
      ...(opts.apiSocket ? { socketPath: opts.apiSocket } : {}),
      ...(opts.token ? { token: opts.token } : {}),
    });
  } catch (error) {
    await agent.close();
    throw error;
  }
  const infoPath = agentInfoPath(opts.dataDir);
  const info: AgentInfo = { pid: process.pid, url: api.url, token: api.token };
  writeFileSync(`${infoPath}.tmp`, JSON.stringify(info), { mode: 0o600 });
  renameSync(`${infoPath}.tmp`, infoPath);
  let closing: Promise<void> | null = null;
  return {
    agent,
    url: api.url,
    appUrl: `${api.url}/#token=${api.token}`,
    token: api.token,
    close() {
      closing ??= (async () => {
        await api.close();
        await agent.close();
        if (runningAgentInfo(opts.dataDir)?.pid === process.pid) rmSync(infoPath, { force: true });
      })();
      return closing;
    },
  };
}

/** SIGINT/SIGTERM close everything once, then exit 0; a second signal during the close is ignored. */
export function closeOnSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
