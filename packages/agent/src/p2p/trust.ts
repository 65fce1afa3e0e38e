/**
 * Who may connect: the account's devices (trustedPeers(), read at start, on refreshTrust() and on each
 * redial pass) minus peers banned for misbehaving. The gater refuses everyone else at the earliest point
 * libp2p knows the remote peer id: before dialling, and right after the encryption handshake inbound.
 */
import type { ConnectionGater, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { P2PLogger, TrustedDevice } from "./types.ts";

export class TrustList {
  private readonly read: () => Map<string, TrustedDevice>;
  private readonly selfPeerId: string;
  private readonly logger: P2PLogger;
  private peers = new Map<string, TrustedDevice>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(read: () => Map<string, TrustedDevice>, selfPeerId: string, logger: P2PLogger) {
    this.read = read;
    this.selfPeerId = selfPeerId;
    this.logger = logger;
    this.refresh();
  }

  /** Re-reads the trust list; returns the peers that were trusted before and are not any more. */
  refresh(): string[] {
    let next: Map<string, TrustedDevice>;
    try {
      next = new Map(this.read());
    } catch (error) {
      this.logger.warn("p2p: could not read the trusted devices; keeping the previous list", error);
      return [];
    }
    next.delete(this.selfPeerId);
    const dropped = [...this.peers.keys()].filter((id) => !next.has(id));
    this.peers = next;
    return dropped;
  }

  isTrusted(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  /** Trusted and not serving a ban. */
  admits(peerId: string): boolean {
    if (!this.peers.has(peerId)) return false;
    const until = this.bannedUntil.get(peerId);
    if (until === undefined) return true;
    if (Date.now() < until) return false;
    this.bannedUntil.delete(peerId);
    return true;
  }

  ban(peerId: string, ms: number): void {
    this.bannedUntil.set(peerId, Date.now() + ms);
  }

  device(peerId: string): TrustedDevice | undefined {
    return this.peers.get(peerId);
  }

  peerIds(): string[] {
    return [...this.peers.keys()];
  }
}

function peerIdIn(multiaddr: Multiaddr): string | undefined {
  return multiaddr.getComponents().findLast((c) => c.name === "p2p")?.value;
}

export function trustGater(trust: TrustList, logger: P2PLogger): ConnectionGater {
  const refuse = (what: string) => (peerId: PeerId) => {
    const id = peerId.toString();
    if (trust.admits(id)) return false;
    logger.debug(`p2p: refused ${what} ${id}`);
    return true;
  };
  return {
    denyDialPeer: refuse("dialling"),
    denyDialMultiaddr: (multiaddr) => {
      const id = peerIdIn(multiaddr);
      return id !== undefined && !trust.admits(id);
    },
    denyOutboundConnection: refuse("an outbound connection to"),
    denyInboundEncryptedConnection: refuse("an inbound connection from"),
    denyOutboundEncryptedConnection: refuse("an outbound connection to"),
    denyInboundUpgradedConnection: refuse("an inbound connection from"),
    denyOutboundUpgradedConnection: refuse("an outbound connection to"),
    // Keep no addresses of strangers in libp2p's peer store.
    filterMultiaddrForPeer: (peerId) => trust.isTrusted(peerId.toString()),
  };
}
