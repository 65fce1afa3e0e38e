/**
 * Local key handling. The database key is random; it is stored wrapped by the password-derived
 * key-encryption key in `<stem>.key`, and (if the user chose "remember me") in the OS keychain.
 * File names are obfuscated: `<stem>` = sha256(accountId + per-installation salt).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashRaw } from "@node-rs/argon2";
import {
  accountSalt,
  DecryptionError,
  normaliseLogin,
  PASSWORD_KDF,
  randomKey,
  unwrapKey,
  wrapKey,
} from "@perpetuanet/core";

// @node-rs/argon2 declares Algorithm as an ambient const enum; 2 is Argon2id.
const ARGON2ID = 2;

export class WrongPasswordError extends Error {
  constructor(login: string) {
    super(`wrong password for ${login} on this PC`);
    this.name = "WrongPasswordError";
  }
}

export class NoProfileError extends Error {
  constructor(login: string) {
    super(`this PC has never been set up for ${login}; connect to the server once to sign in`);
    this.name = "NoProfileError";
  }
}

/** Password -> master key (Argon2id, per-account salt). */
export async function deriveMasterKey(login: string, password: string): Promise<Buffer> {
  return hashRaw(password, {
    algorithm: ARGON2ID,
    memoryCost: PASSWORD_KDF.memoryCost,
    timeCost: PASSWORD_KDF.timeCost,
    parallelism: PASSWORD_KDF.parallelism,
    outputLen: PASSWORD_KDF.outputLen,
    salt: accountSalt(login),
  });
}

/** The OS keychain, as far as we need it. Every call may throw (no Secret Service, locked keychain...). */
export interface KeychainBackend {
  get(account: string): string | null;
  set(account: string, secret: string): void;
  delete(account: string): void;
}

const KEYCHAIN_SERVICE = "PerpetuaNet";

export async function osKeychain(): Promise<KeychainBackend> {
  const { Entry } = await import("@napi-rs/keyring");
  return {
    get: (account) => new Entry(KEYCHAIN_SERVICE, account).getPassword(),
    set: (account, secret) => new Entry(KEYCHAIN_SERVICE, account).setPassword(secret),
    delete: (account) => {
      new Entry(KEYCHAIN_SERVICE, account).deletePassword();
    },
  };
}

interface ProfileIndex {
  version: 1;
  localSalt: string;
  profiles: Record<string, { stem: string; accountId: string }>;
}

interface KeyFile {
  version: 1;
  kdf: typeof PASSWORD_KDF & { algorithm: "argon2id" };
  wrappedDbKey: string;
  /**
   * The same database key wrapped by the account data key. After a password change on another PC,
   * the next online login gets the data key from the server (wrapped by the new password) and uses
   * this copy to re-wrap the file; the old password keeps working offline until then.
   */
  wrappedDbKeyByDataKey?: string;
}

export interface UnlockedProfile {
  stem: string;
  dbPath: string;
  dbKey: Buffer;
  accountId: string;
  /** Whether the key is (now) in the OS keychain. False when the user did not ask or there is no keychain. */
  inKeychain: boolean;
}

export interface KeyVaultOptions {
  dataDir: string;
  /** Defaults to the OS keychain; pass null for none. */
  keychain?: KeychainBackend | null;
  onKeychainError?: (error: Error) => void;
}

/** Profiles of the accounts used on this PC, each an encrypted database plus its wrapped key. */
export class KeyVault {
  readonly dataDir: string;
  private readonly keychain: KeychainBackend | null;
  private readonly onKeychainError: (error: Error) => void;

  constructor(opts: KeyVaultOptions) {
    this.dataDir = opts.dataDir;
    this.keychain = opts.keychain ?? null;
    this.onKeychainError = opts.onKeychainError ?? (() => {});
  }

  static async open(
    opts: Omit<KeyVaultOptions, "keychain"> & { keychain?: KeychainBackend | null },
  ): Promise<KeyVault> {
    const keychain = opts.keychain === undefined ? await osKeychain().catch(() => null) : opts.keychain;
    return new KeyVault({ ...opts, keychain });
  }

  hasProfile(login: string): boolean {
    return this.lookup(login) !== undefined;
  }

  /** Whether any account was ever set up on this PC (the app then asks for a password, not a registration). */
  hasAnyProfile(): boolean {
    return Object.keys(this.readIndex().profiles).length > 0;
  }

  createProfile(opts: {
    login: string;
    accountId: string;
    keyEncryptionKey: Buffer;
    remember: boolean;
    /** The account data key, for the copy of the database key that survives password changes. */
    dataKey?: Buffer;
  }): UnlockedProfile {
    const index = this.readIndex();
    const stem = createHash("sha256").update(`${opts.accountId}\u0000${index.localSalt}`).digest("hex").slice(0, 32);
    const dbKey = randomKey();
    this.writeKeyFile(stem, opts.keyEncryptionKey, dbKey, opts.dataKey);
    index.profiles[this.loginHash(index, opts.login)] = { stem, accountId: opts.accountId };
    this.writeJson(join(this.dataDir, "profiles.json"), index);
    const inKeychain = this.rememberChoice(stem, dbKey, opts.remember);
    return { stem, dbPath: this.dbPath(stem), dbKey, accountId: opts.accountId, inKeychain };
  }

  /** Offline-capable unlock with the password-derived key. */
  unlockProfile(opts: { login: string; keyEncryptionKey: Buffer; remember: boolean }): UnlockedProfile {
    const entry = this.lookup(opts.login);
    if (!entry) throw new NoProfileError(opts.login);
    const keyFile = this.readKeyFile(entry.stem);
    let dbKey: Buffer;
    try {
      dbKey = unwrapKey(opts.keyEncryptionKey, keyFile.wrappedDbKey, "db-key");
    } catch (error) {
      if (error instanceof DecryptionError) throw new WrongPasswordError(opts.login);
      throw error;
    }
    const inKeychain = this.rememberChoice(entry.stem, dbKey, opts.remember);
    return { stem: entry.stem, dbPath: this.dbPath(entry.stem), dbKey, accountId: entry.accountId, inKeychain };
  }

  /**
   * The password was changed on another PC: the key file does not open with the new password, but the
   * account data key (from the server, opened with the new password) opens its second copy. The file is
   * re-wrapped with the new key. Throws WrongPasswordError when that copy is missing or does not open.
   */
  recoverProfile(opts: {
    login: string;
    dataKey: Buffer;
    keyEncryptionKey: Buffer;
    remember: boolean;
  }): UnlockedProfile {
    const entry = this.lookup(opts.login);
    if (!entry) throw new NoProfileError(opts.login);
    const keyFile = this.readKeyFile(entry.stem);
    if (!keyFile.wrappedDbKeyByDataKey) throw new WrongPasswordError(opts.login);
    let dbKey: Buffer;
    try {
      dbKey = unwrapKey(opts.dataKey, keyFile.wrappedDbKeyByDataKey, "db-key-by-data-key");
    } catch (error) {
      if (error instanceof DecryptionError) throw new WrongPasswordError(opts.login);
      throw error;
    }
    this.writeKeyFile(entry.stem, opts.keyEncryptionKey, dbKey, opts.dataKey);
    const inKeychain = this.rememberChoice(entry.stem, dbKey, opts.remember);
    return { stem: entry.stem, dbPath: this.dbPath(entry.stem), dbKey, accountId: entry.accountId, inKeychain };
  }

  /** Adds the data-key copy to a key file written before it existed (or by an offline unlock). */
  ensureDataKeyCopy(opts: { login: string; keyEncryptionKey: Buffer; dbKey: Buffer; dataKey: Buffer }): void {
    const entry = this.lookup(opts.login);
    if (!entry || this.readKeyFile(entry.stem).wrappedDbKeyByDataKey) return;
    this.writeKeyFile(entry.stem, opts.keyEncryptionKey, opts.dbKey, opts.dataKey);
  }

  /** "Remember me": unlock after a reboot without the password, if the keychain has the key. */
  unlockFromKeychain(login: string): UnlockedProfile | undefined {
    const entry = this.lookup(login);
    if (!entry || !this.keychain) return undefined;
    let secret: string | null = null;
    try {
      secret = this.keychain.get(entry.stem);
    } catch (error) {
      this.onKeychainError(error as Error);
      return undefined;
    }
    if (!secret) return undefined;
    return { ...entry, dbPath: this.dbPath(entry.stem), dbKey: Buffer.from(secret, "base64"), inKeychain: true };
  }

  /** Password change: same database key, wrapped by the new key-encryption key. */
  rewrapProfile(opts: {
    login: string;
    oldKeyEncryptionKey: Buffer;
    newKeyEncryptionKey: Buffer;
    dataKey?: Buffer;
  }): void {
    const unlocked = this.unlockProfile({
      login: opts.login,
      keyEncryptionKey: opts.oldKeyEncryptionKey,
      remember: false,
    });
    this.writeKeyFile(unlocked.stem, opts.newKeyEncryptionKey, unlocked.dbKey, opts.dataKey);
  }

  forgetKeychain(login: string): void {
    const entry = this.lookup(login);
    if (entry) this.keychainDelete(entry.stem);
  }

  /** "Remember me" puts the key in the keychain; not remembering removes any earlier copy. */
  private rememberChoice(stem: string, dbKey: Buffer, remember: boolean): boolean {
    if (remember) return this.keychainSet(stem, dbKey);
    this.keychainDelete(stem);
    return false;
  }

  private keychainSet(stem: string, dbKey: Buffer): boolean {
    if (!this.keychain) return false;
    try {
      this.keychain.set(stem, dbKey.toString("base64"));
      return true;
    } catch (error) {
      // No keychain (headless Linux has no Secret Service): the password-wrapped key file still works.
      this.onKeychainError(error as Error);
      return false;
    }
  }

  private keychainDelete(stem: string): void {
    if (!this.keychain) return;
    try {
      this.keychain.delete(stem);
    } catch (error) {
      this.onKeychainError(error as Error);
    }
  }

  private lookup(login: string): { stem: string; accountId: string } | undefined {
    const index = this.readIndex();
    return index.profiles[this.loginHash(index, login)];
  }

  private loginHash(index: ProfileIndex, login: string): string {
    return createHash("sha256")
      .update(`${index.localSalt}\u0000${normaliseLogin(login)}`)
      .digest("hex");
  }

  private readIndex(): ProfileIndex {
    const path = join(this.dataDir, "profiles.json");
    if (!existsSync(path)) return { version: 1, localSalt: randomBytes(16).toString("hex"), profiles: {} };
    return JSON.parse(readFileSync(path, "utf8")) as ProfileIndex;
  }

  private readKeyFile(stem: string): KeyFile {
    return JSON.parse(readFileSync(this.keyPath(stem), "utf8")) as KeyFile;
  }

  private writeKeyFile(stem: string, kek: Buffer, dbKey: Buffer, dataKey?: Buffer): void {
    const previous = existsSync(this.keyPath(stem)) ? this.readKeyFile(stem) : undefined;
    const file: KeyFile = {
      version: 1,
      kdf: { algorithm: "argon2id", ...PASSWORD_KDF },
      wrappedDbKey: wrapKey(kek, dbKey, "db-key"),
    };
    const copy = dataKey ? wrapKey(dataKey, dbKey, "db-key-by-data-key") : previous?.wrappedDbKeyByDataKey;
    if (copy) file.wrappedDbKeyByDataKey = copy;
    this.writeJson(this.keyPath(stem), file);
  }

  /** Write-then-rename so a crash never leaves a half-written key file. */
  private writeJson(path: string, value: unknown): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
    renameSync(tmp, path);
  }

  dbPath(stem: string): string {
    return join(this.dataDir, `${stem}.db`);
  }

  private keyPath(stem: string): string {
    return join(this.dataDir, `${stem}.key`);
  }
}
