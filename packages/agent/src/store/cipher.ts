/** The SQLCipher settings of a store's connection (also used by tests that write old-format files). */
import type Database from "better-sqlite3-multiple-ciphers";

/** SQLCipher 4 format (AES-256-CBC, HMAC-SHA512 per page) with a raw 256-bit key: no key derivation at open. */
export function useKey(db: Database.Database, key: Buffer): void {
  db.pragma("cipher='sqlcipher'");
  db.pragma("legacy=4");
  db.pragma(`key="x'${key.toString("hex")}'"`);
}
