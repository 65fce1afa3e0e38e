/**
 * `perpetuanet start` (what `npm start` runs): everything on one PC. An embedded central server on
 * loopback (PGlite in the data folder), this PC's agent pointed at it, and the app window. A second
 * launch on the same data folder only opens the window of the running one.
 */
import { join } from "node:path";
import { closeOnSignals, resolveDataDir, runAgent, runningAgentInfo } from "@perpetuanet/agent";
import { nonNegativeInt, type RunningServer, startServer } from "@perpetuanet/server";
import { Command, Option } from "commander";
import { type AgentFlags, addAgentOptions, agentOptionsFrom } from "./agent-command.ts";
import { openWindow } from "./open-window.ts";

interface StartFlags extends AgentFlags {
  serverPort: number;
  server?: string;
  open: boolean;
}

export function startCommand(): Command {
  const cmd = new Command("start").description(
    "Run PerpetuaNet on this PC: an embedded central server, the agent, and the app window.",
  );
  cmd
    .addOption(
      new Option("--server-port <port>", "port of the embedded server on 127.0.0.1")
        .env("PERPETUANET_SERVER_PORT")
        .default(8787)
        .argParser(nonNegativeInt("--server-port")),
    )
    .addOption(
      new Option("--server <url>", "use this central server instead of starting an embedded one").env(
        "PERPETUANET_SERVER_URL",
      ),
    )
    .addOption(
      new Option("--tls-fingerprint <sha256>", "pin the server's TLS certificate").env("PERPETUANET_TLS_FINGERPRINT"),
    )
    .addOption(
      new Option("--no-open", "do not open the app window (print its address only)").env("PERPETUANET_NO_OPEN"),
    );
  addAgentOptions(cmd).action(async (o: StartFlags) => {
    const dataDir = resolveDataDir(o.dataDir);
    const existing = runningAgentInfo(dataDir);
    if (existing) {
      const url = `${existing.url}/#token=${existing.token}`;
      console.log(`PerpetuaNet is already running (pid ${existing.pid}): ${existing.url}`);
      if (o.open) await openWindow(url, dataDir);
      return;
    }
    let server: RunningServer | null = null;
    try {
      if (!o.server) {
        server = await startServer({
          host: "127.0.0.1",
          port: o.serverPort,
          dataDir: join(dataDir, "server"),
          logLevel: o.logLevel === "info" ? "warn" : o.logLevel,
        });
        console.log(`PerpetuaNet server (embedded) listening on ${server.url}`);
      }
      const running = await runAgent(agentOptionsFrom({ ...o, dataDir }, o.server ?? server?.url));
      closeOnSignals(async () => {
        await running.close();
        await server?.close();
      });
      console.log(`PerpetuaNet agent listening on ${running.url}`);
      console.log(`Open the app: ${running.appUrl}`);
      if (o.open) await openWindow(running.appUrl, dataDir);
    } catch (error) {
      await server?.close().catch(() => {});
      console.error(`perpetuanet start: ${(error as Error).message}`);
      process.exit(1);
    }
  });
  return cmd;
}
