import { describe, expect, it } from "vitest";
import { useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

describe("P2P multi-hop sync", () => {
  it("carries a write from A to C through B when A and C never meet", async () => {
    const m = mesh();
    const [a, b, c] = [await m.add("a"), await m.add("b"), await m.add("c")];
    await a.dial(b);
    await c.dial(b);
    await a.waitConnected(b);
    await c.waitConnected(b);

    a.writeLink("l1", "written on A");
    await waitFor(() => c.hasLink("l1"), 5000, "A's link to reach C");
    expect(c.store.getRow("links", "l1")?.title).toBe("written on A");
    expect(a.node.connectedPeers()).not.toContain(c.peerId);
    expect(c.node.connectedPeers()).not.toContain(a.peerId);
  });
});
