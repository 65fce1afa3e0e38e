import { randomBytes } from "node:crypto";
import { type ChangeMessage, encryptChange, formatHlc } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import { useMesh, waitFor } from "../helpers/p2p-mesh.ts";
import { RoguePeer, rawFrame, varint } from "../helpers/p2p-rogue.ts";

const mesh = useMesh();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("P2P misbehaving peers", () => {
  it("drops a peer that sends junk, refuses it for a while, and keeps syncing with the others", async () => {
    const m = mesh();
    const [a, b] = await m.addAll("a", "b");
    await a.connect(b);
    a.writeLink("l1", "original title");
    await waitFor(() => b.hasLink("l1"), 5000, "B to get l1");

    // Same (origin, seq) as A's first entry, validly sealed with the account key, but another timestamp.
    const forged: ChangeMessage = {
      table: "links",
      rowId: "l1",
      column: "title",
      value: "forged",
      hlc: formatHlc({ millis: Date.now() + 1000, counter: 0, deviceId: a.deviceId }),
    };
    const cases: Array<{ name: string; bytes: Uint8Array; reason: RegExp }> = [
      { name: "malformed frame", bytes: rawFrame("{not json"), reason: /ProtocolError: frame is not JSON/ },
      {
        name: "unknown frame type",
        bytes: rawFrame(JSON.stringify({ t: "gimme", all: true })),
        reason: /ProtocolError: unknown frame type/,
      },
      {
        name: "garbage envelope",
        bytes: rawFrame(
          JSON.stringify({
            t: "entries",
            entries: [{ hlc: forged.hlc, seq: 7, data: randomBytes(64).toString("base64") }],
          }),
        ),
        reason: /BadEnvelopeError/,
      },
      {
        name: "oversize frame",
        bytes: concat([varint(5 * 1024 * 1024), new Uint8Array(4096)]),
        reason: /ProtocolError: frame of 5242880 bytes exceeds the 4194304 byte limit/,
      },
      {
        name: "conflicting entry",
        bytes: rawFrame(JSON.stringify({ t: "entries", entries: [encryptChange(m.dataKey, forged, 1)] })),
        reason: /InvalidEntryError: conflicting message/,
      },
      {
        name: "frame flood",
        bytes: concat(Array.from({ length: 20_000 }, () => rawFrame('{"t":"caughtUp"}'))),
        reason: /ProtocolError: frame rate over the bound/,
      },
    ];

    const rogues: RoguePeer[] = [];
    try {
      for (const [i, c] of cases.entries()) {
        const rogue = await RoguePeer.start(m.dataKey);
        rogues.push(rogue);
        m.devices.set(rogue.peerId, { deviceId: `rogue${i}000`, addresses: [] });
        a.node.refreshTrust();
        const { stream } = await rogue.open(a.node.addresses()[0]!);
        stream.send(c.bytes);

        await waitFor(
          () => !rogue.isConnectedTo(a.peerId) && !a.node.connectedPeers().includes(rogue.peerId),
          5000,
          `A to drop the peer sending a ${c.name}`,
        );
        const warning = a.warnings().find((w) => w.includes(rogue.peerId));
        expect(warning, c.name).toMatch(c.reason);
        expect(a.store.listPeers().find((p) => p.peerId === rogue.peerId)?.failures, c.name).toBe(1);

        b.writeLink(`after${i}`, `written by B after the ${c.name}`);
        a.writeLink(`froma${i}`, `written by A after the ${c.name}`);
        await waitFor(() => a.hasLink(`after${i}`) && b.hasLink(`froma${i}`), 5000, `A and B to sync after ${c.name}`);
      }

      // Nothing the rogues sent was applied.
      expect(a.store.getRow("links", "l1")?.title).toBe("original title");
      expect(Object.keys(a.store.highWaterMarks()).sort()).toEqual([a.deviceId, b.deviceId].sort());

      // A banned peer is refused when it comes back.
      const banned = rogues[0]!;
      await banned.open(a.node.addresses()[0]!).catch(() => undefined);
      await waitFor(() => !banned.isConnectedTo(a.peerId), 5000, "A to refuse the banned peer");
      expect(a.logs).toContain(`debug: p2p: refused an inbound connection from ${banned.peerId}`);
      expect(a.node.connectedPeers()).toEqual([b.peerId]);
    } finally {
      await Promise.all(rogues.map((r) => r.stop()));
    }
  });
});
