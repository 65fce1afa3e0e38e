import { describe, expect, it } from "vitest";
import { useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

describe("P2P multi-hop sync", () => {
  it("carries writes from A to C through B, also those made while B was down", async () => {
    const m = mesh();
    const [a, b, c] = await m.addAll("a", "b", "c");
    await a.connect(b);
    await c.connect(b);

    a.writeLink("l1", "written on A");
    await waitFor(() => c.hasLink("l1"), 5000, "A's link to reach C");
    expect(c.store.getRow("links", "l1")?.title).toBe("written on A");

    // B goes down; A keeps writing. B comes back on a new port and finds A and C from its node table.
    await b.stop();
    a.writeLink("l2", "written while B was down");
    a.writeLink("l3", "also while B was down");
    expect(c.hasLink("l2")).toBe(false);
    await b.start();
    await waitFor(() => c.hasLink("l2") && c.hasLink("l3"), 8000, "entries written while B was down to reach C");
    expect(b.linkIds()).toEqual(["l1", "l2", "l3"]);
    expect(c.store.highWaterMarks()[a.deviceId]).toBe(a.store.highWaterMarks()[a.deviceId]);

    // A and C only ever talked through B.
    expect(a.node.connectedPeers()).not.toContain(c.peerId);
    expect(c.node.connectedPeers()).not.toContain(a.peerId);
    expect(a.store.listPeers().map((p) => p.peerId)).toEqual([b.peerId]);
    expect(c.store.listPeers().map((p) => p.peerId)).toEqual([b.peerId]);
    expect([a, b, c].flatMap((p) => p.warnings())).toEqual([]);
  });
});
