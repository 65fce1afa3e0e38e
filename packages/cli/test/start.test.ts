/**
 * `perpetuanet start`, what `npm start` runs: one process with an embedded central server (PGlite in
 * the data folder) and this PC's agent pointed at it. A user registers, their data reaches the
 * embedded server (a second PC can sign in there and sees it), a second launch only points at the
 * running one, and after a clean stop the next start unlocks the same data.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { StatusView } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import { addLink, converged, logIn, PASSWORD, titles } from "../../agent/test/helpers/agents.ts";
import { AgentProcess, freePort, runCli, tempFolder } from "../../agent/test/helpers/processes.ts";
import { useCleanups } from "../../agent/test/helpers/temp-dirs.ts";

const cleanups = useCleanups();

function folder(prefix: string): string {
  const dir = tempFolder(prefix);
  cleanups.push(dir.remove);
  return dir.path;
}

function tracked(opts: ConstructorParameters<typeof AgentProcess>[0]): AgentProcess {
  const p = new AgentProcess(opts);
  cleanups.push(() => p.kill());
  return p;
}

describe("perpetuanet start (npm start)", () => {
  it("runs an embedded server and the agent on it; a second launch finds the running one; data survives a restart", async () => {
    const dataDir = folder("pn-start-");
    // A fixed port, as npm start's 8787: the account remembers the server's address across restarts.
    const pc = tracked({ dataDir, serverUrl: "", embeddedServerPort: await freePort() });
    await pc.start();
    expect(pc.embeddedServerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The embedded server keeps its database in the data folder, next to the agent's.
    expect(existsSync(join(dataDir, "server"))).toBe(true);

    // The window offers the embedded server at sign-in.
    const first = await pc.status();
    expect(first).toMatchObject({ lock: "setup", serverUrl: pc.embeddedServerUrl });
    await pc.call<StatusView>("POST", "/api/account/register", {
      serverUrl: first.serverUrl,
      login: "erin",
      password: PASSWORD,
      deviceName: "home PC",
    });
    await addLink(pc, "Saved through npm start");
    await pc.waitForStatus("everything pushed to the embedded server", (s) => s.pending === 0, 15_000);

    // Another PC signs in on the embedded server and gets the library.
    const laptop = tracked({ dataDir: folder("pn-start-laptop-"), serverUrl: pc.embeddedServerUrl, p2p: false });
    await laptop.start();
    await logIn(laptop, "erin", PASSWORD, "laptop");
    await laptop.until(
      "the link on the laptop",
      async () => ((await titles(laptop)).includes("Saved through npm start") ? true : undefined),
      15_000,
    );

    // A second `start` on the same data folder starts nothing and says where the running one is.
    const again = await runCli(["start", "--no-open", "--data-dir", dataDir], 20_000);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`PerpetuaNet is already running (pid ${pc.child!.pid}): ${pc.url}`);
    expect(again.stdout).not.toContain("listening on");

    // A clean stop, then the next start serves the same data after an unlock with the password.
    await laptop.stop();
    expect(await pc.stop()).toBe(0);
    await pc.start();
    expect((await pc.status()).lock).toBe("locked");
    await logIn(pc, "erin");
    expect(await titles(pc)).toContain("Saved through npm start");
    await laptop.start();
    await logIn(laptop, "erin");
    await addLink(laptop, "Written after the restart");
    await converged([pc, laptop], 20_000);
  });
});
