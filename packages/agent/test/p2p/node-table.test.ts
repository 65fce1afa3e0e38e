import { describe, expect, it } from "vitest";
import { LocalStore } from "../../src/store/index.ts";
import { useMesh, waitFor } from "../helpers/p2p-mesh.ts";
import { freePort } from "../helpers/torrent-external.ts";

const mesh = useMesh();

describe("P2P node table", () => {
  it("survives a restart and is what the node redials from", async () => {
    const m = mesh();
    const port = await freePort();
    const b = await m.add("b", { listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    // The devices table carries no addresses here: after the restart only the node table knows where B is.
    const a = await m.add("a", { redialIntervalMs: 150 });
    await a.dial(b);
    await waitFor(
      () => a.store.listPeers().find((p) => p.peerId === b.peerId)?.lastSync,
      5000,
      "A to record a completed exchange with B",
    );
    await a.stop();
    await b.stop();

    const reopened = LocalStore.open({ path: a.dbPath, key: a.dbKey });
    const [record] = reopened.listPeers();
    reopened.close();
    expect(record).toMatchObject({ peerId: b.peerId, deviceId: b.deviceId, failures: 0 });
    expect(record?.addresses).toContain(`/ip4/127.0.0.1/tcp/${port}/p2p/${b.peerId}`);
    expect(record?.lastSeen).toBeGreaterThan(0);
    expect(record?.lastSync).toBeGreaterThan(0);

    // A comes back while B is down: its redials fail and are counted.
    await a.start();
    await waitFor(() => (a.store.listPeers()[0]?.failures ?? 0) >= 1, 5000, "A to count a failed redial of B");

    // B returns on its address (with a new write); A finds it on its own and syncs.
    await b.start();
    b.writeLink("back", "written when B came back");
    await waitFor(() => a.hasLink("back"), 8000, "A to redial B from its node table and sync");
    await waitFor(() => a.store.listPeers()[0]?.failures === 0, 5000, "the failure count to reset on connect");
    expect([a, b].flatMap((p) => p.warnings())).toEqual([]);
  });

  it("dials trusted devices at the addresses of their device records, with an empty node table", async () => {
    const m = mesh();
    const b = await m.add("b");
    b.writeLink("l1", "on B before A existed");
    // What the devices table says about B once B has published its addresses.
    m.devices.set(b.peerId, { deviceId: b.deviceId, addresses: b.node.addresses() });
    const a = await m.add("a");
    expect(a.store.listPeers()).toEqual([]);
    await a.waitConnected(b);
    await waitFor(() => a.hasLink("l1"), 5000, "A to sync with B");
  });
});
