import { type ChangeMessage, encryptChange, formatHlc } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import type { LoggedMessage } from "../../src/store/index.ts";
import { type TestPeer, useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

/** Seqs 1..count of a device that is not in the mesh (its entries reach peers through the server). */
function originEntries(dataKey: Buffer, origin: string, count: number): LoggedMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = i + 1;
    const change: ChangeMessage = {
      table: "links",
      rowId: `${origin}-${seq}`,
      column: "title",
      value: `entry ${seq} of ${origin}`,
      hlc: formatHlc({ millis: 1_700_000_000_000 + seq, counter: 0, deviceId: origin }),
    };
    return { origin, seq, hlc: change.hlc, data: encryptChange(dataKey, change, seq).data, change };
  });
}

/** What the runtime does after a server pull: apply, then hand the fresh entries to the node. */
function pullFromServer(peer: TestPeer, entries: LoggedMessage[]): void {
  peer.node.broadcast(peer.store.applyLogged(entries, { serverAcked: true }));
}

describe("P2P out-of-order arrival", () => {
  it("loses nothing when an origin's seqs arrive out of order through two peers", async () => {
    const m = mesh();
    const [p1, p2, r, s] = await m.addAll("p1", "p2", "r", "s");
    await s.connect(r);
    const late = originEntries(m.dataKey, "pc0ffline", 60);
    const mixed = originEntries(m.dataKey, "pc0ther0", 40);
    // P1 got the second half of one origin and the odd seqs of another; P2 the rest.
    pullFromServer(p1, [...late.slice(30), ...mixed.filter((e) => e.seq % 2 === 1)]);
    pullFromServer(p2, [...late.slice(0, 30), ...mixed.filter((e) => e.seq % 2 === 0)]);

    await r.dial(p1);
    await waitFor(() => r.store.listRows("links").length === 50, 5000, "R to get P1's entries");
    // R (and S through it) now hold seqs 31..60 above a gap: their contiguous mark has not moved.
    expect(r.store.highWaterMarks().pc0ffline).toBeUndefined();
    await waitFor(() => s.store.listRows("links").length === 50, 5000, "S to get P1's entries through R");
    expect(s.store.highWaterMarks().pc0ffline).toBeUndefined();

    await r.dial(p2);
    for (const peer of [p1, p2, r, s]) {
      await waitFor(
        () => {
          const marks = peer.store.highWaterMarks();
          return marks.pc0ffline === 60 && marks.pc0ther0 === 40;
        },
        8000,
        () => `${peer.name} to hold every seq (marks ${JSON.stringify(peer.store.highWaterMarks())})`,
      );
      expect(peer.store.listRows("links").length, peer.name).toBe(100);
    }
    // Pulled entries stay acknowledged where they came from the server, pending where they came from peers.
    expect(p1.store.countPendingForServer()).toBe(50);
    expect(s.store.countPendingForServer()).toBe(100);
    expect([p1, p2, r, s].flatMap((p) => p.warnings())).toEqual([]);
  });
});
