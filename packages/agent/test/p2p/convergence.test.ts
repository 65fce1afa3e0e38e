import { cellKey, type JsonValue } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import type { LoggedMessage } from "../../src/store/index.ts";
import { type TestPeer, useMesh, waitFor } from "../helpers/p2p-mesh.ts";

const mesh = useMesh();

/** Small seeded PRNG (mulberry32) so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROWS = ["r1", "r2", "r3", "r4"];

describe("P2P convergence", () => {
  const seed = Number(process.env.P2P_SEED ?? 20250801);
  it(`converges after concurrent edits while links go up and down (seed ${seed})`, async () => {
    const rand = random(seed);
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
    const m = mesh();
    const peers = await m.addAll("a", "b", "c");
    const pairs: Array<[TestPeer, TestPeer]> = [
      [peers[0]!, peers[1]!],
      [peers[1]!, peers[2]!],
      [peers[0]!, peers[2]!],
    ];
    const written: LoggedMessage[] = [];
    const connected = (x: TestPeer, y: TestPeer) => x.node.connectedPeers().includes(y.peerId);
    let partitionedWrites = 0;

    for (let step = 0; step < 60; step++) {
      const roll = rand();
      if (roll < 0.6) {
        const peer = pick(peers);
        const row = pick(ROWS);
        if (pairs.some(([x, y]) => !connected(x, y))) partitionedWrites++;
        written.push(
          ...(rand() < 0.5
            ? peer.writeRow("links", row, { title: `${peer.name}-${step}` })
            : peer.writeRow("links", row, { title: `${peer.name}-${step}`, tags: [`t${step}`], notes: `n${step}` })),
        );
      } else {
        const [x, y] = pick(pairs);
        if (connected(x, y)) await x.node.hangUp(y.peerId);
        else await x.dial(y);
      }
      // Let frames flow between steps, so edits race with exchanges instead of all preceding them.
      await new Promise((resolve) => setImmediate(resolve));
    }

    // The seed must actually have produced edits on partitioned nodes.
    expect(partitionedWrites).toBeGreaterThan(10);
    for (const [x, y] of pairs) if (!connected(x, y)) await x.dial(y);
    await waitFor(
      () => new Set(peers.map((p) => p.store.tableHash())).size === 1,
      15_000,
      () => `equal table hashes (logs ${peers.map((p) => JSON.stringify(p.store.highWaterMarks())).join(" ")})`,
    );

    // Equal, and equal to last-writer-wins over everything that was written anywhere.
    const winners = new Map<string, { hlc: string; value: JsonValue }>();
    for (const e of written) {
      const key = cellKey(e.change.table, e.change.rowId, e.change.column);
      const best = winners.get(key);
      if (!best || e.hlc > best.hlc) winners.set(key, { hlc: e.hlc, value: e.change.value });
    }
    for (const peer of peers) {
      for (const row of ROWS) {
        const stored = peer.store.getRow("links", row) as Record<string, JsonValue> | undefined;
        for (const column of ["title", "tags", "notes"]) {
          expect(stored?.[column], `${peer.name} ${row}.${column}`).toEqual(
            winners.get(cellKey("links", row, column))?.value,
          );
        }
      }
      expect(peer.warnings()).toEqual([]);
      const marks = peer.store.highWaterMarks();
      for (const origin of peers) {
        expect(marks[origin.deviceId] ?? 0).toBe(written.filter((e) => e.origin === origin.deviceId).length);
      }
    }
  });
});
