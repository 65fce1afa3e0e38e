import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { waitFor } from "./torrent-fixtures.ts";

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

/** What qBittorrent's Web API reports about one torrent (the fields the tests read). */
export interface QBittorrentTorrent {
  hash: string;
  /** e.g. checkingUP, uploading, stalledUP, downloading, stalledDL, error, missingFiles */
  state: string;
  /** 0..1 */
  progress: number;
  amount_left: number;
  uploaded: number;
}

export interface QBittorrent {
  process: ExternalProcess;
  /** Base URL of its Web API on 127.0.0.1. */
  webUrl: string;
  /** Add a .torrent through the Web API; qBittorrent checks what is already in `savePath` first. */
  add(torrentFile: Buffer, savePath: string): Promise<void>;
  torrent(infoHash: string): Promise<QBittorrentTorrent | undefined>;
  /** Client names of the peers connected for a torrent, as qBittorrent identifies them. */
  peerClients(infoHash: string): Promise<string[]>;
}

/**
 * qbittorrent-nox with its own profile folder: legal notice accepted, Web API on 127.0.0.1 without a
 * login for loopback clients, BitTorrent bound to the loopback interface with DHT, local discovery,
 * peer exchange and port mapping off. Resolves once the Web API answers; killed after `limitMs`.
 */
export async function startQBittorrent(opts: { profileDir: string; limitMs: number }): Promise<QBittorrent> {
  const configDir = path.join(opts.profileDir, "qBittorrent", "config");
  await mkdir(configDir, { recursive: true });
  await writeFile(
    path.join(configDir, "qBittorrent.conf"),
    [
      "[LegalNotice]",
      "Accepted=true",
      "",
      "[BitTorrent]",
      "Session\\DHTEnabled=false",
      "Session\\LSDEnabled=false",
      "Session\\PeXEnabled=false",
      "Session\\Interface=lo",
      "Session\\InterfaceName=lo",
      "Session\\InterfaceAddress=127.0.0.1",
      // Every peer in these tests is 127.0.0.1; libtorrent otherwise keeps one connection per address.
      "Session\\MultiConnectionsPerIp=true",
      `Session\\DefaultSavePath=${path.join(opts.profileDir, "downloads")}`,
      "",
      "[Preferences]",
      "Connection\\UPnP=false",
      "WebUI\\Address=127.0.0.1",
      "WebUI\\LocalHostAuth=false",
      "WebUI\\UseUPnP=false",
      "",
    ].join("\n"),
  );
  const webPort = await freePort();
  const proc = startExternal(
    "qbittorrent-nox",
    [`--profile=${opts.profileDir}`, `--webui-port=${webPort}`, `--torrenting-port=${await freePort()}`],
    opts.limitMs,
  );
  const webUrl = `http://127.0.0.1:${webPort}`;
  const api = async (route: string, init?: RequestInit): Promise<Response> => {
    const response = await fetch(`${webUrl}/api/v2/${route}`, { ...init, signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`qBittorrent ${route}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };
  try {
    await waitFor(
      () =>
        proc.child.exitCode !== null ||
        api("app/version").then(
          () => true,
          () => false,
        ),
      30_000,
      "the qBittorrent Web API",
      100,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  if (proc.child.exitCode !== null) throw new Error(`qbittorrent-nox exited: ${proc.output()}`);
  return {
    process: proc,
    webUrl,
    async add(torrentFile, savePath) {
      const form = new FormData();
      form.append("torrents", new Blob([new Uint8Array(torrentFile)]), "added.torrent");
      form.append("savepath", savePath);
      const answer = await (await api("torrents/add", { method: "POST", body: form })).text();
      if (answer.trim() !== "Ok.") throw new Error(`qBittorrent refused the torrent: ${answer}`);
    },
    async torrent(infoHash) {
      const list = (await (await api(`torrents/info?hashes=${infoHash}`)).json()) as QBittorrentTorrent[];
      return list[0];
    },
    async peerClients(infoHash) {
      const body = (await (await api(`sync/torrentPeers?hash=${infoHash}`)).json()) as {
        peers?: Record<string, { client?: string }>;
      };
      return Object.values(body.peers ?? {}).map((p) => p.client ?? "");
    },
  };
}
