/**
 * Real P2P nodes over loopback for tests: each peer has its own SQLCipher store in a temp folder, its
 * own libp2p key, and trusts the mesh's shared device list (minus the peers it was told to distrust).
 */
import { join } from "node:path";
import {
  type ChangeMessage,
  changesFor,
  encryptChange,
  HybridLogicalClock,
  type RowOf,
  randomKey,
} from "@perpetuanet/core";
import { afterEach } from "vitest";
import {
  createP2PNode,
  generatePeerKey,
  type P2PNode,
  type P2PNodeOptions,
  peerIdFromKey,
  type TrustedDevice,
} from "../../src/p2p/index.ts";
import { LocalStore, type LoggedMessage } from "../../src/store/index.ts";
import { useTempDirs } from "./temp-dirs.ts";

/** Polls a condition until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | null | false,
  timeoutMs: number,
  what: string | (() => string),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Settles with whether `promise` resolved (true) or rejected (false). */
export function succeeds(promise: Promise<unknown>): Promise<boolean> {
  return promise.then(
    () => true,
    () => false,
  );
}

export interface PeerOptions {
  dataKey?: Buffer;
  /** Default false: tests on 127.0.0.1 must not multicast onto the machine's network. */
  mdns?: boolean;
  listen?: string[];
  redialIntervalMs?: number;
  antiEntropyIntervalMs?: number;
  limits?: P2PNodeOptions["limits"];
  /** Trust list override; by default the mesh's devices minus `distrusted`. */
  trustedPeers?: () => Map<string, TrustedDevice>;
}

/** The device id a test peer called `name` writes as. */
export function deviceIdOf(name: string): string {
  return `pc${name.toLowerCase().replace(/[^0-9a-z]/g, "")}0000`;
}

export class TestPeer {
  readonly name: string;
  readonly deviceId: string;
  readonly privateKey: Uint8Array;
  readonly peerId: string;
  readonly dbPath: string;
  readonly dbKey = randomKey();
  /** Everything the node logged, as "level: message" lines. */
  readonly logs: string[] = [];
  /** Peers this one no longer trusts (revoked in its copy of the devices table). */
  readonly distrusted = new Set<string>();
  store!: LocalStore;
  node!: P2PNode;
  private clock!: HybridLogicalClock;
  private readonly mesh: TestMesh;
  private readonly opts: PeerOptions;
  readonly dataKey: Buffer;

  constructor(mesh: TestMesh, name: string, dir: string, privateKey: Uint8Array, opts: PeerOptions) {
    this.mesh = mesh;
    this.name = name;
    this.deviceId = deviceIdOf(name);
    this.privateKey = privateKey;
    this.peerId = peerIdFromKey(privateKey);
    this.dbPath = join(dir, "store.db");
    this.opts = opts;
    this.dataKey = opts.dataKey ?? mesh.dataKey;
  }

  get running(): boolean {
    return this.node !== undefined;
  }

  async start(): Promise<void> {
    this.store = LocalStore.open({ path: this.dbPath, key: this.dbKey });
    this.clock = new HybridLogicalClock(this.deviceId, { last: this.store.lastHlc() });
    const record =
      (level: string) =>
      (...a: unknown[]) =>
        this.logs.push(`${level}: ${a.map(String).join(" ")}`);
    this.node = await createP2PNode({
      store: this.store,
      dataKey: this.dataKey,
      deviceId: this.deviceId,
      privateKey: this.privateKey,
      listen: this.opts.listen ?? ["/ip4/127.0.0.1/tcp/0"],
      mdns: this.opts.mdns ?? false,
      trustedPeers:
        this.opts.trustedPeers ??
        (() => new Map([...this.mesh.devices].filter(([peerId]) => !this.distrusted.has(peerId)))),
      redialIntervalMs: this.opts.redialIntervalMs ?? 60_000,
      antiEntropyIntervalMs: this.opts.antiEntropyIntervalMs ?? 1_000,
      logger: { debug: record("debug"), info: record("info"), warn: record("warn") },
      ...(this.opts.limits ? { limits: this.opts.limits } : {}),
    });
  }

  /** Stops the node and closes the store (the files stay). */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.node.stop();
    this.store.close();
    this.node = undefined as unknown as P2PNode;
  }

  /** Writes changes as this device and hands them to the node, as the runtime does. */
  write(changes: ChangeMessage[]): LoggedMessage[] {
    const fresh = this.store.writeLocal(this.deviceId, changes, (c, seq) => encryptChange(this.dataKey, c, seq));
    this.node.broadcast(fresh);
    return fresh;
  }

  writeRow<T extends "links" | "downloads" | "settings">(table: T, rowId: string, values: RowOf<T>): LoggedMessage[] {
    return this.write(changesFor(this.clock, table, rowId, values));
  }

  writeLink(id: string, title: string): LoggedMessage[] {
    return this.writeRow("links", id, { url: `https://example.org/${id}`, kind: "web", title, createdAt: 1 });
  }

  warnings(): string[] {
    return this.logs.filter((line) => line.startsWith("warn: "));
  }

  linkIds(): string[] {
    return this.store.listRows("links").map((r) => r.id);
  }

  hasLink(id: string): boolean {
    return this.store.getRow("links", id) !== undefined;
  }

  async dial(other: TestPeer): Promise<void> {
    const address = other.node.addresses()[0];
    if (!address) throw new Error(`${other.name} has no address`);
    await this.node.dial(address);
  }

  /** Dials and waits until both ends list each other as connected. */
  async connect(other: TestPeer): Promise<void> {
    await this.dial(other);
    await this.waitConnected(other);
  }

  /** Both ends list each other as connected. */
  async waitConnected(other: TestPeer, timeoutMs = 5000): Promise<void> {
    await waitFor(
      () => this.node.connectedPeers().includes(other.peerId) && other.node.connectedPeers().includes(this.peerId),
      timeoutMs,
      `${this.name} and ${other.name} to connect`,
    );
  }
}

export class TestMesh {
  readonly dataKey: Buffer;
  /** The account's devices table as every peer sees it (peerId -> device). */
  readonly devices = new Map<string, TrustedDevice>();
  readonly peers: TestPeer[] = [];
  private readonly tempDir: () => string;

  constructor(tempDir: () => string, dataKey: Buffer = randomKey()) {
    this.tempDir = tempDir;
    this.dataKey = dataKey;
  }

  /** Creates a peer, registers it in the devices table (unless `register` is false) and starts it. */
  async add(name: string, opts: PeerOptions & { register?: boolean } = {}): Promise<TestPeer> {
    const peer = new TestPeer(this, name, this.tempDir(), await generatePeerKey(), opts);
    if (opts.register !== false) this.devices.set(peer.peerId, { deviceId: peer.deviceId, addresses: [] });
    this.peers.push(peer);
    await peer.start();
    for (const other of this.peers) if (other !== peer && other.running) other.node.refreshTrust();
    return peer;
  }

  /** Several peers with default options, started one after the other. */
  async addAll<const N extends string[]>(...names: N): Promise<{ [K in keyof N]: TestPeer }> {
    const peers: TestPeer[] = [];
    for (const name of names) peers.push(await this.add(name));
    return peers as { [K in keyof N]: TestPeer };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
  }
}

/** A mesh per test, torn down (nodes stopped, stores closed) before its temp folders are removed. */
export function useMesh(prefix = "pn-p2p-"): () => TestMesh {
  const tempDir = useTempDirs(prefix);
  const meshes: TestMesh[] = [];
  afterEach(async () => {
    for (const mesh of meshes.splice(0)) await mesh.closeAll();
  });
  return () => {
    const mesh = new TestMesh(tempDir);
    meshes.push(mesh);
    return mesh;
  };
}
