import { randomKey } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import { succeeds, type TestPeer, useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

/**
 * `from` tries to connect to `to`, which refuses. The dialler may finish its half of the handshake before
 * the refusal reaches it, so what counts is that no connection stays up on either side.
 */
async function attemptRefused(from: TestPeer, to: TestPeer): Promise<void> {
  await succeeds(from.dial(to));
  await waitFor(
    () => !from.node.connectedPeers().includes(to.peerId) && !to.node.connectedPeers().includes(from.peerId),
    5000,
    `${to.name} to refuse ${from.name}`,
  );
}

describe("P2P trust", () => {
  it("keeps a device of another account out even when its peer id is in the trust list", async () => {
    const m = mesh();
    const a = await m.add("a");
    // Registered in A's devices table, so only the private network key (derived from the data key) stops it.
    const stranger = await m.add("x", { dataKey: randomKey() });
    a.writeLink("mine", "account A's link");
    stranger.writeLink("theirs", "the stranger's link");

    expect(await succeeds(stranger.dial(a))).toBe(false);
    expect(await succeeds(a.dial(stranger))).toBe(false);
    expect(a.node.connectedPeers()).toEqual([]);
    expect(stranger.node.connectedPeers()).toEqual([]);
    expect(a.store.listPeers().every((p) => p.lastSeen === null)).toBe(true);
    expect(a.linkIds()).toEqual(["mine"]);
    expect(stranger.linkIds()).toEqual(["theirs"]);
  });

  it("refuses a device of the same account that is not in the trust list, both ways", async () => {
    const m = mesh();
    const a = await m.add("a");
    const outsider = await m.add("n", {
      register: false,
      trustedPeers: () => new Map([[a.peerId, { deviceId: a.deviceId, addresses: [] }]]),
    });
    a.writeLink("mine", "A's link");
    outsider.writeLink("theirs", "outsider's link");

    expect(await succeeds(a.dial(outsider))).toBe(false);
    expect(a.logs).toContain(`debug: p2p: refused dialling ${outsider.peerId}`);
    await attemptRefused(outsider, a);
    expect(a.logs).toContain(`debug: p2p: refused an inbound connection from ${outsider.peerId}`);
    // A never admitted a connection: its node table would hold the outsider otherwise.
    expect(a.store.listPeers().map((p) => p.peerId)).not.toContain(outsider.peerId);
    expect(a.linkIds()).toEqual(["mine"]);
    expect(outsider.linkIds()).toEqual(["theirs"]);
  });

  it("hangs up on a revoked device and refuses it afterwards; it learns nothing new", async () => {
    const m = mesh();
    const [a, b, r] = await m.addAll("a", "b", "r");
    await a.connect(b);
    await r.connect(a);
    a.writeLink("before", "written before the revocation");
    await waitFor(() => r.hasLink("before") && b.hasLink("before"), 5000, "R and B to sync before the revocation");

    // The revocation reaches A's and B's devices tables; R still lists them as trusted.
    a.distrusted.add(r.peerId);
    b.distrusted.add(r.peerId);
    a.node.refreshTrust();
    b.node.refreshTrust();
    await waitFor(
      () => !a.node.connectedPeers().includes(r.peerId) && !r.node.connectedPeers().includes(a.peerId),
      5000,
      "A to hang up on R",
    );

    a.writeLink("after", "written after the revocation");
    r.writeLink("from-r", "written by the revoked device");
    await waitFor(() => b.hasLink("after"), 5000, "B to keep syncing with A");
    expect(await succeeds(a.dial(r))).toBe(false);
    await attemptRefused(r, a);
    await attemptRefused(r, b);
    expect(a.logs).toContain(`debug: p2p: refused an inbound connection from ${r.peerId}`);
    expect(a.node.connectedPeers()).toEqual([b.peerId]);

    expect(r.hasLink("after")).toBe(false);
    expect(a.hasLink("from-r")).toBe(false);
    expect(b.hasLink("from-r")).toBe(false);
  });
});
