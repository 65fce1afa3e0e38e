/**
 * Two PCs (agent processes with their own data folders) of one account and a real server process.
 * Peer-to-peer sync is off here so that everything must go through the server (p2p has its own tests).
 */
import type { NoticeView } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import { addLink, addLinks, converged, logIn, PASSWORD, register, titles } from "../helpers/agents.ts";
import {
  AgentProcess,
  ApiError,
  OFFLINE_WINDOW_MS,
  ONLINE_WINDOW_MS,
  ServerProcess,
  tempFolder,
} from "../helpers/processes.ts";
import { useCleanups } from "../helpers/temp-dirs.ts";

const cleanups = useCleanups();

async function startServer(adminToken?: string): Promise<ServerProcess> {
  const dir = tempFolder("pn-e2e-server-");
  const server = new ServerProcess(dir.path, adminToken ? { adminToken } : {});
  cleanups.push(dir.remove, () => server.kill());
  await server.start();
  return server;
}

async function startAgent(server: ServerProcess, extraArgs: string[] = [], dataDir?: string): Promise<AgentProcess> {
  let path = dataDir;
  if (!path) {
    const dir = tempFolder("pn-e2e-agent-");
    cleanups.push(dir.remove);
    path = dir.path;
  }
  const agent = new AgentProcess({ dataDir: path, serverUrl: server.url, p2p: false, extraArgs });
  cleanups.push(() => agent.kill());
  await agent.start();
  return agent;
}

const noticeTitles = async (agent: AgentProcess) =>
  (await agent.call<NoticeView[]>("GET", "/api/notices")).map((n) => n.title);

/** Slack for two processes on a busy 2-core machine on top of the configured detection window. */
const SLACK_MS = 2500;

describe("agents sync through the server and fail over to offline mode", () => {
  it("a link added on A appears on B; with the server dead both work offline; when it returns both converge", async () => {
    const server = await startServer();
    const a = await startAgent(server);
    const b = await startAgent(server);
    await register(a, "alice", server.url, "pc-a");
    await logIn(b, "alice", PASSWORD, "pc-b");

    const first = await addLink(a, "Shared before the outage", { tags: ["music"], notes: "from A" });
    await b.until(
      "the link from A on B",
      async () => ((await titles(b)).includes(first.title) ? true : undefined),
      15_000,
    );

    await server.kill();
    const killedAt = Date.now();
    await Promise.all(
      [a, b].map((agent) =>
        agent.waitForStatus("offline", (s) => s.connectivity === "offline", OFFLINE_WINDOW_MS + SLACK_MS),
      ),
    );
    expect(Date.now() - killedAt).toBeLessThan(OFFLINE_WINDOW_MS + SLACK_MS);
    expect(await noticeTitles(a)).toContain("Central server unreachable, working offline");

    // Both PCs keep working on local data, including edits of the same link.
    const fromA = await addLinks(a, "offline-a", 15);
    const fromB = await addLinks(b, "offline-b", 15);
    await a.call("PATCH", `/api/links/${first.id}`, { title: "Edited on A" });
    await b.call("PATCH", `/api/links/${first.id}`, { title: "Edited on B, later", tags: ["music", "live"] });
    await b.call("DELETE", `/api/links/${fromB[3]!.id}`);
    expect((await a.status()).pending).toBeGreaterThan(0);
    expect((await b.status()).pending).toBeGreaterThan(0);
    expect(await titles(a)).toContain("offline-a-14");

    await server.start();
    const restartedAt = Date.now();
    await Promise.all(
      [a, b].map((agent) =>
        agent.waitForStatus("online", (s) => s.connectivity !== "offline", ONLINE_WINDOW_MS + SLACK_MS),
      ),
    );
    expect(Date.now() - restartedAt).toBeLessThan(ONLINE_WINDOW_MS + SLACK_MS);
    await converged([a, b], 20_000);

    const expected = [
      "Edited on B, later",
      ...fromA.map((l) => l.title),
      ...fromB.filter((_, i) => i !== 3).map((l) => l.title),
    ].sort();
    expect(await titles(a)).toEqual(expected);
    expect(await titles(b)).toEqual(expected);
    const edited = await a.call<{ tags: string[] }>("GET", `/api/links/${first.id}`);
    expect(edited.tags).toEqual(["music", "live"]);
    await a.until(
      "the back-online notice",
      async () =>
        (await noticeTitles(a)).some((t) => /^Back online, \d+ changes? synced$/.test(t)) ? true : undefined,
      10_000,
    );
  });

  it("loses and doubles nothing when the server or an agent is killed in the middle of a sync batch", async () => {
    const server = await startServer();
    // Small batches, so that a sync of a few thousand messages takes many round trips to interrupt.
    const a = await startAgent(server, ["--sync-batch", "40"]);
    const b = await startAgent(server, ["--sync-batch", "40"]);
    await register(a, "bob", server.url);
    await logIn(b, "bob");
    await server.kill();
    await a.waitForStatus("offline", (s) => s.connectivity === "offline", OFFLINE_WINDOW_MS + SLACK_MS);
    const made = await addLinks(a, "backlog", 300);
    const backlog = (await a.status()).pending;
    expect(backlog).toBeGreaterThan(1500);

    // Server killed once it acknowledged part of the backlog.
    await server.start();
    await a.waitForStatus("part of the backlog pushed", (s) => s.pending < backlog && s.pending > 0, 30_000);
    await server.kill();
    const partly = (await a.status()).pending;
    expect(partly).toBeGreaterThan(0);

    // Agent A killed in the middle of pushing the rest, then started again and unlocked.
    await server.start();
    await a.waitForStatus("more of the backlog pushed", (s) => s.pending < partly && s.pending > 0, 30_000);
    await a.kill();
    await a.start();
    await logIn(a, "bob");

    await converged([a, b], 60_000);
    const expected = made.map((l) => l.title).sort();
    expect(await titles(a)).toEqual(expected);
    expect(await titles(b)).toEqual(expected);
    // A third PC that syncs everything from scratch ends with the same state and log as the other two,
    // and every link once: nothing the server holds is missing or doubled.
    const c = await startAgent(server);
    await logIn(c, "bob");
    await converged([a, b, c], 60_000);
    expect(await titles(c)).toEqual(expected);
  });

  it("shows the server's maintenance notices and keeps them visible offline", async () => {
    const server = await startServer("operator-secret");
    const a = await startAgent(server);
    await register(a, "ivan", server.url);
    await server.publishNotice({
      title: "Database upgrade tonight",
      body: "Sync pauses 22:00-23:00 UTC",
      severity: "warning",
      kind: "maintenance",
    });
    await a.call("POST", "/api/sync/now");
    const shown = await a.call<NoticeView[]>("GET", "/api/notices");
    expect(shown.find((n) => n.title === "Database upgrade tonight")).toMatchObject({
      source: "server",
      severity: "warning",
      kind: "maintenance",
      body: "Sync pauses 22:00-23:00 UTC",
    });
    await server.kill();
    await a.waitForStatus("offline", (s) => s.connectivity === "offline", OFFLINE_WINDOW_MS + SLACK_MS);
    const titlesOffline = await noticeTitles(a);
    expect(titlesOffline).toContain("Database upgrade tonight");
    expect(titlesOffline).toContain("Central server unreachable, working offline");
  });

  it("after a password change on one PC, the other PC signs in with the new password and keeps its data", async () => {
    const server = await startServer();
    const a = await startAgent(server);
    const b = await startAgent(server);
    await register(a, "judy", server.url);
    await logIn(b, "judy");
    await addLink(b, "Made on B before the change");
    await converged([a, b], 15_000);
    await a.call("POST", "/api/account/password", { oldPassword: PASSWORD, newPassword: "a brand new passphrase" });
    await a.call("POST", "/api/account/logout");
    await expect(logIn(a, "judy")).rejects.toMatchObject({ code: "WRONG_PASSWORD" });
    await logIn(a, "judy", "a brand new passphrase");

    await b.call("POST", "/api/account/logout");
    await expect(logIn(b, "judy")).rejects.toMatchObject({ code: "WRONG_PASSWORD" });
    await logIn(b, "judy", "a brand new passphrase");
    expect(await titles(b)).toEqual(["Made on B before the change"]);
    await addLink(b, "Made on B after the change");
    await converged([a, b], 15_000);
    expect(await titles(a)).toEqual(["Made on B after the change", "Made on B before the change"]);
  });

  it("unlocks offline on a PC that was set up before, with a clear error on one that was not", async () => {
    const server = await startServer();
    const setUp = tempFolder("pn-e2e-agent-");
    cleanups.push(setUp.remove);
    const a = await startAgent(server, [], setUp.path);
    await register(a, "carol", server.url);
    await addLink(a, "Kept on this PC");
    await converged([a], 15_000);
    await a.stop();
    await server.kill();

    const again = await startAgent(server, [], setUp.path);
    expect((await again.status()).lock).toBe("locked");
    await expect(logIn(again, "carol", "not the password")).rejects.toMatchObject({
      status: 401,
      code: "WRONG_PASSWORD",
    });
    await logIn(again, "carol");
    expect((await again.status()).lock).toBe("unlocked");
    expect(await titles(again)).toEqual(["Kept on this PC"]);
    await again.call("POST", "/api/links", { url: "https://example.org/offline", title: "Written offline" });
    expect(await titles(again)).toEqual(["Kept on this PC", "Written offline"]);

    const fresh = await startAgent(server);
    expect((await fresh.status()).lock).toBe("setup");
    const refused = await logIn(fresh, "carol").catch((e: ApiError) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe("NOT_SET_UP");
    expect((refused as ApiError).message).toMatch(
      /never been set up for carol.*unreachable.*Connect to the server once/s,
    );
  });
});
