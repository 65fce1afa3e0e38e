/**
 * Everything that runs while the PC is unlocked: local writes, the library, downloads, devices,
 * notices, background sync with the server (driven by the connectivity monitor) and the peer node.
 * Work never waits for the server: writes land in the store at once and sync catches up later.
 */
import type { AgentEvent, TableName } from "@perpetuanet/core";
import type { LocalStore, LoggedMessage, StoredEnvelope } from "../store/index.ts";
import type { UnlockedAccount } from "./account.ts";
import { META } from "./account.ts";
import type { ConnectivityMonitor, Transition } from "./connectivity.ts";
import { Devices } from "./devices.ts";
import { Downloads } from "./downloads.ts";
import { loadOrCreateIdentity, type PeerIdentity } from "./identity.ts";
import { Library } from "./library.ts";
import { LocalWriter } from "./local-writer.ts";
import { Notices } from "./notices.ts";
import { type ServerClient, ServerRejectedError, ServerUnreachableError } from "./server-client.ts";
import { ServerSync } from "./server-sync.ts";
import { type DeviceSettings, Settings } from "./settings.ts";

const HOUSEKEEPING_MS = 60_000;

/** The part of the P2P node the session uses (packages/agent/src/p2p implements it). */
export interface PeerNode {
  readonly peerId: string;
  addresses(): string[];
  connectedPeers(): string[];
  broadcast(entries: StoredEnvelope[]): void;
  refreshTrust(): void;
  on(event: "applied", fn: (entries: LoggedMessage[], fromPeerId: string) => void): void;
  on(event: "peers", fn: (connected: string[]) => void): void;
  stop(): Promise<void>;
}

export type PeerNodeFactory = (opts: {
  store: LocalStore;
  dataKey: Buffer;
  deviceId: string;
  privateKey: Uint8Array;
  trustedPeers: () => Map<string, { deviceId: string; addresses: string[] }>;
}) => Promise<PeerNode>;

export interface Logger {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

export interface SessionOptions {
  account: UnlockedAccount;
  client: ServerClient | null;
  monitor: ConnectivityMonitor | null;
  syncIntervalMs: number;
  syncBatchSize: number;
  maxBackoffMs: number;
  deviceDefaults: DeviceSettings;
  createPeerNode: PeerNodeFactory | null;
  emit: (event: AgentEvent) => void;
  /** Something in the status (pending count, syncing) changed; the agent re-sends it (debounced here). */
  statusChanged: () => void;
  logger: Logger;
}

export class Session {
  readonly account: UnlockedAccount;
  readonly store: LocalStore;
  readonly writer: LocalWriter;
  readonly library: Library;
  readonly notices: Notices;
  readonly settings: Settings;
  readonly devices: Devices;
  readonly downloads: Downloads;
  readonly identity: PeerIdentity;
  peers: PeerNode | null = null;
  client: ServerClient | null;
  private monitor: ConnectivityMonitor | null;
  private serverSync: ServerSync | null = null;
  private readonly opts: SessionOptions;
  private readonly log: Logger;
  private syncTimer: NodeJS.Timeout | null = null;
  private soonTimer: NodeJS.Timeout | null = null;
  private cycle: Promise<void> | null = null;
  private failures = 0;
  private serverReady = false;
  private lastHousekeeping = 0;
  private revoked = false;
  private closed = false;
  /** Set when the server went away; the next complete sync reports how much it caught up. */
  private recovering: { since: number } | null = null;
  syncing = false;
  lastSyncAt: number | null = null;
  lastError: string | null = null;
  private readonly unsubscribe: () => void;

  private constructor(opts: SessionOptions, identity: PeerIdentity) {
    this.opts = opts;
    this.log = opts.logger;
    this.account = opts.account;
    this.store = opts.account.store;
    this.identity = identity;
    this.client = opts.client;
    this.monitor = opts.monitor;
    this.writer = new LocalWriter({
      store: this.store,
      dataKey: this.account.dataKey,
      deviceId: this.account.deviceId,
      onWritten: (entries) => this.onLocalWrite(entries),
      logger: this.log,
    });
    this.library = new Library(this.store, this.writer);
    this.notices = new Notices(this.store, (notice) => opts.emit({ type: "notice", notice }));
    this.settings = new Settings(this.store, this.writer, opts.deviceDefaults);
    this.devices = new Devices(this.store, this.writer);
    this.downloads = new Downloads({
      store: this.store,
      writer: this.writer,
      library: this.library,
      devices: this.devices,
      settings: this.settings.torrentSettings(),
      onProgress: (downloads) => opts.emit({ type: "downloads", downloads }),
      onStatus: (record, previous) => {
        if ((record.status === "completed" || record.status === "seeding") && previous === "downloading") {
          this.notices.local("info", "download-completed", `Download completed: ${record.name}`, record.savePath);
        } else if (record.status === "error" && previous !== "error") {
          this.notices.local("warning", "download-error", `Download failed: ${record.name}`, record.error ?? "");
        }
      },
      logger: this.log,
    });
    const lastSync = this.store.getMeta("server.lastSyncAt");
    this.lastSyncAt = lastSync ? Number(lastSync) : null;
    this.unsubscribe = this.store.onChange((tables) => this.onStoreChange(tables));
    const lastRefresh = opts.account.tokens;
    if (lastRefresh && this.client) this.client.accessToken = lastRefresh.accessToken;
    if (this.client) this.client.deviceId = this.account.deviceId;
  }

  static async start(opts: SessionOptions): Promise<Session> {
    const identity = await loadOrCreateIdentity(opts.account.store);
    const session = new Session(opts, identity);
    try {
      await session.startPeers();
      session.describeSelf();
      await session.downloads.restore();
      session.attachServer(opts.client, opts.monitor);
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  private async startPeers(): Promise<void> {
    if (!this.opts.createPeerNode) return;
    const node = await this.opts.createPeerNode({
      store: this.store,
      dataKey: this.account.dataKey,
      deviceId: this.account.deviceId,
      privateKey: this.identity.privateKey,
      trustedPeers: () => this.devices.trustedPeers(),
    });
    this.peers = node;
    node.on("applied", (entries) => {
      this.writer.observe(entries);
      this.requestSync();
    });
    node.on("peers", () => this.opts.emit({ type: "devices", devices: this.deviceList() }));
  }

  private describeSelf(): void {
    this.devices.describeSelf({
      name: this.store.getMeta(META.deviceName) ?? "PC",
      peerId: this.identity.peerId,
      publicKey: this.identity.publicKey,
      addresses: this.peers?.addresses() ?? [],
    });
  }

  deviceList() {
    return this.devices.list(new Set(this.peers?.connectedPeers() ?? []));
  }

  /** Points background sync at a server (or none); called at start and when the server URL changes. */
  attachServer(client: ServerClient | null, monitor: ConnectivityMonitor | null): void {
    this.client = client;
    this.monitor = monitor;
    this.serverReady = false;
    this.failures = 0;
    if (client) {
      client.deviceId = this.account.deviceId;
      if (this.account.tokens && !client.accessToken) client.accessToken = this.account.tokens.accessToken;
    }
    this.serverSync = client
      ? new ServerSync({
          store: this.store,
          dataKey: this.account.dataKey,
          client,
          batchSize: this.opts.syncBatchSize,
          onPulled: (fresh) => {
            this.writer.observe(fresh);
            this.peers?.broadcast(fresh);
          },
          onProgress: () => this.emitStatus(),
          renewSession: () => this.renewSession(),
          logger: this.log,
        })
      : null;
    this.scheduleSync(0);
  }

  /** The connectivity monitor changed state: tell the user, and catch up when the server is back. */
  onConnectivity(t: Transition): void {
    if (this.closed) return;
    if (t.state === "offline") {
      this.serverReady = false;
      if (!this.recovering) {
        this.recovering = { since: t.at };
        this.notices.local(
          "warning",
          "offline",
          "Central server unreachable, working offline",
          `Changes are kept on this PC${this.peers ? " and shared with your other PCs directly" : ""} until the server is back. ${t.detail ?? ""}`.trim(),
        );
      }
    } else if (t.state === "online") {
      this.failures = 0;
      this.scheduleSync(0);
    }
  }

  private onLocalWrite(entries: LoggedMessage[]): void {
    this.peers?.broadcast(entries);
    this.requestSync();
  }

  private statusTimer: NodeJS.Timeout | null = null;
  private emitStatus(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      if (!this.closed) this.opts.statusChanged();
    }, 100);
    this.statusTimer.unref();
  }

  private changedTables = new Set<TableName>();
  private changeTimer: NodeJS.Timeout | null = null;
  private onStoreChange(tables: TableName[]): void {
    for (const t of tables) this.changedTables.add(t);
    if (tables.includes("devices")) this.peers?.refreshTrust();
    if (tables.includes("settings")) this.downloads.updateSettings(this.settings.torrentSettings());
    this.emitStatus();
    if (this.changeTimer) return;
    // Coalesce bursts (a bulk sync applies thousands of rows) into one notification per 100 ms.
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      if (this.closed) return;
      const changed = [...this.changedTables];
      this.changedTables.clear();
      this.opts.emit({ type: "data-changed", tables: changed });
      if (changed.includes("downloads")) this.opts.emit({ type: "downloads", downloads: this.downloads.list() });
      if (changed.includes("devices")) this.opts.emit({ type: "devices", devices: this.deviceList() });
    }, 100);
    this.changeTimer.unref();
  }

  /** Ask for a sync soon (after a burst of writes settles). */
  requestSync(): void {
    if (this.soonTimer || this.closed) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      void this.runCycle();
    }, 50);
    this.soonTimer.unref();
  }

  private scheduleSync(delayMs: number): void {
    if (this.closed) return;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.runCycle().finally(() => {
        if (this.syncTimer === null) this.scheduleSync(this.nextDelay());
      });
    }, delayMs);
    this.syncTimer.unref();
  }

  private nextDelay(): number {
    if (this.failures === 0) return this.opts.syncIntervalMs;
    return Math.min(this.opts.maxBackoffMs, this.opts.syncIntervalMs * 2 ** Math.min(this.failures, 16));
  }

  /** "Sync now": probe the server, sync and refresh devices and notices at once; resolves when done. */
  async syncNow(): Promise<void> {
    this.failures = 0;
    this.lastHousekeeping = 0;
    this.monitor?.checkNow();
    await this.runCycle(true);
  }

  private runCycle(force = false): Promise<void> {
    // A forced round asked for while another runs goes after it, so it sees the newest state.
    if (this.cycle) return this.cycle.then(() => (force ? this.runCycle(true) : undefined));
    this.cycle = this.cycleOnce(force).finally(() => {
      this.cycle = null;
    });
    return this.cycle;
  }

  private async cycleOnce(force: boolean): Promise<void> {
    if (this.closed || !this.client || !this.serverSync || this.revoked) return;
    if (!force && this.monitor?.state !== "online") return;
    const pendingAtStart = this.store.countPendingForServer();
    this.syncing = pendingAtStart > 0;
    if (this.syncing) this.emitStatus();
    try {
      await this.connectServer();
      const round = await this.serverSync.sync();
      this.failures = 0;
      this.lastError = null;
      this.lastSyncAt = Date.now();
      this.store.setMeta("server.lastSyncAt", String(this.lastSyncAt));
      this.monitor?.reportSuccess();
      if (this.recovering) {
        const total = round.pushed + round.pulled.length;
        this.recovering = null;
        this.notices.local(
          "info",
          "online",
          `Back online, ${total} change${total === 1 ? "" : "s"} synced`,
          `${round.pushed} sent to the server, ${round.pulled.length} received.`,
        );
      }
    } catch (error) {
      this.onSyncError(error as Error);
    } finally {
      this.syncing = false;
      this.emitStatus();
    }
  }

  private onSyncError(error: Error): void {
    this.failures++;
    this.lastError = error.message;
    if (error instanceof ServerUnreachableError) {
      this.serverReady = false;
      this.monitor?.reportFailure(error);
      return;
    }
    if (error instanceof ServerRejectedError && error.code === "DEVICE_REVOKED") {
      this.revoked = true;
      this.notices.local(
        "critical",
        "revoked",
        "This PC was revoked for your account",
        "It no longer syncs with the server or your other PCs. Its local data stays readable here.",
      );
      void this.peers?.stop();
      this.peers = null;
      return;
    }
    this.log.warn("sync failed", error.message);
  }

  /** Signs in (refresh token, else the login proof kept from the password) and registers this PC. */
  private async connectServer(): Promise<void> {
    const client = this.client!;
    if (!this.serverReady) {
      if (!client.accessToken && !(await this.renewSession())) {
        throw new ServerRejectedError(
          401,
          "SIGN_IN_REQUIRED",
          "sign in again: the server no longer accepts this PC's session",
        );
      }
      this.describeSelf();
      await this.withRenewal(() =>
        client.registerDevice({
          deviceId: this.account.deviceId,
          name: this.store.getMeta(META.deviceName) ?? "PC",
          peerId: this.identity.peerId,
          publicKey: this.identity.publicKey,
          addresses: (this.peers?.addresses() ?? []).slice(0, 64),
        }),
      );
      this.serverReady = true;
      this.lastHousekeeping = 0;
    }
    for (const deviceId of this.devices.pendingRevocations()) {
      await this.withRenewal(() => client.revokeDevice(deviceId)).catch((error: unknown) => {
        if (!(error instanceof ServerRejectedError && error.status === 404)) throw error;
      });
      this.devices.revocationSent(deviceId);
    }
    // The device list (new PCs, revocations made elsewhere) and notices change rarely: once a minute.
    if (Date.now() - this.lastHousekeeping >= HOUSEKEEPING_MS) {
      this.devices.reconcile(await this.withRenewal(() => client.devices()));
      this.notices.fromServer(await this.withRenewal(() => client.notices()));
      this.lastHousekeeping = Date.now();
    }
  }

  private async withRenewal<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ServerRejectedError && error.status === 401 && (await this.renewSession())) return fn();
      throw error;
    }
  }

  /** New tokens from the refresh token, else from the login proof; false when neither works. */
  private async renewSession(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    client.accessToken = null;
    const refreshToken = this.store.getMeta(META.refreshToken);
    const attempts: Array<() => Promise<{ accessToken: string; refreshToken: string }>> = [];
    if (refreshToken) attempts.push(() => client.refresh(refreshToken));
    const authKey = this.account.authKey;
    if (authKey) attempts.push(() => client.login({ login: this.account.login, authKey: authKey.toString("base64") }));
    for (const attempt of attempts) {
      try {
        const tokens = await attempt();
        client.accessToken = tokens.accessToken;
        this.store.setMeta(META.refreshToken, tokens.refreshToken);
        return true;
      } catch (error) {
        if (!(error instanceof ServerRejectedError)) throw error;
      }
    }
    return false;
  }

  get pending(): number {
    return this.store.countPendingForServer();
  }

  get isRevoked(): boolean {
    return this.revoked;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.syncTimer, this.soonTimer, this.statusTimer, this.changeTimer]) if (t) clearTimeout(t);
    await this.cycle?.catch(() => {});
    this.unsubscribe();
    await this.downloads.close().catch((error: unknown) => this.log.warn("closing downloads", error));
    await this.peers?.stop().catch((error: unknown) => this.log.warn("stopping the peer node", error));
    this.store.close();
  }
}
