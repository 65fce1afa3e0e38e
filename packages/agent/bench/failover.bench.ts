/**
 * Failover figures with real processes: how long after the server dies an agent reports offline, and
 * how long after it returns 10,000 changes made meanwhile are on the server (A's outbox empty) and on
 * a second PC (B has them all). Runs with the agent's shipped defaults and with the fast settings the
 * tests use. PERPETUANET_BENCH_CHANGES changes the backlog size.
 */
import type { StatusView } from "@perpetuanet/core";
import { addLinks, converged, logIn, register } from "../test/helpers/agents.ts";
import { AgentProcess, FAST_TIMING, ServerProcess, tempFolder } from "../test/helpers/processes.ts";

const CHANGES = Number(process.env.PERPETUANET_BENCH_CHANGES ?? 10_000);
/** A new link is 7 change messages (url, kind, title, tags, notes, createdAt, deleted). */
const MESSAGES_PER_LINK = 7;

const DEFAULTS = { healthIntervalMs: 5000, healthTimeoutMs: 3000, maxBackoffMs: 30_000, syncIntervalMs: 5000 };

async function run(label: string, timing: typeof FAST_TIMING): Promise<void> {
  const folders = [tempFolder("pn-bench-fo-server-"), tempFolder("pn-bench-fo-a-"), tempFolder("pn-bench-fo-b-")];
  const server = new ServerProcess(folders[0]!.path);
  const agents = [folders[1]!, folders[2]!].map(
    (f) => new AgentProcess({ dataDir: f.path, serverUrl: "", p2p: false, timing }),
  );
  try {
    await server.start();
    for (const agent of agents) {
      agent.opts.serverUrl = server.url;
      await agent.start();
    }
    const [a, b] = agents as [AgentProcess, AgentProcess];
    await register(a, "bench", server.url);
    await logIn(b, "bench");
    await converged([a, b], 60_000);

    await server.kill();
    const died = performance.now();
    await a.waitForStatus("offline", (s) => s.connectivity === "offline", 120_000);
    const toOffline = performance.now() - died;

    await addLinks(a, "backlog", Math.ceil(CHANGES / MESSAGES_PER_LINK));
    const pending = (await a.status()).pending;

    await server.start();
    const back = performance.now();
    await a.waitForStatus("online", (s: StatusView) => s.connectivity !== "offline", 300_000);
    const toOnline = performance.now() - back;
    await a.waitForStatus("outbox empty", (s) => s.pending === 0 && s.connectivity !== "offline", 300_000);
    const toPushed = performance.now() - back;
    await converged([a, b], 300_000);
    const toSecondPc = performance.now() - back;

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `${label} (health every ${timing.healthIntervalMs} ms, timeout ${timing.healthTimeoutMs} ms, backoff up to ${timing.maxBackoffMs} ms, pull every ${timing.syncIntervalMs} ms)`,
    );
    console.log(`  server death -> offline:                   ${s(toOffline)}`);
    console.log(`  server return -> online:                   ${s(toOnline)}`);
    console.log(
      `  server return -> ${pending} changes on server: ${s(toPushed)} (${Math.round(pending / ((toPushed - toOnline) / 1000))} changes/s after reconnecting)`,
    );
    console.log(`  server return -> second PC has them all:   ${s(toSecondPc)}`);
  } finally {
    for (const agent of agents) await agent.kill();
    await server.kill();
    for (const f of folders) f.remove();
  }
}

await run("fast settings (as in the tests)", FAST_TIMING);
await run("shipped defaults", DEFAULTS);
