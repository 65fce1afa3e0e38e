/**
 * Agents of one account find each other through their synced device records and keep syncing
 * directly when the central server is gone.
 */
import { describe, expect, it } from "vitest";
import { addLink, converged, logIn, PASSWORD, register, titles } from "../helpers/agents.ts";
import { AgentProcess, OFFLINE_WINDOW_MS, ServerProcess, tempFolder } from "../helpers/processes.ts";
import { useCleanups } from "../helpers/temp-dirs.ts";

const cleanups = useCleanups();

async function startAgent(server: ServerProcess): Promise<AgentProcess> {
  const dir = tempFolder("pn-e2e-p2p-");
  cleanups.push(dir.remove);
  const agent = new AgentProcess({ dataDir: dir.path, serverUrl: server.url });
  cleanups.push(() => agent.kill());
  await agent.start();
  return agent;
}

interface DeviceRow {
  id: string;
  thisDevice: boolean;
  connected: boolean;
}

describe("agents sync directly between the account's PCs", () => {
  it("keeps syncing peer to peer after the server dies", async () => {
    const serverDir = tempFolder("pn-e2e-p2p-server-");
    cleanups.push(serverDir.remove);
    const server = new ServerProcess(serverDir.path);
    cleanups.push(() => server.kill());
    await server.start();
    const a = await startAgent(server);
    const b = await startAgent(server);
    await register(a, "dave", server.url, "pc-a");
    await logIn(b, "dave", PASSWORD, "pc-b");
    await a.until(
      "A connected to B",
      async () => {
        const devices = await a.call<DeviceRow[]>("GET", "/api/devices");
        return devices.some((d) => !d.thisDevice && d.connected) ? true : undefined;
      },
      20_000,
    );
    await server.kill();
    await a.waitForStatus("offline", (s) => s.connectivity === "offline", OFFLINE_WINDOW_MS + 2500);
    await addLink(a, "Through the peer link");
    await b.until(
      "the link on B",
      async () => ((await titles(b)).includes("Through the peer link") ? true : undefined),
      10_000,
    );
    await server.start();
    await converged([a, b], 20_000);
    expect(await titles(a)).toEqual(await titles(b));
  });
});
