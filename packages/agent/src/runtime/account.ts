/**
 * Register, log in, unlock offline. Turns a login and password into an open encrypted store and the
 * account data key, talking to the server when it can and falling back to the local key file when it
 * cannot (only on a PC that was set up before).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DecryptionError, deriveKeys, normaliseLogin, randomKey, unwrapKey, wrapKey } from "@perpetuanet/core";
import {
  deriveMasterKey,
  type KeyVault,
  NoProfileError,
  type UnlockedProfile,
  WrongPasswordError,
} from "../keys/index.ts";
import { LocalStore } from "../store/index.ts";
import { UserInputError } from "./errors.ts";
import { type ServerClient, ServerRejectedError, ServerUnreachableError, type SessionTokens } from "./server-client.ts";

export const META = {
  accountId: "account.id",
  login: "account.login",
  dataKey: "account.dataKey",
  deviceId: "device.id",
  deviceName: "device.name",
  refreshToken: "server.refreshToken",
  serverUrl: "server.url",
} as const;

/** What the user types to register or sign in. */
export interface Credentials {
  login: string;
  password: string;
  deviceName?: string | undefined;
  remember: boolean;
}

/** Everything an unlocked PC needs; the keys stay in memory only. */
export interface UnlockedAccount {
  store: LocalStore;
  accountId: string;
  login: string;
  deviceId: string;
  dataKey: Buffer;
  /** The login proof for the server, kept so an offline unlock can sign in once the server is back. */
  authKey: Buffer | null;
  /** Set when the server was reached during the unlock. */
  tokens: SessionTokens | null;
}

function newDeviceId(): string {
  // 16 base-36 characters: the HLC's device field, short enough to stay readable in logs.
  const bytes = randomBytes(16);
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

function b64(key: Buffer): string {
  return key.toString("base64");
}

export class AccountService {
  private readonly vault: KeyVault;
  private readonly logger: { warn(...a: unknown[]): void };

  constructor(vault: KeyVault, logger: { warn(...a: unknown[]): void }) {
    this.vault = vault;
    this.logger = logger;
  }

  async register(client: ServerClient, opts: Credentials): Promise<UnlockedAccount> {
    const login = checkLogin(opts.login);
    checkPassword(opts.password);
    if (this.vault.hasProfile(login)) {
      throw new UserInputError(`${login} is already set up on this PC: log in instead`, "ALREADY_SET_UP", 409);
    }
    const { authKey, keyEncryptionKey } = deriveKeys(await deriveMasterKey(login, opts.password));
    const dataKey = randomKey();
    try {
      await client.register({
        login,
        authKey: b64(authKey),
        wrappedDataKey: wrapKey(keyEncryptionKey, dataKey, "data-key"),
      });
    } catch (error) {
      if (error instanceof ServerRejectedError && error.code === "LOGIN_TAKEN") {
        throw new UserInputError(`the login ${login} is taken on this server`, "LOGIN_TAKEN", 409);
      }
      throw error;
    }
    const tokens = await client.login({ login, authKey: b64(authKey) });
    const profile = this.vault.createProfile({
      login,
      accountId: tokens.accountId,
      keyEncryptionKey,
      remember: opts.remember,
      dataKey,
    });
    return this.open(profile, { login, dataKey, authKey, tokens, deviceName: opts.deviceName });
  }

  /**
   * Logs in on the server when it answers (also the first sign-in of a new PC); unlocks with the local
   * key file when the server is unreachable and this PC was set up before.
   */
  async login(client: ServerClient | null, opts: Credentials): Promise<UnlockedAccount> {
    const login = checkLogin(opts.login);
    if (opts.password.length === 0) throw new UserInputError("enter your password", "INVALID_INPUT");
    const { authKey, keyEncryptionKey } = deriveKeys(await deriveMasterKey(login, opts.password));
    let tokens: SessionTokens | null = null;
    let unreachable: ServerUnreachableError | null = null;
    if (client) {
      try {
        tokens = await client.login({ login, authKey: b64(authKey) });
      } catch (error) {
        if (error instanceof ServerUnreachableError) unreachable = error;
        else if (error instanceof ServerRejectedError && error.code === "BAD_CREDENTIALS") {
          throw new UserInputError("wrong login or password", "WRONG_PASSWORD", 401);
        } else if (error instanceof ServerRejectedError && error.code === "RATE_LIMITED") {
          throw new UserInputError("too many failed logins: wait a few minutes and try again", "RATE_LIMITED", 429);
        } else throw error;
      }
    }
    if (tokens) {
      let dataKey: Buffer;
      try {
        dataKey = unwrapKey(keyEncryptionKey, tokens.wrappedDataKey, "data-key");
      } catch (error) {
        if (error instanceof DecryptionError) {
          throw new UserInputError(
            "the server's copy of the account key does not open with this password",
            "KEY_MISMATCH",
            409,
          );
        }
        throw error;
      }
      const profile = this.vault.hasProfile(login)
        ? this.unlockOrRecover(login, keyEncryptionKey, dataKey, opts.remember)
        : this.vault.createProfile({
            login,
            accountId: tokens.accountId,
            keyEncryptionKey,
            remember: opts.remember,
            dataKey,
          });
      if (profile.accountId !== tokens.accountId) {
        throw new UserInputError(
          `this PC holds another account named ${login} (from another server); use another data folder`,
          "ACCOUNT_MISMATCH",
          409,
        );
      }
      return this.open(profile, { login, dataKey, authKey, tokens, deviceName: opts.deviceName });
    }
    // Offline: only a PC that was set up before can unlock, with the password-wrapped key file.
    if (!this.vault.hasProfile(login)) {
      const why = unreachable ? unreachable.message : "no server is configured";
      throw new UserInputError(
        `this PC has never been set up for ${login}, and ${why}. Connect to the server once to sign in.`,
        "NOT_SET_UP",
        503,
      );
    }
    const profile = this.unlockLocal(login, keyEncryptionKey, opts.remember);
    return this.open(profile, { login, dataKey: null, authKey, tokens: null, deviceName: opts.deviceName });
  }

  /** "Remember me": unlock without the password when the OS keychain holds the database key. */
  unlockRemembered(login: string): UnlockedAccount | null {
    const profile = this.vault.unlockFromKeychain(login);
    if (!profile) return null;
    return this.open(profile, { login, dataKey: null, authKey: null, tokens: null });
  }

  /** Online: the local key file opens with this password, or (changed on another PC) with the server's data key. */
  private unlockOrRecover(login: string, kek: Buffer, dataKey: Buffer, remember: boolean): UnlockedProfile {
    let profile: UnlockedProfile;
    try {
      profile = this.vault.unlockProfile({ login, keyEncryptionKey: kek, remember });
    } catch (error) {
      if (!(error instanceof WrongPasswordError)) throw error;
      try {
        profile = this.vault.recoverProfile({ login, dataKey, keyEncryptionKey: kek, remember });
      } catch (inner) {
        if (inner instanceof WrongPasswordError) throw new UserInputError(inner.message, "WRONG_PASSWORD", 401);
        throw inner;
      }
    }
    this.vault.ensureDataKeyCopy({ login, keyEncryptionKey: kek, dbKey: profile.dbKey, dataKey });
    return profile;
  }

  private unlockLocal(login: string, kek: Buffer, remember: boolean): UnlockedProfile {
    try {
      return this.vault.unlockProfile({ login, keyEncryptionKey: kek, remember });
    } catch (error) {
      if (error instanceof WrongPasswordError) throw new UserInputError(error.message, "WRONG_PASSWORD", 401);
      if (error instanceof NoProfileError) throw new UserInputError(error.message, "NOT_SET_UP", 503);
      throw error;
    }
  }

  private open(
    profile: UnlockedProfile,
    a: {
      login: string;
      dataKey: Buffer | null;
      authKey: Buffer | null;
      tokens: SessionTokens | null;
      deviceName?: string | undefined;
    },
  ): UnlockedAccount {
    const store = LocalStore.open({ path: profile.dbPath, key: profile.dbKey });
    try {
      const known = store.getMeta(META.dataKey);
      const dataKey = a.dataKey ?? (known ? Buffer.from(known, "base64") : null);
      if (!dataKey) throw new Error("the local database has no account key; log in once while the server is reachable");
      if (known && a.dataKey && known !== b64(a.dataKey)) {
        this.logger.warn("the account data key changed on the server; using the server's");
      }
      store.setMeta(META.dataKey, b64(dataKey));
      store.setMeta(META.accountId, profile.accountId);
      store.setMeta(META.login, normaliseLogin(a.login));
      let deviceId = store.getMeta(META.deviceId);
      if (!deviceId) {
        deviceId = newDeviceId();
        store.setMeta(META.deviceId, deviceId);
      }
      if (a.deviceName?.trim()) store.setMeta(META.deviceName, a.deviceName.trim().slice(0, 200));
      else if (!store.getMeta(META.deviceName)) store.setMeta(META.deviceName, hostname().slice(0, 200) || "PC");
      if (a.tokens) store.setMeta(META.refreshToken, a.tokens.refreshToken);
      return {
        store,
        accountId: profile.accountId,
        login: normaliseLogin(a.login),
        deviceId,
        dataKey,
        authKey: a.authKey,
        tokens: a.tokens,
      };
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** Password change: the server gets the new proof and the re-wrapped data key; this PC re-wraps its key file. */
  async changePassword(opts: {
    client: ServerClient;
    login: string;
    dataKey: Buffer;
    oldPassword: string;
    newPassword: string;
  }): Promise<Buffer> {
    checkPassword(opts.newPassword);
    const old = deriveKeys(await deriveMasterKey(opts.login, opts.oldPassword));
    const next = deriveKeys(await deriveMasterKey(opts.login, opts.newPassword));
    try {
      await opts.client.changePassword({
        authKey: b64(old.authKey),
        newAuthKey: b64(next.authKey),
        newWrappedDataKey: wrapKey(next.keyEncryptionKey, opts.dataKey, "data-key"),
      });
    } catch (error) {
      if (error instanceof ServerRejectedError && (error.code === "BAD_CREDENTIALS" || error.status === 401)) {
        throw new UserInputError("the current password is wrong", "WRONG_PASSWORD", 401);
      }
      throw error;
    }
    this.vault.rewrapProfile({
      login: opts.login,
      oldKeyEncryptionKey: old.keyEncryptionKey,
      newKeyEncryptionKey: next.keyEncryptionKey,
      dataKey: opts.dataKey,
    });
    return next.authKey;
  }
}

function checkLogin(login: string): string {
  const l = normaliseLogin(login ?? "");
  if (l.length === 0 || l.length > 200) throw new UserInputError("enter a login (1 to 200 characters)");
  return l;
}

function checkPassword(password: string): void {
  if (typeof password !== "string" || password.length < 8) {
    throw new UserInputError("choose a password of at least 8 characters", "WEAK_PASSWORD");
  }
  if (password.length > 1024) throw new UserInputError("the password is too long (1024 characters at most)");
}
