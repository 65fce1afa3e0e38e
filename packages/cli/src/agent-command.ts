/** `perpetuanet agent`: the per-PC backend with its local API (and the shared options of `start`). */
import { closeOnSignals, type RunAgentOptions, resolveDataDir, runAgent } from "@perpetuanet/agent";
import { nonNegativeInt } from "@perpetuanet/server";
import { Command, Option } from "commander";

export const DEFAULT_API_PORT = 7640;

/** Options that `agent` and `start` share: where data lives, the local API, sync timing, peers, torrents. */
export function addAgentOptions(cmd: Command): Command {
  const ms = (flag: string, what: string, env: string, def: number) =>
    new Option(`${flag} <ms>`, what).env(env).default(def).argParser(nonNegativeInt(flag));
  return cmd
    .addOption(
      new Option("--data-dir <dir>", "folder of the encrypted database (default: the OS config folder)").env(
        "PERPETUANET_DATA_DIR",
      ),
    )
    .addOption(
      new Option("--api-port <port>", "local API and UI port on 127.0.0.1 (0 = any free port)")
        .env("PERPETUANET_API_PORT")
        .default(DEFAULT_API_PORT)
        .argParser(nonNegativeInt("--api-port")),
    )
    .addOption(
      new Option("--api-socket <path>", "also serve the local API on this Unix socket").env("PERPETUANET_API_SOCKET"),
    )
    .addOption(
      new Option("--token <token>", "local API token (default: a new random one per launch)").env(
        "PERPETUANET_API_TOKEN",
      ),
    )
    .addOption(ms("--health-interval", "server health check interval", "PERPETUANET_HEALTH_INTERVAL", 5000))
    .addOption(ms("--health-timeout", "server health check timeout", "PERPETUANET_HEALTH_TIMEOUT", 3000))
    .addOption(
      ms("--max-backoff", "longest wait between checks while the server is down", "PERPETUANET_MAX_BACKOFF", 30_000),
    )
    .addOption(ms("--sync-interval", "pull from the server this often while online", "PERPETUANET_SYNC_INTERVAL", 5000))
    .addOption(
      new Option("--sync-batch <n>", "messages per sync request (1-1000)")
        .env("PERPETUANET_SYNC_BATCH")
        .default(500)
        .argParser(nonNegativeInt("--sync-batch")),
    )
    .addOption(
      new Option("--p2p-listen <multiaddr...>", "libp2p listen addresses")
        .default(["/ip4/0.0.0.0/tcp/0"])
        .env("PERPETUANET_P2P_LISTEN"),
    )
    .addOption(ms("--p2p-redial", "redial this account's unconnected PCs this often", "PERPETUANET_P2P_REDIAL", 30_000))
    .addOption(
      ms(
        "--p2p-anti-entropy",
        "re-compare sync state with connected PCs this often",
        "PERPETUANET_P2P_ANTI_ENTROPY",
        30_000,
      ),
    )
    .addOption(
      new Option("--no-mdns", "do not look for this account's PCs on the LAN with mDNS").env("PERPETUANET_NO_MDNS"),
    )
    .addOption(new Option("--no-p2p", "no direct sync between this account's PCs").env("PERPETUANET_NO_P2P"))
    .addOption(
      new Option("--download-dir <dir>", "default download folder until changed in Settings").env(
        "PERPETUANET_DOWNLOAD_DIR",
      ),
    )
    .addOption(
      new Option("--no-dht", "torrents: no DHT, local discovery or peer exchange by default").env("PERPETUANET_NO_DHT"),
    )
    .addOption(
      new Option("--log-level <level>", "log level (logs go to stderr)")
        .env("PERPETUANET_LOG_LEVEL")
        .choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
        .default("info"),
    );
}

export interface AgentFlags {
  dataDir?: string;
  apiPort: number;
  apiSocket?: string;
  token?: string;
  healthInterval: number;
  healthTimeout: number;
  maxBackoff: number;
  syncInterval: number;
  syncBatch: number;
  p2pListen: string[] | string;
  p2pRedial: number;
  p2pAntiEntropy: number;
  mdns: boolean;
  p2p: boolean;
  downloadDir?: string;
  dht: boolean;
  logLevel: string;
  server?: string;
  tlsFingerprint?: string;
}

export function agentOptionsFrom(o: AgentFlags, serverUrl?: string | null): RunAgentOptions {
  const listen = Array.isArray(o.p2pListen) ? o.p2pListen : o.p2pListen.split(",");
  return {
    dataDir: resolveDataDir(o.dataDir),
    serverUrl: serverUrl ?? o.server ?? null,
    tlsFingerprint: o.tlsFingerprint ?? null,
    apiPort: o.apiPort,
    ...(o.apiSocket ? { apiSocket: o.apiSocket } : {}),
    ...(o.token ? { token: o.token } : {}),
    health: { intervalMs: o.healthInterval, timeoutMs: o.healthTimeout, maxBackoffMs: o.maxBackoff },
    syncIntervalMs: o.syncInterval,
    syncBatchSize: Math.min(1000, Math.max(1, o.syncBatch)),
    p2p: o.p2p
      ? { listen, mdns: o.mdns, redialIntervalMs: o.p2pRedial, antiEntropyIntervalMs: o.p2pAntiEntropy }
      : false,
    deviceDefaults: { ...(o.downloadDir ? { downloadFolder: o.downloadDir } : {}), dht: o.dht },
    logLevel: o.logLevel,
  };
}

export function agentCommand(): Command {
  const cmd = new Command("agent").description(
    "Run this PC's PerpetuaNet agent: encrypted store, sync with the server and your other PCs, torrents, and the app's local API.",
  );
  cmd
    .addOption(
      new Option("--server <url>", "central server URL offered at sign-in (default http://127.0.0.1:8787)")
        .env("PERPETUANET_SERVER_URL")
        .default("http://127.0.0.1:8787"),
    )
    .addOption(
      new Option("--tls-fingerprint <sha256>", "pin the server's TLS certificate").env("PERPETUANET_TLS_FINGERPRINT"),
    );
  addAgentOptions(cmd).action(async (o: AgentFlags) => {
    let running: Awaited<ReturnType<typeof runAgent>>;
    try {
      running = await runAgent(agentOptionsFrom(o));
    } catch (error) {
      console.error(`perpetuanet agent: ${(error as Error).message}`);
      process.exit(1);
    }
    closeOnSignals(() => running.close());
    console.log(`PerpetuaNet agent listening on ${running.url}`);
    console.log(`Open the app: ${running.appUrl}`);
  });
  return cmd;
}
