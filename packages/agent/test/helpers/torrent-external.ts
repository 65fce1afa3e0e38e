import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";

/** A TCP port free on loopback right now (the external client binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

export interface ExternalProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still alive after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Start an external BitTorrent client with a hard time limit; it is killed when the limit passes. */
export function startExternal(command: string, args: string[], limitMs: number): ExternalProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (err) => {
      keep(Buffer.from(String(err)));
      resolve(-1);
    });
  });
  const limit = setTimeout(() => child.kill("SIGKILL"), limitMs);
  limit.unref();
  void exited.then(() => clearTimeout(limit));
  return {
    child,
    output: () => output,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** aria2c with every discovery except the given tracker switched off; `seedForever` keeps seeding after completion. */
export function aria2cArgs(opts: {
  dir: string;
  torrentPath: string;
  port: number;
  seedForever: boolean;
  /** Seed files known to be good without hashing them first (benchmarks). */
  trustData?: boolean;
}): string[] {
  return [
    "--no-conf=true",
    "--enable-dht=false",
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    ...(opts.trustData ? ["--check-integrity=false", "--bt-seed-unverified=true"] : ["--check-integrity=true"]),
    "--summary-interval=0",
    "--console-log-level=warn",
    "--file-allocation=none",
    "--disable-ipv6=true",
    `--listen-port=${opts.port}`,
    ...(opts.seedForever ? ["--seed-ratio=0.0"] : ["--seed-time=0"]),
    `--dir=${opts.dir}`,
    opts.torrentPath,
  ];
}

/**
 * transmission-cli arguments with a private config folder whose settings keep it on loopback
 * (no DHT, local peer discovery, peer exchange or router port mapping).
 */
export async function transmissionArgs(opts: {
  configDir: string;
  dir: string;
  torrentPath: string;
  port: number;
  finishScript?: string;
}): Promise<string[]> {
  await mkdir(opts.configDir, { recursive: true });
  await writeFile(
    path.join(opts.configDir, "settings.json"),
    JSON.stringify({
      "dht-enabled": false,
      "lpd-enabled": false,
      "pex-enabled": false,
      "port-forwarding-enabled": false,
      "blocklist-enabled": false,
      "rpc-enabled": false,
      "speed-limit-down-enabled": false,
      "speed-limit-up-enabled": false,
      "peer-port": opts.port,
      "download-dir": opts.dir,
      "incomplete-dir-enabled": false,
      // Write straight into the final file, unallocated, so that allocated blocks show when data arrives.
      preallocation: 0,
      "rename-partial-files": false,
    }),
  );
  return [
    "-g",
    opts.configDir,
    "-w",
    opts.dir,
    "-p",
    String(opts.port),
    "-M",
    ...(opts.finishScript ? ["-f", opts.finishScript] : []),
    opts.torrentPath,
  ];
}
