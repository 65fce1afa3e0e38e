import { describe, expect, it } from "vitest";
import {
  changesFor,
  classifyLink,
  DecryptionError,
  decryptChange,
  deriveKeys,
  encryptChange,
  HybridLogicalClock,
  InvalidChangeError,
  parseChangeMessage,
  randomKey,
  unwrapKey,
  wrapKey,
} from "../src/index.ts";

describe("change messages", () => {
  const clock = new HybridLogicalClock("dev0a");

  it("splits a row write into one validated message per column", () => {
    const msgs = changesFor(clock, "links", "row1", { url: "https://example.org", kind: "web", tags: ["a"] });
    expect(msgs.map((m) => m.column)).toEqual(["url", "kind", "tags"]);
    expect(new Set(msgs.map((m) => m.hlc)).size).toBe(3);
  });

  it("rejects unknown tables, unknown columns and values of the wrong type", () => {
    const base = { table: "links", rowId: "r", column: "title", value: "x", hlc: clock.tick() };
    expect(parseChangeMessage(base).value).toBe("x");
    expect(() => parseChangeMessage({ ...base, table: "users" })).toThrow(/unknown table/);
    expect(() => parseChangeMessage({ ...base, column: "password" })).toThrow(/unknown column/);
    expect(() => parseChangeMessage({ ...base, column: "tags", value: "not-a-list" })).toThrow(InvalidChangeError);
    expect(() => parseChangeMessage({ ...base, hlc: "yesterday" })).toThrow(InvalidChangeError);
    expect(() => parseChangeMessage({ ...base, extra: 1 })).toThrow(InvalidChangeError);
  });
});

describe("encrypted envelopes", () => {
  const dataKey = randomKey();
  const clock = new HybridLogicalClock("dev0a");
  const [change] = changesFor(clock, "links", "row1", { title: "secret title" });

  it("round-trips and hides the payload", () => {
    const env = encryptChange(dataKey, change!, 1);
    expect(Buffer.from(env.data, "base64").toString("latin1")).not.toContain("secret title");
    expect(decryptChange(dataKey, env)).toEqual(change);
  });

  it("fails clearly with another key or a re-labelled timestamp", () => {
    const env = encryptChange(dataKey, change!, 1);
    expect(() => decryptChange(randomKey(), env)).toThrow(DecryptionError);
    expect(() => decryptChange(dataKey, { ...env, hlc: clock.tick() })).toThrow(DecryptionError);
    expect(() => decryptChange(dataKey, { ...env, seq: 2 })).toThrow(DecryptionError);
  });

  it("derives distinct auth and key-encryption keys and wraps keys", () => {
    const keys = deriveKeys(randomKey());
    expect(keys.authKey.equals(keys.keyEncryptionKey)).toBe(false);
    const wrapped = wrapKey(keys.keyEncryptionKey, dataKey, "data-key");
    expect(unwrapKey(keys.keyEncryptionKey, wrapped, "data-key").equals(dataKey)).toBe(true);
    expect(() => unwrapKey(keys.keyEncryptionKey, wrapped, "db-key")).toThrow(DecryptionError);
  });
});

describe("link classification", () => {
  it("accepts magnet, .torrent and web links and names bad ones", () => {
    expect(classifyLink("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567").kind).toBe("magnet");
    expect(classifyLink("https://example.org/files/x.torrent").kind).toBe("torrent");
    expect(classifyLink("https://example.org/").kind).toBe("web");
    expect(() => classifyLink("magnet:?dn=nohash")).toThrow(/invalid magnet link/);
    expect(() => classifyLink("magnet:?xt=urn:btih:xyz")).toThrow(/invalid magnet link/);
    expect(() => classifyLink("ftp://x/y")).toThrow(/unsupported link scheme/);
    expect(() => classifyLink("not a link")).toThrow(/not a link/);
  });
});
