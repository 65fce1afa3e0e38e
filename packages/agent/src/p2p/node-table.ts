/**
 * The node table lives in the store (store.upsertPeer/listPeers) so that a restarted agent knows where
 * its peers were. An in-memory copy avoids re-reading it, because upsertPeer replaces the address list.
 */
import type { LocalStore, PeerRecord } from "../store/index.ts";
import { mergeAddresses } from "./addresses.ts";
import type { P2PLogger } from "./types.ts";

export class NodeTable {
  private readonly store: LocalStore;
  private readonly logger: P2PLogger;
  private readonly peers = new Map<string, PeerRecord>();

  constructor(store: LocalStore, logger: P2PLogger) {
    this.store = store;
    this.logger = logger;
    try {
      for (const peer of store.listPeers()) this.peers.set(peer.peerId, peer);
    } catch (error) {
      logger.warn("p2p: could not read the node table", error);
    }
  }

  get(peerId: string): PeerRecord | undefined {
    return this.peers.get(peerId);
  }

  addresses(peerId: string): string[] {
    return this.peers.get(peerId)?.addresses ?? [];
  }

  /** A connection opened: the dialled address (outbound only; inbound ones come from ephemeral ports) goes first. */
  recordConnect(peerId: string, deviceId: string | null, dialledAddress?: string): void {
    const current = this.current(peerId, deviceId);
    const addresses = mergeAddresses(peerId, dialledAddress ? [dialledAddress] : [], current.addresses);
    this.write({ ...current, addresses, lastSeen: Date.now(), failures: 0 });
  }

  /** The listen addresses the peer announced (identify). */
  recordListenAddresses(peerId: string, deviceId: string | null, listen: string[]): void {
    const current = this.current(peerId, deviceId);
    const addresses = mergeAddresses(peerId, listen, current.addresses);
    if (addresses.join(" ") !== current.addresses.join(" ")) this.write({ ...current, addresses });
  }

  recordSync(peerId: string, deviceId: string | null): void {
    const now = Date.now();
    this.write({ ...this.current(peerId, deviceId), lastSeen: now, lastSync: now });
  }

  recordFailure(peerId: string, deviceId: string | null): number {
    const current = this.current(peerId, deviceId);
    const failures = current.failures + 1;
    this.write({ ...current, failures });
    return failures;
  }

  private current(peerId: string, deviceId: string | null): PeerRecord {
    const known = this.peers.get(peerId);
    if (known) return { ...known, deviceId: deviceId ?? known.deviceId };
    return { peerId, deviceId, addresses: [], lastSeen: null, lastSync: null, failures: 0 };
  }

  private write(record: PeerRecord): void {
    this.peers.set(record.peerId, record);
    try {
      this.store.upsertPeer(record);
    } catch (error) {
      this.logger.warn(`p2p: could not update the node table for ${record.peerId}`, error);
    }
  }
}
