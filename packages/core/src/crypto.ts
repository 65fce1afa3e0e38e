/**
 * Key hierarchy (see ARCHITECTURE.md, "Encryption and keys"):
 *   password --Argon2id(salt per account)--> master key --HKDF--> auth key (login proof) + key-encryption key
 *   random account data key: encrypts every change payload (AES-256-GCM), stored on the server wrapped by the KEK.
 * Argon2id itself is native code and lives in the I/O packages; its parameters live here so every side agrees.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Argon2id parameters for the password -> master key step (OWASP's 19 MiB/t=2 floor, raised). */
export const PASSWORD_KDF = { memoryCost: 65_536, timeCost: 3, parallelism: 1, outputLen: KEY_BYTES } as const;

export class DecryptionError extends Error {
  constructor(message = "decryption failed: wrong key or tampered data") {
    super(message);
    this.name = "DecryptionError";
  }
}

/** A per-account salt the client can compute before talking to the server (as Bitwarden salts with the email). */
export function accountSalt(login: string): Buffer {
  return createHash("sha256")
    .update(`perpetuanet/account-salt/v1\u0000${normaliseLogin(login)}`)
    .digest();
}

export function normaliseLogin(login: string): string {
  return login.trim().toLowerCase();
}

function hkdf(key: Uint8Array, info: string, length = KEY_BYTES): Buffer {
  return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), info, length));
}

export interface DerivedKeys {
  /** Sent to the server as the login proof; the server stores only an Argon2id hash of it. */
  authKey: Buffer;
  /** Wraps the account data key and the local database key; never leaves the PC. */
  keyEncryptionKey: Buffer;
}

export function deriveKeys(masterKey: Uint8Array): DerivedKeys {
  if (masterKey.length !== KEY_BYTES) throw new Error(`master key must be ${KEY_BYTES} bytes`);
  return {
    authKey: hkdf(masterKey, "perpetuanet/auth/v1"),
    keyEncryptionKey: hkdf(masterKey, "perpetuanet/kek/v1"),
  };
}

/** Pre-shared key for the libp2p private network: only holders of the account data key can handshake. */
export function privateNetworkKey(dataKey: Uint8Array): Buffer {
  return hkdf(dataKey, "perpetuanet/pnet/v1");
}

export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** AES-256-GCM; output is iv || ciphertext || tag. `aad` binds the ciphertext to its context. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`key must be ${KEY_BYTES} bytes`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  if (aad) cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`key must be ${KEY_BYTES} bytes`);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError("decryption failed: data too short");
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(0, IV_BYTES));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

export function wrapKey(kek: Uint8Array, key: Uint8Array, purpose: string): string {
  return seal(kek, key, Buffer.from(`perpetuanet/wrap/${purpose}`)).toString("base64");
}

export function unwrapKey(kek: Uint8Array, wrapped: string, purpose: string): Buffer {
  return open(kek, Buffer.from(wrapped, "base64"), Buffer.from(`perpetuanet/wrap/${purpose}`));
}
