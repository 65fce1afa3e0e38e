import type { LocalStore, LoggedMessage, StoredEnvelope } from "../store/index.ts";

export interface P2PLogger {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
}

export interface TrustedDevice {
  deviceId: string;
  addresses: string[];
}

/** Bounds on what one peer may send; the defaults suit production, tests lower them. */
export interface P2PLimits {
  /** Largest frame accepted (default 4 MiB). */
  maxFrameBytes?: number;
  /** Sustained frames per second per stream, with a burst of ten seconds' worth (default 500). */
  maxFramesPerSecond?: number;
  /** How long a misbehaving peer is refused after being dropped (default 60 s). */
  banMs?: number;
}

export interface P2PNodeOptions {
  /** Applies what peers send (store.applyLogged), serves entriesAfter/highWaterMarks, keeps the node table. */
  store: LocalStore;
  /** Account data key: opens envelopes and derives the private network key. */
  dataKey: Buffer;
  deviceId: string;
  /** Protobuf-encoded libp2p Ed25519 private key (see generatePeerKey). */
  privateKey: Uint8Array;
  /** Default ["/ip4/0.0.0.0/tcp/0"]. */
  listen?: string[];
  /** Default true. */
  mdns?: boolean;
  /** peerId -> device, from the synced devices table (non-revoked, non-deleted). */
  trustedPeers: () => Map<string, TrustedDevice>;
  /** How often unconnected trusted peers are redialled (default 30 s). */
  redialIntervalMs?: number;
  /** How often connected peers re-exchange high-water marks (default 30 s). */
  antiEntropyIntervalMs?: number;
  logger?: P2PLogger;
  limits?: P2PLimits;
}

export interface P2PNode {
  readonly peerId: string;
  /** Listen multiaddrs with /p2p/<peerId>. */
  addresses(): string[];
  /** Trusted peers with an open connection. */
  connectedPeers(): string[];
  /** The runtime calls this after local writes and server pulls. */
  broadcast(entries: StoredEnvelope[]): void;
  dial(multiaddr: string): Promise<void>;
  /** Closes every connection to a peer (it may be redialled later). */
  hangUp(peerId: string): Promise<void>;
  /** Re-reads trustedPeers() and hangs up on peers no longer trusted. */
  refreshTrust(): void;
  on(event: "applied", fn: (entries: LoggedMessage[], fromPeerId: string) => void): void;
  on(event: "peers", fn: (connected: string[]) => void): void;
  stop(): Promise<void>;
}
