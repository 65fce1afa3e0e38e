import { describe, expect, it } from "vitest";
import { useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

describe("P2P bulk sync", () => {
  it("moves a backlog far larger than the stream window, in both directions and on to a third peer", async () => {
    const m = mesh();
    const [a, b, c] = await m.addAll("a", "b", "c");
    // Several MiB each way: the sender hits back pressure many times, in the catch-up and in pushes.
    const notes = "n".repeat(600);
    for (let i = 0; i < 1500; i++) a.writeRow("links", `a${i}`, { title: `from A ${i}`, notes });
    for (let i = 0; i < 1500; i++) b.writeRow("links", `b${i}`, { title: `from B ${i}`, notes });
    await c.dial(b);
    await a.dial(b);
    for (let i = 0; i < 1500; i++) a.writeRow("links", `p${i}`, { title: `pushed ${i}`, notes });

    for (const peer of [a, b, c]) {
      await waitFor(() => peer.store.listRows("links").length === 4500, 20_000, `${peer.name} to hold all 4,500 links`);
    }
    expect(new Set([a, b, c].map((p) => p.store.tableHash())).size).toBe(1);
    // Honest traffic at this volume stays within every bound: nobody was dropped.
    expect([a, b, c].flatMap((p) => p.warnings())).toEqual([]);
  });
});
