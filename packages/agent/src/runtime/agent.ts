/**
 * The agent: one per PC and data folder. It is locked until the user logs in (or the OS keychain
 * unlocks a remembered account), watches the central server all the time, and while unlocked runs a
 * Session (store, sync, peers, torrents). The local API and the CLI drive it; the UI listens to its events.
 */
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type {
  AgentEvent,
  ConnectivityState,
  LoginRequest,
  RegisterRequest,
  SettingsView,
  StatusView,
  SyncView,
} from "@perpetuanet/core";
import { type KeychainBackend, KeyVault } from "../keys/index.ts";
import { AccountService, type Credentials, META, type UnlockedAccount } from "./account.ts";
import { ConnectivityMonitor } from "./connectivity.ts";
import { LockedError, UserInputError } from "./errors.ts";
import { normaliseFingerprint, normaliseServerUrl, ServerClient } from "./server-client.ts";
import { type Logger, type PeerNodeFactory, Session } from "./session.ts";
import { type DeviceSettings, SETTING_KEYS } from "./settings.ts";

export const AGENT_VERSION = "0.1.0";

export interface AgentOptions {
  dataDir: string;
  /** Server used when the user does not name one (and until they do). */
  serverUrl?: string | null;
  tlsFingerprint?: string | null;
  health?: { intervalMs?: number; timeoutMs?: number; maxBackoffMs?: number; failureThreshold?: number };
  /** How often to pull from the server while online (pushes also happen right after local writes). */
  syncIntervalMs?: number;
  /** Messages per sync request (default 500). */
  syncBatchSize?: number;
  /** false: no peer-to-peer sync. */
  p2p?: false | { listen?: string[]; mdns?: boolean; redialIntervalMs?: number; antiEntropyIntervalMs?: number };
  /** Defaults for this PC's settings until the user changes them. */
  deviceDefaults?: Partial<DeviceSettings>;
  /** Defaults to the OS keychain; null for none. */
  keychain?: KeychainBackend | null;
  logger?: Logger;
}

/** Plain settings needed before unlocking: which server, and which login to unlock from the keychain. */
interface ClientConfig {
  serverUrl: string | null;
  tlsFingerprint: string | null;
  rememberedLogin: string | null;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export class Agent extends EventEmitter<{ event: [AgentEvent] }> {
  readonly dataDir: string;
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly vault: KeyVault;
  private readonly accounts: AccountService;
  private config: ClientConfig;
  private client: ServerClient | null = null;
  private monitor: ConnectivityMonitor | null = null;
  private current: Session | null = null;
  /** Serialises lock/unlock so two logins cannot race. */
  private transition: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(opts: AgentOptions, vault: KeyVault) {
    super();
    this.setMaxListeners(0);
    this.opts = opts;
    this.dataDir = opts.dataDir;
    this.log = opts.logger ?? silent;
    this.vault = vault;
    this.accounts = new AccountService(vault, this.log);
    this.config = this.readConfig();
    if (opts.serverUrl && !this.config.serverUrl) {
      this.config.serverUrl = normaliseServerUrl(opts.serverUrl);
      this.config.tlsFingerprint = opts.tlsFingerprint ? normaliseFingerprint(opts.tlsFingerprint) : null;
    }
  }

  static async create(opts: AgentOptions): Promise<Agent> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    let keychainWarned = false;
    const vault = await KeyVault.open({
      dataDir: opts.dataDir,
      ...(opts.keychain !== undefined ? { keychain: opts.keychain } : {}),
      onKeychainError: (error) => {
        if (keychainWarned) return;
        keychainWarned = true;
        opts.logger?.warn(`no usable OS keychain (${error.message}); the password is needed to unlock`);
      },
    });
    const agent = new Agent(opts, vault);
    agent.connectTo(agent.config.serverUrl, agent.config.tlsFingerprint);
    if (agent.config.rememberedLogin) {
      try {
        const account = agent.accounts.unlockRemembered(agent.config.rememberedLogin);
        if (account) await agent.startSession(account);
      } catch (error) {
        agent.log.warn("could not unlock the remembered account", (error as Error).message);
      }
    }
    return agent;
  }

  // ---- configuration and connectivity ----

  private readConfig(): ClientConfig {
    const path = join(this.dataDir, "client.json");
    const empty: ClientConfig = { serverUrl: null, tlsFingerprint: null, rememberedLogin: null };
    if (!existsSync(path)) return empty;
    try {
      return { ...empty, ...(JSON.parse(readFileSync(path, "utf8")) as Partial<ClientConfig>) };
    } catch {
      return empty;
    }
  }

  private saveConfig(): void {
    const path = join(this.dataDir, "client.json");
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.config, null, 2), { mode: 0o600 });
    renameSync(tmp, path);
  }

  /** Replaces the server client and its monitor (a new URL or fingerprint). */
  private connectTo(serverUrl: string | null, fingerprint: string | null): void {
    this.monitor?.stop();
    void this.client?.close();
    this.client = serverUrl ? new ServerClient({ url: serverUrl, tlsFingerprint: fingerprint }) : null;
    this.monitor = null;
    if (this.client) {
      const client = this.client;
      const h = this.opts.health ?? {};
      const monitor = new ConnectivityMonitor({
        probe: async (timeoutMs) => {
          await client.health(timeoutMs);
        },
        intervalMs: h.intervalMs ?? 5000,
        timeoutMs: h.timeoutMs ?? 3000,
        maxBackoffMs: h.maxBackoffMs ?? 30_000,
        ...(h.failureThreshold ? { failureThreshold: h.failureThreshold } : {}),
      });
      monitor.on("change", (t) => {
        this.log.info(`central server ${t.state}${t.detail ? `: ${t.detail}` : ""}`);
        this.current?.onConnectivity(t);
        this.emitStatus();
      });
      this.monitor = monitor;
      if (!this.closed) monitor.start();
    }
    this.current?.attachServer(this.client, this.monitor);
  }

  /** A client for the server the user typed (login form), switching to it when it differs. */
  private useServer(serverUrl: string | undefined, fingerprint: string | undefined): ServerClient | null {
    if (serverUrl === undefined || serverUrl.trim() === "") return this.client;
    let url: string;
    let fp: string | null;
    try {
      url = normaliseServerUrl(serverUrl);
      // Not naming a fingerprint keeps the one pinned for this same server; an empty one removes it.
      if (fingerprint === undefined) fp = url === this.config.serverUrl ? this.config.tlsFingerprint : null;
      else fp = fingerprint.trim() ? normaliseFingerprint(fingerprint) : null;
    } catch (error) {
      throw new UserInputError((error as Error).message, "INVALID_SERVER");
    }
    if (url !== this.config.serverUrl || fp !== this.config.tlsFingerprint) {
      this.config.serverUrl = url;
      this.config.tlsFingerprint = fp;
      this.saveConfig();
      this.connectTo(url, fp);
    }
    return this.client;
  }

  // ---- lock state ----

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.transition.then(fn, fn);
    this.transition = run.catch(() => {});
    return run;
  }

  get session(): Session {
    if (!this.current) throw new LockedError();
    return this.current;
  }

  get unlocked(): boolean {
    return this.current !== null;
  }

  register(req: RegisterRequest): Promise<StatusView> {
    return this.signIn(req, (client, credentials) => {
      if (!client) throw new UserInputError("enter the server's address", "INVALID_SERVER");
      return this.accounts.register(client, credentials);
    });
  }

  login(req: LoginRequest): Promise<StatusView> {
    return this.signIn(req, (client, credentials) => this.accounts.login(client, credentials));
  }

  private signIn(
    req: LoginRequest,
    open: (client: ServerClient | null, credentials: Credentials) => Promise<UnlockedAccount>,
  ): Promise<StatusView> {
    return this.serialise(async () => {
      if (this.current) {
        if (this.current.account.login === req.login.trim().toLowerCase()) return this.status();
        throw new UserInputError("log out first", "ALREADY_UNLOCKED", 409);
      }
      const client = this.useServer(req.serverUrl, req.tlsFingerprint);
      const remember = req.remember === true;
      const account = await open(client, {
        login: req.login,
        password: req.password,
        deviceName: req.deviceName,
        remember,
      });
      await this.startSession(account, remember);
      return this.status();
    });
  }

  private async startSession(account: UnlockedAccount, remember?: boolean): Promise<void> {
    if (remember !== undefined) {
      this.config.rememberedLogin = remember ? account.login : null;
      this.saveConfig();
    }
    if (account.tokens && this.monitor) this.monitor.reportSuccess();
    this.current = await Session.start({
      account,
      client: this.client,
      monitor: this.monitor,
      syncIntervalMs: this.opts.syncIntervalMs ?? 5000,
      syncBatchSize: this.opts.syncBatchSize ?? 500,
      maxBackoffMs: this.opts.health?.maxBackoffMs ?? 30_000,
      deviceDefaults: this.deviceDefaults(),
      createPeerNode: this.peerNodeFactory(),
      emit: (event) => this.emit("event", event),
      statusChanged: () => this.emitStatus(),
      logger: this.log,
    });
    this.log.info(`unlocked ${account.login} (device ${account.deviceId})`);
    this.emitStatus();
  }

  private peerNodeFactory(): PeerNodeFactory | null {
    const p2p = this.opts.p2p;
    if (p2p === false) return null;
    return async (o) => {
      const { createP2PNode } = await import("../p2p/index.ts");
      return createP2PNode({
        ...o,
        ...(p2p?.listen ? { listen: p2p.listen } : {}),
        ...(p2p?.mdns !== undefined ? { mdns: p2p.mdns } : {}),
        ...(p2p?.redialIntervalMs ? { redialIntervalMs: p2p.redialIntervalMs } : {}),
        ...(p2p?.antiEntropyIntervalMs ? { antiEntropyIntervalMs: p2p.antiEntropyIntervalMs } : {}),
        logger: this.log,
      });
    };
  }

  private deviceDefaults(): DeviceSettings {
    return {
      downloadFolder: join(homedir(), "Downloads", "PerpetuaNet"),
      maxConnections: 55,
      downloadLimit: 0,
      uploadLimit: 0,
      seeding: true,
      dht: true,
      trackers: true,
      startMinimised: false,
      ...this.opts.deviceDefaults,
    };
  }

  logout(): Promise<StatusView> {
    return this.serialise(async () => {
      const session = this.current;
      if (!session) return this.status();
      this.current = null;
      if (this.client?.accessToken) await this.client.logout().catch(() => {});
      if (this.client) this.client.accessToken = null;
      session.store.setMeta(META.refreshToken, "");
      this.vault.forgetKeychain(session.account.login);
      if (this.config.rememberedLogin) {
        this.config.rememberedLogin = null;
        this.saveConfig();
      }
      await session.close();
      this.emitStatus();
      return this.status();
    });
  }

  changePassword(oldPassword: string, newPassword: string): Promise<StatusView> {
    return this.serialise(async () => {
      const session = this.session;
      if (!this.client || this.monitor?.state !== "online") {
        throw new UserInputError("the password can only be changed while the server is reachable", "OFFLINE", 503);
      }
      const authKey = await this.accounts.changePassword({
        client: this.client,
        login: session.account.login,
        dataKey: session.account.dataKey,
        oldPassword,
        newPassword,
      });
      session.account.authKey = authKey;
      return this.status();
    });
  }

  // ---- views ----

  private connectivity(): ConnectivityState {
    if (this.monitor?.state !== "online") return "offline";
    return this.current?.syncing ? "syncing" : "online";
  }

  status(): StatusView {
    const s = this.current;
    return {
      lock: s ? "unlocked" : this.vault.hasAnyProfile() ? "locked" : "setup",
      login: s?.account.login ?? this.config.rememberedLogin,
      serverUrl: this.config.serverUrl,
      device: s
        ? { id: s.account.deviceId, name: s.store.getMeta(META.deviceName) ?? "PC", peerId: s.identity.peerId }
        : null,
      connectivity: this.connectivity(),
      pending: s?.pending ?? 0,
      lastSyncAt: s?.lastSyncAt ?? null,
      lastError: s?.lastError ?? this.monitor?.lastError ?? null,
      version: AGENT_VERSION,
    };
  }

  private emitStatus(): void {
    if (!this.closed) this.emit("event", { type: "status", status: this.status() });
  }

  syncView(): SyncView {
    const s = this.session;
    return {
      connectivity: this.connectivity(),
      pending: s.pending,
      lastSyncAt: s.lastSyncAt,
      lastError: s.lastError ?? this.monitor?.lastError ?? null,
      history: (this.monitor?.history ?? [])
        .filter((t) => t.state !== "unknown")
        .map((t) => ({ state: t.state as ConnectivityState, at: t.at, detail: t.detail })),
    };
  }

  async syncNow(): Promise<SyncView> {
    await this.session.syncNow();
    return this.syncView();
  }

  settingsView(): SettingsView {
    return {
      ...this.session.settings.get(),
      serverUrl: this.config.serverUrl,
      tlsFingerprint: this.config.tlsFingerprint,
    };
  }

  updateSettings(patch: Partial<SettingsView>): SettingsView {
    const session = this.session;
    const device: Partial<DeviceSettings> = {};
    for (const key of SETTING_KEYS) if (key in patch) (device as Record<string, unknown>)[key] = patch[key];
    if (patch.serverUrl !== undefined || patch.tlsFingerprint !== undefined) {
      const url = patch.serverUrl ?? this.config.serverUrl ?? "";
      const fp = patch.tlsFingerprint === undefined ? this.config.tlsFingerprint : patch.tlsFingerprint;
      this.useServer(url, fp ?? "");
    }
    session.settings.update(device);
    return this.settingsView();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serialise(async () => {
      this.closed = true;
      this.monitor?.stop();
      const s = this.current;
      this.current = null;
      await s?.close();
      await this.client?.close();
    });
    this.removeAllListeners();
  }
}
