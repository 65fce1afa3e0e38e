import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { deriveKeys, randomKey } from "@perpetuanet/core";
import { describe, expect, it } from "vitest";
import {
  deriveMasterKey,
  type KeychainBackend,
  KeyVault,
  NoProfileError,
  osKeychain,
  WrongPasswordError,
} from "../../src/keys/index.ts";
import { defaultDataDir, resolveDataDir } from "../../src/paths.ts";
import { LocalStore } from "../../src/store/index.ts";
import { useTempDirs } from "../helpers/temp-dirs.ts";

const tempDir = useTempDirs("pn-keys-");

/** Stands in for an OS keychain on machines that have none (these CI machines have no Secret Service). */
function memoryKeychain(): KeychainBackend & { secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  return {
    secrets,
    get: (a) => secrets.get(a) ?? null,
    set: (a, s) => void secrets.set(a, s),
    delete: (a) => void secrets.delete(a),
  };
}

describe("password-derived keys", () => {
  it("derives the same keys from the same login and password, different ones otherwise", async () => {
    const a = deriveKeys(await deriveMasterKey("Alice@Example.org ", "correct horse"));
    const b = deriveKeys(await deriveMasterKey("alice@example.org", "correct horse"));
    const c = deriveKeys(await deriveMasterKey("alice@example.org", "wrong horse"));
    const d = deriveKeys(await deriveMasterKey("bob@example.org", "correct horse"));
    expect(a.keyEncryptionKey.equals(b.keyEncryptionKey)).toBe(true);
    expect(a.keyEncryptionKey.equals(c.keyEncryptionKey)).toBe(false);
    expect(a.authKey.equals(d.authKey)).toBe(false);
  });
});

describe("key vault", () => {
  it("opens with the new password after it was changed on another PC, using the server's data key", async () => {
    const dataDir = tempDir();
    const oldKek = deriveKeys(await deriveMasterKey("alice", "old password")).keyEncryptionKey;
    const newKek = deriveKeys(await deriveMasterKey("alice", "new password")).keyEncryptionKey;
    const dataKey = randomKey();
    const vault = await KeyVault.open({ dataDir, keychain: null });
    const created = vault.createProfile({
      login: "alice",
      accountId: "acc-1",
      keyEncryptionKey: oldKek,
      remember: false,
      dataKey,
    });
    // The new password does not open the local key file by itself...
    expect(() => vault.unlockProfile({ login: "alice", keyEncryptionKey: newKek, remember: false })).toThrow(
      WrongPasswordError,
    );
    // ...a wrong data key does not help...
    expect(() =>
      vault.recoverProfile({ login: "alice", dataKey: randomKey(), keyEncryptionKey: newKek, remember: false }),
    ).toThrow(WrongPasswordError);
    // ...the account's data key does, and afterwards the new password alone unlocks (offline too).
    const recovered = vault.recoverProfile({ login: "alice", dataKey, keyEncryptionKey: newKek, remember: false });
    expect(recovered.dbKey.equals(created.dbKey)).toBe(true);
    expect(vault.unlockProfile({ login: "alice", keyEncryptionKey: newKek, remember: false }).dbKey).toEqual(
      created.dbKey,
    );
    expect(() => vault.unlockProfile({ login: "alice", keyEncryptionKey: oldKek, remember: false })).toThrow(
      WrongPasswordError,
    );
  });

  it("creates an obfuscated profile and unlocks it offline with the password only", async () => {
    const dataDir = tempDir();
    const kek = deriveKeys(await deriveMasterKey("alice", "pw-1")).keyEncryptionKey;
    const vault = await KeyVault.open({ dataDir, keychain: null });
    const created = vault.createProfile({ login: "alice", accountId: "acc-1", keyEncryptionKey: kek, remember: false });
    const store = LocalStore.open({ path: created.dbPath, key: created.dbKey });
    store.setMeta("hello", "world");
    store.close();

    const files = readdirSync(dataDir);
    expect(files.some((f) => f.includes("alice") || f.includes("acc-1"))).toBe(false);
    expect(readFileSync(join(dataDir, "profiles.json"), "utf8")).not.toContain("alice");

    const again = await KeyVault.open({ dataDir, keychain: null });
    const unlocked = again.unlockProfile({ login: "ALICE", keyEncryptionKey: kek, remember: false });
    expect(unlocked.dbPath).toBe(created.dbPath);
    const reopened = LocalStore.open({ path: unlocked.dbPath, key: unlocked.dbKey });
    expect(reopened.getMeta("hello")).toBe("world");
    reopened.close();
  });

  it("names a wrong password and a PC that was never set up", async () => {
    const dataDir = tempDir();
    const vault = await KeyVault.open({ dataDir, keychain: null });
    const kek = deriveKeys(await deriveMasterKey("alice", "pw-1")).keyEncryptionKey;
    vault.createProfile({ login: "alice", accountId: "acc-1", keyEncryptionKey: kek, remember: false });
    const wrong = deriveKeys(await deriveMasterKey("alice", "pw-2")).keyEncryptionKey;
    expect(() => vault.unlockProfile({ login: "alice", keyEncryptionKey: wrong, remember: false })).toThrow(
      WrongPasswordError,
    );
    expect(() => vault.unlockProfile({ login: "alice", keyEncryptionKey: wrong, remember: false })).toThrow(
      "wrong password for alice on this PC",
    );
    expect(() => vault.unlockProfile({ login: "carol", keyEncryptionKey: kek, remember: false })).toThrow(
      NoProfileError,
    );
    expect(vault.hasProfile("alice")).toBe(true);
  });

  it("falls back to the password-wrapped key file when the OS keychain is unavailable", async () => {
    const dataDir = tempDir();
    const errors: Error[] = [];
    // The real OS keychain: on these machines there is no Secret Service and every call fails.
    const keychain = await osKeychain();
    const vault = await KeyVault.open({ dataDir, keychain, onKeychainError: (e) => errors.push(e) });
    const kek = deriveKeys(await deriveMasterKey("alice", "pw")).keyEncryptionKey;
    const created = vault.createProfile({ login: "alice", accountId: "acc-1", keyEncryptionKey: kek, remember: true });
    if (!created.inKeychain) {
      expect(errors.length).toBeGreaterThan(0);
      expect(vault.unlockFromKeychain("alice")).toBeUndefined();
    }
    const unlocked = vault.unlockProfile({ login: "alice", keyEncryptionKey: kek, remember: true });
    expect(unlocked.dbKey.equals(created.dbKey)).toBe(true);
    vault.forgetKeychain("alice");
  });

  it("unlocks after a restart from the keychain when remembered, and forgets on request", async () => {
    const dataDir = tempDir();
    const keychain = memoryKeychain();
    const kek = deriveKeys(await deriveMasterKey("alice", "pw")).keyEncryptionKey;
    const vault = await KeyVault.open({ dataDir, keychain });
    const created = vault.createProfile({ login: "alice", accountId: "acc-1", keyEncryptionKey: kek, remember: true });
    expect(created.inKeychain).toBe(true);
    const restarted = await KeyVault.open({ dataDir, keychain });
    expect(restarted.unlockFromKeychain("alice")?.dbKey.equals(created.dbKey)).toBe(true);
    restarted.forgetKeychain("alice");
    expect(restarted.unlockFromKeychain("alice")).toBeUndefined();
    expect(keychain.secrets.size).toBe(0);
  });

  it("re-wraps the database key on password change", async () => {
    const dataDir = tempDir();
    const vault = await KeyVault.open({ dataDir, keychain: null });
    const oldKek = deriveKeys(await deriveMasterKey("alice", "old")).keyEncryptionKey;
    const newKek = deriveKeys(await deriveMasterKey("alice", "new")).keyEncryptionKey;
    const created = vault.createProfile({
      login: "alice",
      accountId: "acc-1",
      keyEncryptionKey: oldKek,
      remember: false,
    });
    vault.rewrapProfile({ login: "alice", oldKeyEncryptionKey: oldKek, newKeyEncryptionKey: newKek });
    expect(vault.unlockProfile({ login: "alice", keyEncryptionKey: newKek, remember: false }).dbKey).toEqual(
      created.dbKey,
    );
    expect(() => vault.unlockProfile({ login: "alice", keyEncryptionKey: oldKek, remember: false })).toThrow(
      WrongPasswordError,
    );
  });
});

describe("data folder", () => {
  it("follows each OS's convention and honours the overrides", () => {
    expect(defaultDataDir("linux", {}, "/home/u")).toBe("/home/u/.config/perpetuanet");
    expect(defaultDataDir("linux", { XDG_CONFIG_HOME: "/cfg" }, "/home/u")).toBe("/cfg/perpetuanet");
    expect(defaultDataDir("win32", { ProgramData: "D:\\ProgramData" }, "C:\\Users\\u")).toBe(
      "D:\\ProgramData\\PerpetuaNet",
    );
    expect(defaultDataDir("win32", {}, "C:\\Users\\u")).toBe("C:\\ProgramData\\PerpetuaNet");
    expect(defaultDataDir("darwin", {}, "/Users/u")).toBe("/Users/u/Library/Application Support/PerpetuaNet");
    expect(resolveDataDir("/flag", { PERPETUANET_DATA_DIR: "/env" })).toBe("/flag");
    expect(resolveDataDir(undefined, { PERPETUANET_DATA_DIR: "/env" })).toBe("/env");
  });
});
