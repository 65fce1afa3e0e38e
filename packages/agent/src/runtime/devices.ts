/**
 * The account's PCs. Each PC writes its own `devices` row (name, libp2p peer id, public key, addresses);
 * the rows sync like any data, so the trust list for peer connections is available offline. A
 * revocation is a synced `revoked` flag (peers refuse the PC at once) and, when online, a revocation
 * on the server (which then refuses its API calls).
 */
import type { DeviceView } from "@perpetuanet/core";
import type { LocalStore, PeerRecord } from "../store/index.ts";
import { NotFoundError, UserInputError } from "./errors.ts";
import type { LocalWriter } from "./local-writer.ts";
import type { ServerDevice } from "./server-client.ts";

export interface SelfDescription {
  name: string;
  peerId: string;
  publicKey: string;
  addresses: string[];
}

/** Revocations made while the server was unreachable, sent when it is back. */
const PENDING_REVOCATIONS_META = "devices.pendingRevocations";

export class Devices {
  private readonly store: LocalStore;
  private readonly writer: LocalWriter;

  constructor(store: LocalStore, writer: LocalWriter) {
    this.store = store;
    this.writer = writer;
  }

  get selfId(): string {
    return this.writer.deviceId;
  }

  /** Writes this PC's row where it differs from what it should say. */
  describeSelf(self: SelfDescription): void {
    const row = this.store.getRow("devices", this.selfId);
    const values: Record<string, unknown> = {};
    if (row?.name !== self.name) values.name = self.name;
    if (row?.peerId !== self.peerId) values.peerId = self.peerId;
    if (row?.publicKey !== self.publicKey) values.publicKey = self.publicKey;
    if (JSON.stringify(row?.addresses ?? null) !== JSON.stringify(self.addresses)) values.addresses = self.addresses;
    if (row?.trusted === undefined) values.trusted = true;
    if (row?.revoked === undefined) values.revoked = false;
    if (row?.deleted === undefined) values.deleted = false;
    if (Object.keys(values).length === 0) return;
    values.lastSeen = Date.now();
    this.writer.write("devices", this.selfId, values);
  }

  isSelfRevoked(): boolean {
    return this.store.getRow("devices", this.selfId)?.revoked === true;
  }

  /** Peer id -> device for every other PC of the account that may connect. */
  trustedPeers(): Map<string, { deviceId: string; addresses: string[] }> {
    const out = new Map<string, { deviceId: string; addresses: string[] }>();
    for (const d of this.store.listRows("devices")) {
      if (d.id === this.selfId || !d.peerId || d.revoked || d.trusted === false) continue;
      out.set(d.peerId, { deviceId: d.id, addresses: d.addresses ?? [] });
    }
    return out;
  }

  /** Folds the server's device list into the synced table: devices not seen yet, and revocations. */
  reconcile(serverDevices: ServerDevice[]): void {
    const rows = [];
    for (const d of serverDevices) {
      const row = this.store.getRow("devices", d.deviceId);
      if (!row) {
        rows.push({
          table: "devices" as const,
          rowId: d.deviceId,
          values: {
            name: d.name,
            peerId: d.peerId,
            publicKey: d.publicKey,
            addresses: d.addresses,
            trusted: !d.revoked,
            revoked: d.revoked,
            lastSeen: Date.parse(d.lastSeen) || 0,
            deleted: false,
          },
        });
      } else if (d.revoked && !row.revoked) {
        rows.push({ table: "devices" as const, rowId: d.deviceId, values: { revoked: true, trusted: false } });
      }
    }
    this.writer.writeRows(rows);
  }

  revoke(deviceId: string): void {
    if (deviceId === this.selfId) {
      throw new UserInputError("this PC cannot revoke itself: revoke it from another PC, or log out here");
    }
    const row = this.store.getRow("devices", deviceId);
    if (!row || row.deleted) throw new NotFoundError(`no device ${deviceId}`);
    if (!row.revoked) this.writer.write("devices", deviceId, { revoked: true, trusted: false });
    const pending = new Set(this.pendingRevocations());
    pending.add(deviceId);
    this.store.setMeta(PENDING_REVOCATIONS_META, JSON.stringify([...pending]));
  }

  pendingRevocations(): string[] {
    return JSON.parse(this.store.getMeta(PENDING_REVOCATIONS_META) ?? "[]") as string[];
  }

  revocationSent(deviceId: string): void {
    const left = this.pendingRevocations().filter((id) => id !== deviceId);
    this.store.setMeta(PENDING_REVOCATIONS_META, JSON.stringify(left));
  }

  list(connectedPeerIds: ReadonlySet<string>): DeviceView[] {
    const peers = new Map<string, PeerRecord>();
    for (const p of this.store.listPeers()) peers.set(p.peerId, p);
    return this.store
      .listRows("devices")
      .map((d): DeviceView => {
        const peer = d.peerId ? peers.get(d.peerId) : undefined;
        const self = d.id === this.selfId;
        return {
          id: d.id,
          name: d.name ?? d.id,
          peerId: d.peerId ?? null,
          thisDevice: self,
          trusted: d.trusted !== false && !d.revoked,
          revoked: d.revoked === true,
          connected: self || (d.peerId ? connectedPeerIds.has(d.peerId) : false),
          addresses: peer?.addresses.length ? peer.addresses : (d.addresses ?? []),
          lastSeen: self ? Date.now() : (peer?.lastSeen ?? d.lastSeen ?? null),
          lastSync: peer?.lastSync ?? null,
          failures: peer?.failures ?? 0,
        };
      })
      .sort((a, b) => Number(b.thisDevice) - Number(a.thisDevice) || a.name.localeCompare(b.name));
  }

  name(deviceId: string): string | null {
    return this.store.getRow("devices", deviceId)?.name ?? null;
  }
}
