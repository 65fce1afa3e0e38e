/**
 * mDNS on a LAN: PCs whose node tables are empty and whose device records carry no addresses find
 * each other by multicast DNS alone and sync; a PC of another account on the same LAN is found too,
 * but cannot connect. The LAN is a veth link between two network namespaces (multicast stays inside
 * it), and every peer is a process of its own (`test/helpers/p2p-lan-peer.ts`). Needs root and iproute2.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomKey } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import { generatePeerKey, peerIdFromKey } from "../../src/p2p/index.ts";
import { Network, netnsAvailable } from "../helpers/netns.ts";
import type { LanPeerConfig, LanPeerReport } from "../helpers/p2p-lan-peer.ts";
import { useCleanups, useTempDirs } from "../helpers/temp-dirs.ts";

const PEER_SCRIPT = new URL("../helpers/p2p-lan-peer.ts", import.meta.url).pathname;
const tempDir = useTempDirs("pn-mdns-");
const cleanups = useCleanups();

interface LanPeer {
  name: string;
  peerId: string;
  latest(): LanPeerReport | undefined;
  until(what: string, check: (r: LanPeerReport) => boolean, timeoutMs: number): Promise<LanPeerReport>;
}

async function identity(name: string) {
  const key = await generatePeerKey();
  return { name, key, peerId: peerIdFromKey(key) };
}

function startPeer(
  netns: string,
  me: { name: string; key: Uint8Array; peerId: string },
  dataKey: Buffer,
  trusted: Array<{ name: string; peerId: string }>,
): LanPeer {
  const config: LanPeerConfig = {
    name: me.name,
    dir: tempDir(),
    dataKey: dataKey.toString("hex"),
    privateKey: Buffer.from(me.key).toString("hex"),
    trusted: trusted.map((t) => [t.peerId, t.name]),
  };
  const child: ChildProcess = spawn("ip", ["netns", "exec", netns, process.execPath, PEER_SCRIPT], {
    env: { ...process.env, PN_LAN_PEER: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      }),
  );
  let latest: LanPeerReport | undefined;
  let stderr = "";
  let buffered = "";
  const waiters = new Set<() => void>();
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-10_000);
  });
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      latest = JSON.parse(buffered.slice(0, nl)) as LanPeerReport;
      buffered = buffered.slice(nl + 1);
    }
    for (const wake of waiters) wake();
  });
  child.once("exit", () => {
    for (const wake of waiters) wake();
  });
  return {
    name: me.name,
    peerId: me.peerId,
    latest: () => latest,
    until: (what, check, timeoutMs) =>
      new Promise((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(test);
          if (error) reject(error);
          else resolve(latest!);
        };
        const test = () => {
          if (latest && check(latest)) return done();
          if (child.exitCode !== null || child.signalCode !== null) {
            done(new Error(`peer ${me.name} exited while waiting for ${what}:\n${stderr}`));
          }
        };
        const timer = setTimeout(
          () =>
            done(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}; last report ${JSON.stringify(latest)}\n${stderr}`,
              ),
            ),
          timeoutMs,
        );
        waiters.add(test);
        test();
      }),
  };
}

describe.skipIf(!netnsAvailable())("P2P discovery by mDNS on a LAN", () => {
  it("finds the account's other PC with no known address and syncs; another account's PC on the LAN gets nowhere", async () => {
    const net = new Network();
    cleanups.push(() => net.destroy());
    const lan = net.connect("a", "b", { multicast: true });
    const account = randomKey();
    const [a, b, stranger] = await Promise.all([identity("a"), identity("b"), identity("x")]);

    const peerA = startPeer(net.host("a"), a, account, [b]);
    await peerA.until("A to start", (r) => r.event === "ready" || r.event === "state", 15_000);
    // Another account's PC next to B that even lists A and B as its devices: the pre-shared key still differs.
    const peerX = startPeer(net.host("b"), stranger, randomKey(), [a, b]);
    const peerB = startPeer(net.host("b"), b, account, [a]);

    const bothLinks = (r: LanPeerReport) => r.links.includes("from-a") && r.links.includes("from-b");
    await peerA.until("B's link on A", bothLinks, 20_000);
    await peerB.until("A's link on B", bothLinks, 20_000);
    // A learned where B is from mDNS alone, and keeps it in its node table for later redials.
    const tableOnA = peerA.latest()!.nodeTable.find((p) => p.peerId === b.peerId);
    expect(tableOnA?.addresses.some((addr) => addr.includes(`/ip4/${lan.addresses.b}/tcp/`))).toBe(true);

    // X found A on the LAN too and dialled it (A is in its device list), and the handshake failed.
    await peerX.until(
      "X to find A by mDNS and fail to connect",
      (r) => r.nodeTable.some((p) => p.peerId === a.peerId && p.failures > 0),
      20_000,
    );
    for (const p of [peerA, peerB]) {
      const r = p.latest()!;
      expect(r.connected).toEqual([p === peerA ? b.peerId : a.peerId]);
      expect(r.links.sort()).toEqual(["from-a", "from-b"]);
      expect(r.nodeTable.map((n) => n.peerId)).not.toContain(stranger.peerId);
      expect(r.warnings).toEqual([]);
    }
    expect(peerX.latest()!.links).toEqual(["from-x"]);
    expect(peerX.latest()!.connected).toEqual([]);
  });
});
