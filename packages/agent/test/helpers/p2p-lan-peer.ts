/**
 * One P2P peer in a process of its own, so that a test can put it on a network host (namespace) of
 * its own: `ip netns exec <ns> node p2p-lan-peer.ts`. Configured by the PN_LAN_PEER environment
 * variable (JSON, `LanPeerConfig`); writes one link as itself at start; reports on stdout as JSON
 * lines (`LanPeerReport`, on every change and every 250 ms); stops its node and closes its store when stdin closes.
 */

import type { PeerRecord } from "../../src/store/index.ts";
import { deviceIdOf, TestMesh, TestPeer } from "./p2p-mesh.ts";

export interface LanPeerConfig {
  name: string;
  dir: string;
  /** Account data key (hex): peers of one account share it, and with it the private-network key. */
  dataKey: string;
  /** libp2p private key (hex of the protobuf encoding). */
  privateKey: string;
  /** The devices this peer trusts: [peerId, name]. No addresses: only mDNS can tell where they are. */
  trusted: Array<[string, string]>;
}

export interface LanPeerReport {
  event: "ready" | "state";
  peerId: string;
  connected: string[];
  links: string[];
  nodeTable: PeerRecord[];
  warnings: string[];
}

const cfg = JSON.parse(process.env.PN_LAN_PEER ?? "null") as LanPeerConfig;
const mesh = new TestMesh(() => cfg.dir, Buffer.from(cfg.dataKey, "hex"));
for (const [peerId, name] of cfg.trusted) mesh.devices.set(peerId, { deviceId: deviceIdOf(name), addresses: [] });
const peer = new TestPeer(mesh, cfg.name, cfg.dir, Buffer.from(cfg.privateKey, "hex"), {
  mdns: true,
  listen: ["/ip4/0.0.0.0/tcp/0"],
  // No redial pass after the one at start: with empty device addresses and node table it has nothing to dial.
  redialIntervalMs: 3_600_000,
});
await peer.start();

const report = (event: LanPeerReport["event"]) => {
  const line: LanPeerReport = {
    event,
    peerId: peer.peerId,
    connected: peer.node.connectedPeers(),
    links: peer.linkIds(),
    nodeTable: peer.store.listPeers(),
    warnings: peer.warnings(),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};
peer.node.on("peers", () => report("state"));
peer.node.on("applied", () => report("state"));
peer.writeLink(`from-${cfg.name}`, `written on ${cfg.name}`);
report("ready");
// Failed dials raise no event; a regular report shows them in the node table.
const heartbeat = setInterval(() => report("state"), 250);

process.stdin.resume();
process.stdin.on("end", () => {
  clearInterval(heartbeat);
  peer.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
