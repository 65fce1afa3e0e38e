/**
 * 10,000 new links written on A must all be present on C, which hears of them only through B (chain
 * A-B-C, real libp2p over loopback, encrypted stores). A link is 4 change messages (url, kind, title,
 * createdAt: 40,000 log entries). Run twice: one writeLocal per link (one transaction each, what a user
 * adding links one by one causes) and writeLocal batches of 1,000 links (an import). Fresh entries go to
 * node.broadcast() as the runtime does; the writer yields to the event loop every 100 links (or batch) so
 * sending overlaps writing. All three nodes share this process, so the time of the same writes into a
 * store with no node attached is printed too.
 *
 * Comparison: Gun.js with the same 10,000 links between a Gun relay (`Gun({web: httpServer})`, radisk on
 * so it keeps what it receives) and a client (`peers: [url]`) on loopback: the client puts, and the time
 * runs until the relay's `get("links").map().on()` has seen every link. Gun runs in a child process with
 * a heap cap because an unpaced burst of 10,000 puts exhausted a 4 GB heap here; the client therefore
 * keeps at most GUN_WINDOW puts unacknowledged.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type ChangeMessage, changesFor, encryptChange, HybridLogicalClock, randomKey } from "@perpetuanet/core";
import { createP2PNode, generatePeerKey, type P2PNode, peerIdFromKey } from "../src/p2p/index.ts";
import { LocalStore, type LoggedMessage } from "../src/store/index.ts";

const LINKS = Number(process.env.LINKS ?? 10_000);
const GUN_WINDOW = Number(process.env.GUN_WINDOW ?? 1000);
const GUN_LIMIT_MS = Number(process.env.GUN_LIMIT_MS ?? 300_000);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function until(check: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** How the 10,000 links are written: one writeLocal per link, or a few large writeLocal batches. */
type WriteMode = { name: string; linksPerWrite: number };
const MODES: WriteMode[] = [
  { name: "one writeLocal per link", linksPerWrite: 1 },
  { name: "writeLocal batches of 1,000 links", linksPerWrite: 1000 },
];

/** Writes links [from, to) as `linksPerWrite`-link writeLocal calls; returns each call's fresh entries. */
function writeLinks(
  store: LocalStore,
  dataKey: Buffer,
  clock: HybridLogicalClock,
  range: { from: number; to: number; linksPerWrite: number },
): LoggedMessage[][] {
  const out: LoggedMessage[][] = [];
  for (let first = range.from; first < range.to; first += range.linksPerWrite) {
    const changes: ChangeMessage[] = [];
    for (let i = first; i < Math.min(first + range.linksPerWrite, range.to); i++) {
      changes.push(
        ...changesFor(clock, "links", `link-${i}`, {
          url: `https://example.org/${i}`,
          kind: "web",
          title: `Link number ${i}`,
          createdAt: 1_700_000_000_000 + i,
        }),
      );
    }
    out.push(store.writeLocal(clock.deviceId, changes, (ch, seq) => encryptChange(dataKey, ch, seq)));
  }
  return out;
}

/** The same writes into a store with no node attached: the part of the chain's time that is not networking. */
function writesAlone(mode: WriteMode): number {
  const dir = mkdtempSync(join(tmpdir(), "pn-bench-p2p-"));
  const store = LocalStore.open({ path: join(dir, "alone.db"), key: randomKey() });
  const start = performance.now();
  writeLinks(store, randomKey(), new HybridLogicalClock("pcbenchz"), { from: 0, to: LINKS, ...mode });
  const seconds = (performance.now() - start) / 1000;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}

interface Peer {
  deviceId: string;
  store: LocalStore;
  node: P2PNode;
}

async function perpetuaNet(mode: WriteMode): Promise<{ seconds: number; writeSeconds: number; atB: number }> {
  const dir = mkdtempSync(join(tmpdir(), "pn-bench-p2p-"));
  const dataKey = randomKey();
  const names = ["pcbencha", "pcbenchb", "pcbenchc"];
  const keys = await Promise.all(names.map(() => generatePeerKey()));
  const devices = new Map(names.map((deviceId, i) => [peerIdFromKey(keys[i]!), { deviceId, addresses: [] }]));
  const peers: Peer[] = [];
  try {
    for (const [i, deviceId] of names.entries()) {
      const store = LocalStore.open({ path: join(dir, `${deviceId}.db`), key: randomKey() });
      const node = await createP2PNode({
        store,
        dataKey,
        deviceId,
        privateKey: keys[i]!,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        mdns: false,
        trustedPeers: () => devices,
        logger: { debug() {}, info() {}, warn: (...a) => console.warn(...a) },
      });
      peers.push({ deviceId, store, node });
    }
    const [a, b, c] = peers as [Peer, Peer, Peer];
    await a.node.dial(b.node.addresses()[0]!);
    await c.node.dial(b.node.addresses()[0]!);
    await until(() => b.node.connectedPeers().length === 2, 10_000, "the chain to connect");

    const clock = new HybridLogicalClock(a.deviceId);
    let entries = 0;
    const start = performance.now();
    const step = Math.max(100, mode.linksPerWrite);
    for (let from = 0; from < LINKS; from += step) {
      const range = { from, to: Math.min(from + step, LINKS), linksPerWrite: mode.linksPerWrite };
      for (const fresh of writeLinks(a.store, dataKey, clock, range)) {
        entries += fresh.length;
        a.node.broadcast(fresh);
      }
      await new Promise((r) => setImmediate(r));
    }
    const written = performance.now();
    let atB = 0;
    await until(
      () => {
        if (!atB && b.store.highWaterMarks()[a.deviceId] === entries) atB = performance.now();
        return c.store.highWaterMarks()[a.deviceId] === entries;
      },
      120_000,
      "C to hold every entry",
    );
    const done = performance.now();
    const onC = c.store.listRows("links").length;
    if (onC !== LINKS) throw new Error(`C has ${onC} links, expected ${LINKS}`);
    return { seconds: (done - start) / 1000, writeSeconds: (written - start) / 1000, atB: (atB - start) / 1000 };
  } finally {
    for (const p of peers) {
      await p.node.stop();
      p.store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

interface GunChain {
  get(key: string): GunChain;
  put(value: Record<string, unknown>, ack?: () => void): GunChain;
  map(): GunChain;
  on(fn: (data: unknown, key: string) => void): GunChain;
}

/** Runs in the child process: prints one JSON line with the result. */
async function gunChild(): Promise<void> {
  const { default: Gun } = (await import("gun")) as unknown as {
    default: (opts: Record<string, unknown>) => GunChain;
  };
  const dir = mkdtempSync(join(tmpdir(), "pn-bench-gun-"));
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const common = { localStorage: false, multicast: false, axe: false, log() {} };
  const relay = Gun({ ...common, web: server, file: join(dir, "relay"), radisk: true });
  const client = Gun({ ...common, peers: [`http://127.0.0.1:${port}/gun`], file: join(dir, "client"), radisk: false });
  const seen = new Set<string>();
  relay
    .get("links")
    .map()
    .on((data, key) => {
      if (data) seen.add(key);
    });
  // Let the client's websocket come up, as the libp2p chain is connected before its clock starts.
  await new Promise((r) => setTimeout(r, 1000));
  const start = performance.now();
  const links = client.get("links");
  let acked = 0;
  for (let i = 0; i < LINKS; i++) {
    links
      .get(`link-${i}`)
      .put(
        { url: `https://example.org/${i}`, kind: "web", title: `Link number ${i}`, createdAt: 1_700_000_000_000 + i },
        () => acked++,
      );
    while (i + 1 - acked >= GUN_WINDOW && performance.now() - start < GUN_LIMIT_MS) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  while (seen.size < LINKS && performance.now() - start < GUN_LIMIT_MS) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, seen: seen.size })}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

function gun(): { seconds: number; seen: number } | { error: string } {
  const child = spawnSync(process.execPath, ["--max-old-space-size=2048", new URL(import.meta.url).pathname, "--gun"], {
    encoding: "utf8",
    timeout: GUN_LIMIT_MS + 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = child.stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line)
    return { error: `Gun run failed (status ${child.status}, signal ${child.signal}): ${child.stderr.slice(-400)}` };
  return JSON.parse(line) as { seconds: number; seen: number };
}

if (process.argv[2] === "--gun") {
  await gunChild();
} else {
  console.log(`load average before: ${load()}`);
  const results: number[] = [];
  for (const mode of MODES) {
    const alone = writesAlone(mode);
    const ours = await perpetuaNet(mode);
    results.push(ours.seconds);
    console.log(
      `PerpetuaNet P2P (A -> B -> C), ${mode.name}: ${LINKS} links (${LINKS * 4} entries) on C in ` +
        `${ours.seconds.toFixed(2)} s = ${Math.round(LINKS / ours.seconds)} links/s ` +
        `(writes on A took ${ours.writeSeconds.toFixed(2)} s, all on B at ${ours.atB.toFixed(2)} s; ` +
        `the same writes with no node: ${alone.toFixed(2)} s)`,
    );
  }
  console.log(`load average after PerpetuaNet: ${load()}`);
  const theirs = gun();
  if ("error" in theirs) {
    console.log(theirs.error);
  } else if (theirs.seen < LINKS) {
    console.log(
      `Gun.js (client -> relay): only ${theirs.seen} of ${LINKS} links visible after ${theirs.seconds.toFixed(0)} s (gave up)`,
    );
  } else {
    console.log(
      `Gun.js (client -> relay, ${GUN_WINDOW} puts in flight): ${LINKS} links visible in ${theirs.seconds.toFixed(2)} s ` +
        `= ${Math.round(LINKS / theirs.seconds)} links/s`,
    );
    for (const [i, mode] of MODES.entries()) {
      const ratio = theirs.seconds / results[i]!;
      console.log(`ratio: Gun.js took ${ratio.toFixed(1)}x as long as PerpetuaNet P2P over two hops (${mode.name})`);
    }
  }
  console.log(`load average after: ${load()}`);
}
