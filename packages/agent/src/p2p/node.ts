/**
 * The libp2p node: TCP + private network (PSK from the account data key) + Noise + Yamux, a trust gater,
 * mDNS, and the sync protocol. It keeps the node table in the store, redials trusted peers from it and
 * from their device records, re-exchanges marks periodically, and forwards what it learns (multi-hop).
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { mdns } from "@libp2p/mdns";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { preSharedKey } from "@libp2p/pnet";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { LoggedMessage, StoredEnvelope } from "../store/index.ts";
import { mergeAddresses } from "./addresses.ts";
import { MAX_FRAME_BYTES, SYNC_PROTOCOL } from "./frames.ts";
import { decodePeerKey } from "./keys.ts";
import { NodeEvents } from "./node-events.ts";
import { NodeTable } from "./node-table.ts";
import { OriginRegistry } from "./origins.ts";
import { type ResolvedLimits, type SessionHost, SyncSession } from "./session.ts";
import { swarmKeyFromDataKey } from "./swarm-key.ts";
import { TrustList, trustGater } from "./trust.ts";
import type { P2PLogger, P2PNode, P2PNodeOptions } from "./types.ts";

const DEFAULT_REDIAL_MS = 30_000;
const DEFAULT_ANTI_ENTROPY_MS = 30_000;
const DIAL_TIMEOUT_MS = 10_000;
/** Redial backoff: the interval times 2^failures, capped at this factor. */
const MAX_BACKOFF_FACTOR = 16;

const quietLogger: P2PLogger = {
  debug() {},
  info() {},
  warn: (...a: unknown[]) => console.warn(...a),
};

export async function createP2PNode(opts: P2PNodeOptions): Promise<P2PNode> {
  const privateKey = decodePeerKey(opts.privateKey);
  const logger = opts.logger ?? quietLogger;
  const trust = new TrustList(opts.trustedPeers, peerIdFromPrivateKey(privateKey).toString(), logger);
  const libp2p = await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen: opts.listen ?? ["/ip4/0.0.0.0/tcp/0"] },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: swarmKeyFromDataKey(opts.dataKey) }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: trustGater(trust, logger),
    // All peers of a test, or of a LAN behind one NAT, share a host: the default 5 inbound/s per host is too low.
    connectionManager: { inboundConnectionThreshold: 100, maxConnections: 100, dialTimeout: DIAL_TIMEOUT_MS },
    peerDiscovery: opts.mdns === false ? [] : [mdns()],
    services: { identify: identify() },
  });
  const node = new PeerSyncNode(libp2p, trust, opts, logger);
  try {
    await node.start();
  } catch (error) {
    try {
      await libp2p.stop();
    } catch {
      // the start error is the one worth reporting
    }
    throw error;
  }
  return node;
}

class PeerSyncNode implements P2PNode, SessionHost {
  readonly peerId: string;
  readonly store: P2PNodeOptions["store"];
  readonly dataKey: Uint8Array;
  readonly logger: P2PLogger;
  readonly limits: ResolvedLimits;
  private readonly libp2p: Libp2p;
  private readonly trust: TrustList;
  private readonly table: NodeTable;
  private readonly origins: OriginRegistry;
  private readonly events = new NodeEvents();
  private readonly sessions = new Set<SyncSession>();
  private readonly dialling = new Set<string>();
  private readonly lastDialAttempt = new Map<string, number>();
  private readonly redialMs: number;
  private readonly antiEntropyMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(libp2p: Libp2p, trust: TrustList, opts: P2PNodeOptions, logger: P2PLogger) {
    this.libp2p = libp2p;
    this.peerId = libp2p.peerId.toString();
    this.trust = trust;
    this.store = opts.store;
    this.dataKey = opts.dataKey;
    this.logger = logger;
    this.table = new NodeTable(opts.store, logger);
    this.origins = new OriginRegistry(opts.store, logger);
    this.redialMs = opts.redialIntervalMs ?? DEFAULT_REDIAL_MS;
    this.antiEntropyMs = opts.antiEntropyIntervalMs ?? DEFAULT_ANTI_ENTROPY_MS;
    this.limits = {
      maxFrameBytes: opts.limits?.maxFrameBytes ?? MAX_FRAME_BYTES,
      maxFramesPerSecond: opts.limits?.maxFramesPerSecond ?? 500,
      banMs: opts.limits?.banMs ?? 60_000,
    };
  }

  async start(): Promise<void> {
    await this.libp2p.handle(SYNC_PROTOCOL, (stream, connection) => this.addSession(stream, connection), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    });
    const l = this.libp2p;
    l.addEventListener("connection:open", (evt) => this.guard("connection:open", () => this.onConnection(evt.detail)));
    l.addEventListener("peer:connect", () => this.emitPeers());
    l.addEventListener("peer:disconnect", () => this.emitPeers());
    l.addEventListener("peer:identify", (evt) =>
      this.guard("peer:identify", () => {
        const id = evt.detail.peerId.toString();
        if (!this.trust.isTrusted(id)) return;
        const listen = evt.detail.listenAddrs.map((a) => a.toString());
        this.table.recordListenAddresses(id, this.deviceIdOf(id), listen);
      }),
    );
    l.addEventListener("peer:discovery", (evt) =>
      this.guard("peer:discovery", () => {
        const id = evt.detail.id.toString();
        if (!this.trust.admits(id) || this.isConnected(id)) return;
        const addresses = evt.detail.multiaddrs.map((a) => a.toString());
        this.dialPeer(id, mergeAddresses(id, addresses));
      }),
    );
    await l.start();
    this.timers.push(setInterval(() => this.guard("redial", () => this.redial()), this.redialMs));
    this.timers.push(setInterval(() => this.guard("anti-entropy", () => this.exchangeMarks()), this.antiEntropyMs));
    this.guard("redial", () => this.redial());
  }

  addresses(): string[] {
    const suffix = `/p2p/${this.peerId}`;
    return this.libp2p.getMultiaddrs().map((a) => {
      const text = a.toString();
      return text.endsWith(suffix) ? text : `${text}${suffix}`;
    });
  }

  connectedPeers(): string[] {
    return this.libp2p
      .getPeers()
      .map((p) => p.toString())
      .filter((id) => this.trust.isTrusted(id));
  }

  broadcast(entries: StoredEnvelope[]): void {
    if (entries.length === 0) return;
    this.guard("broadcast", () => {
      this.origins.note(entries);
      for (const session of this.sessions) session.enqueue(entries);
    });
  }

  async dial(address: string): Promise<void> {
    if (this.stopped) throw new Error("the P2P node is stopped");
    const target = multiaddr(address);
    const peerId = target.getComponents().findLast((c) => c.name === "p2p")?.value;
    try {
      await this.libp2p.dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
    } catch (error) {
      if (peerId && this.trust.isTrusted(peerId) && !this.stopped) {
        this.table.recordFailure(peerId, this.deviceIdOf(peerId));
      }
      throw error;
    }
  }

  async hangUp(peerId: string): Promise<void> {
    await this.libp2p.hangUp(peerIdFromString(peerId));
  }

  refreshTrust(): void {
    this.guard("refreshTrust", () => {
      this.trust.refresh();
      for (const peer of this.libp2p.getPeers()) {
        const id = peer.toString();
        if (this.trust.admits(id)) continue;
        this.logger.info(`p2p: hanging up on ${id}: no longer trusted`);
        this.hangUpQuietly(peer);
      }
    });
  }

  on(event: "applied", fn: (entries: LoggedMessage[], fromPeerId: string) => void): void;
  on(event: "peers", fn: (connected: string[]) => void): void;
  on(event: "applied" | "peers", fn: (...args: never[]) => void): void {
    this.events.on(event, fn as (...args: unknown[]) => void);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const session of [...this.sessions]) session.close();
    await this.libp2p.stop();
  }

  // SessionHost

  isStopped(): boolean {
    return this.stopped;
  }

  localMarks(): Record<string, number> {
    return this.origins.localMarks();
  }

  applyFromPeer(session: SyncSession, entries: LoggedMessage[]): void {
    // Peer entries stay pending for the server: the runtime pushes them later and the server de-duplicates.
    const fresh = this.store.applyLogged(entries);
    if (fresh.length === 0) return;
    this.origins.note(fresh);
    this.events.emit(this.logger, "applied", fresh, session.peerId);
    for (const other of this.sessions) if (other.peerId !== session.peerId) other.enqueue(fresh);
  }

  caughtUp(session: SyncSession): void {
    this.table.recordSync(session.peerId, this.deviceIdOf(session.peerId));
  }

  misbehaved(session: SyncSession, reason: string): void {
    const id = session.peerId;
    this.logger.warn(`p2p: dropping peer ${id} for ${this.limits.banMs} ms: ${reason}`);
    this.guard("dropping a peer", () => {
      this.trust.ban(id, this.limits.banMs);
      this.table.recordFailure(id, this.deviceIdOf(id));
      session.connection.abort(new Error(`protocol violation: ${reason}`));
      this.hangUpQuietly(session.connection.remotePeer);
    });
  }

  closed(session: SyncSession): void {
    this.sessions.delete(session);
  }

  // Internals

  private onConnection(connection: Connection): void {
    const id = connection.remotePeer.toString();
    if (this.stopped || !this.trust.admits(id)) {
      connection.abort(new Error("not trusted"));
      return;
    }
    const outbound = connection.direction === "outbound";
    this.table.recordConnect(id, this.deviceIdOf(id), outbound ? connection.remoteAddr.toString() : undefined);
    // The dialler opens the sync stream, so each connection carries exactly one.
    if (!outbound) return;
    connection
      .newStream(SYNC_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      .then((stream) => this.addSession(stream, connection))
      .catch((error: unknown) => {
        if (!this.stopped && connection.status === "open") {
          this.logger.warn(`p2p: could not open a sync stream to ${id}`, error);
        }
      });
  }

  private addSession(stream: Stream, connection: Connection): void {
    if (this.stopped || !this.trust.admits(connection.remotePeer.toString())) {
      stream.abort(new Error("not accepted"));
      return;
    }
    const session = new SyncSession(stream, connection, this);
    this.sessions.add(session);
    session.start();
  }

  private exchangeMarks(): void {
    for (const session of this.sessions) session.sendMarks(false);
  }

  /** Dials trusted peers without a connection, from the node table and their device records. */
  private redial(): void {
    this.refreshTrust();
    for (const id of this.trust.peerIds()) {
      if (!this.trust.admits(id) || this.isConnected(id) || this.dialling.has(id)) continue;
      const failures = this.table.get(id)?.failures ?? 0;
      const wait = this.redialMs * Math.min(2 ** failures, MAX_BACKOFF_FACTOR);
      if (Date.now() - (this.lastDialAttempt.get(id) ?? 0) < wait) continue;
      const addresses = mergeAddresses(id, this.table.addresses(id), this.trust.device(id)?.addresses ?? []);
      if (addresses.length > 0) this.dialPeer(id, addresses);
    }
  }

  private dialPeer(id: string, addresses: string[]): void {
    if (this.dialling.has(id) || addresses.length === 0) return;
    this.dialling.add(id);
    this.lastDialAttempt.set(id, Date.now());
    this.libp2p
      .dial(
        addresses.map((a) => multiaddr(a)),
        { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) },
      )
      .catch((error: unknown) => {
        if (this.stopped) return;
        const failures = this.table.recordFailure(id, this.deviceIdOf(id));
        this.logger.debug(`p2p: dialling ${id} failed (${failures} in a row)`, error);
      })
      .finally(() => this.dialling.delete(id));
  }

  private isConnected(id: string): boolean {
    return this.libp2p.getConnections(peerIdFromString(id)).some((c) => c.status === "open");
  }

  private deviceIdOf(id: string): string | null {
    return this.trust.device(id)?.deviceId ?? null;
  }

  private hangUpQuietly(peer: PeerId): void {
    this.libp2p.hangUp(peer).catch((error: unknown) => this.logger.debug(`p2p: hang-up failed`, error));
  }

  private emitPeers(): void {
    if (!this.stopped) this.events.emit(this.logger, "peers", this.connectedPeers());
  }

  /** Runs a callback from a timer or libp2p event: nothing it throws may escape into libp2p or the process. */
  private guard(what: string, fn: () => void): void {
    // Late libp2p events after stop() must not touch the store, which the runtime closes next.
    if (this.stopped) return;
    try {
      fn();
    } catch (error) {
      if (!this.stopped) this.logger.warn(`p2p: ${what} failed`, error);
    }
  }
}
