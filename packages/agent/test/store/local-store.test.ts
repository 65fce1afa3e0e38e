import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ChangeMessage,
  changesFor,
  encryptChange,
  formatHlc,
  HybridLogicalClock,
  randomKey,
} from "@perpetuanet/core";
import Database from "better-sqlite3-multiple-ciphers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useKey } from "../../src/store/cipher.ts";
import {
  CorruptStoreError,
  InvalidEntryError,
  LocalStore,
  type LoggedMessage,
  WrongKeyError,
} from "../../src/store/index.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { useTempDirs } from "../helpers/temp-dirs.ts";

const tempDir = useTempDirs("pn-store-");
const tempPath = (): string => join(tempDir(), "store.db");

const dataKey = randomKey();
function entry(origin: string, seq: number, millis: number, change: Omit<ChangeMessage, "hlc">): LoggedMessage {
  const hlc = formatHlc({ millis, counter: 0, deviceId: origin });
  const full = { ...change, hlc } as ChangeMessage;
  return { origin, seq, hlc, data: encryptChange(dataKey, full, seq).data, change: full };
}
function writeLinks(
  store: LocalStore,
  clock: HybridLogicalClock,
  rows: Array<{ id: string; title: string; notes?: string; tags?: string[] }>,
) {
  for (const r of rows) {
    const changes = changesFor(clock, "links", r.id, {
      url: `https://example.org/${r.id}`,
      kind: "web",
      title: r.title,
      notes: r.notes ?? "",
      tags: r.tags ?? [],
      createdAt: 1,
    });
    store.writeLocal(clock.deviceId, changes, (c, seq) => encryptChange(dataKey, c, seq));
  }
}

describe("encrypted local store", () => {
  it("keeps no plaintext of a stored link on disk", () => {
    const path = tempPath();
    const key = randomKey();
    const store = LocalStore.open({ path, key });
    writeLinks(store, new HybridLogicalClock("pc00aaaa"), [
      { id: "l1", title: "Zanzibar-Holiday-Footage", notes: "ultrasecretnote", tags: ["privatetag"] },
    ]);
    // Read the bytes while open too: the WAL holds recent pages before a checkpoint.
    const walBytes = existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0);
    store.close();
    for (const bytes of [readFileSync(path), walBytes]) {
      for (const secret of ["Zanzibar-Holiday-Footage", "ultrasecretnote", "privatetag", "example.org"]) {
        expect(bytes.includes(Buffer.from(secret))).toBe(false);
      }
    }
    expect(readFileSync(path).subarray(0, 16).toString("latin1")).not.toContain("SQLite format");
    const reopened = LocalStore.open({ path, key });
    expect(reopened.listLinks().map((l) => l.title)).toEqual(["Zanzibar-Holiday-Footage"]);
    reopened.close();
  });

  it("refuses a wrong key with a clear error and leaves the file intact", () => {
    const path = tempPath();
    const key = randomKey();
    const store = LocalStore.open({ path, key });
    writeLinks(store, new HybridLogicalClock("pc00aaaa"), [{ id: "l1", title: "kept" }]);
    store.close();
    const before = createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(() => LocalStore.open({ path, key: randomKey() })).toThrow(WrongKeyError);
    expect(() => LocalStore.open({ path, key: randomKey() })).toThrow(/wrong password or key/);
    expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(before);
    const again = LocalStore.open({ path, key });
    expect(again.listLinks().map((l) => l.title)).toEqual(["kept"]);
    again.close();
  });

  it("reports a damaged or truncated file clearly instead of crashing", () => {
    const path = tempPath();
    const key = randomKey();
    const store = LocalStore.open({ path, key });
    const clock = new HybridLogicalClock("pc00aaaa");
    writeLinks(
      store,
      clock,
      Array.from({ length: 300 }, (_, i) => ({ id: `l${i}`, title: `title ${i}`, notes: "n".repeat(500) })),
    );
    store.close();
    const good = readFileSync(path);
    expect(good.length).toBeGreaterThan(100_000);

    const damaged = Buffer.from(good);
    randomBytes(4096).copy(damaged, Math.floor(good.length / 2));
    writeFileSync(path, damaged);
    expect(() => LocalStore.open({ path, key })).toThrow(CorruptStoreError);

    writeFileSync(path, good.subarray(0, Math.floor(good.length / 3)));
    expect(() => LocalStore.open({ path, key })).toThrow(/damaged/);

    // A destroyed first page cannot be told apart from a wrong key (SQLCipher authenticates page 1 with the key).
    const header = Buffer.from(good);
    randomBytes(4096).copy(header, 0);
    writeFileSync(path, header);
    expect(() => LocalStore.open({ path, key })).toThrow(WrongKeyError);
  });

  it("keeps data across close and reopen (migrations run once)", () => {
    const path = tempPath();
    const key = randomKey();
    const clock = new HybridLogicalClock("pc00aaaa");
    let store = LocalStore.open({ path, key });
    writeLinks(store, clock, [{ id: "l1", title: "one" }]);
    store.setMeta("deviceId", "pc00aaaa");
    const last = store.lastHlc();
    store.close();
    store = LocalStore.open({ path, key });
    expect(store.getMeta("deviceId")).toBe("pc00aaaa");
    expect(store.lastHlc()).toBe(last);
    writeLinks(store, new HybridLogicalClock("pc00aaaa", { last }), [{ id: "l2", title: "two" }]);
    expect(store.listLinks().length).toBe(2);
    expect(store.highWaterMarks()).toEqual({ pc00aaaa: 12 });
    store.close();
  });

  it("moves a message log written by schema 1 into the current layout, losing nothing", () => {
    const path = tempPath();
    const key = randomKey();
    // A file as the first release wrote it: schema 1 only, entries of two origins, some acknowledged.
    const old = new Database(path);
    useKey(old, key);
    old.exec(MIGRATIONS[0] as string);
    old.pragma("user_version = 1");
    const e = (origin: string, seq: number, millis: number) =>
      entry(origin, seq, millis, { table: "links", rowId: `${origin}-${seq}`, column: "title", value: `t${seq}` });
    const written = [e("pc00aaaa", 1, 30), e("pc00aaaa", 2, 10), e("pc00bbbb", 1, 20), e("pc00bbbb", 3, 40)];
    const insert = old.prepare("INSERT INTO log (origin, seq, hlc, data, server_acked) VALUES (?, ?, ?, ?, ?)");
    for (const [i, w] of written.entries()) insert.run(w.origin, w.seq, w.hlc, w.data, i === 0 ? 1 : 0);
    old.close();

    const store = LocalStore.open({ path, key });
    expect(store.countLog()).toBe(4);
    expect(store.entriesAfter("pc00aaaa", 0, 10).map((x) => [x.seq, x.data])).toEqual([
      [1, written[0]!.data],
      [2, written[1]!.data],
    ]);
    expect(store.entriesAfter("pc00bbbb", 1, 10).map((x) => x.seq)).toEqual([3]);
    // Pending: all but the acknowledged one, oldest first.
    expect(store.pendingForServer(10).map((x) => `${x.origin}#${x.seq}`)).toEqual([
      "pc00aaaa#2",
      "pc00bbbb#1",
      "pc00bbbb#3",
    ]);
    // (origin, seq) is still the identity: a duplicate is a no-op, a reuse with another hlc is refused.
    expect(store.applyLogged([written[2]!])).toEqual([]);
    expect(() => store.applyLogged([e("pc00bbbb", 3, 99)])).toThrow(/conflicting message/);
    store.close();
  });

  it("finds links by words of notes and tags, by prefix, and forgets deleted ones", () => {
    const store = LocalStore.open({ path: tempPath(), key: randomKey() });
    const clock = new HybridLogicalClock("pc00aaaa");
    writeLinks(store, clock, [
      { id: "l1", title: "Debian netinst", notes: "installer for the old laptop", tags: ["linux"] },
      { id: "l2", title: "Concert recording", notes: "live in Montréal", tags: ["music", "flac"] },
    ]);
    expect(store.listLinks({ q: "laptop" }).map((l) => l.id)).toEqual(["l1"]);
    expect(store.listLinks({ q: "flac" }).map((l) => l.id)).toEqual(["l2"]);
    expect(store.listLinks({ q: "montreal" }).map((l) => l.id)).toEqual(["l2"]);
    expect(store.listLinks({ q: "insta" }).map((l) => l.id)).toEqual(["l1"]);
    expect(store.listLinks({ q: '"); DROP TABLE links; --' })).toEqual([]);
    store.writeLocal("pc00aaaa", changesFor(clock, "links", "l1", { deleted: true }), (c, s) =>
      encryptChange(dataKey, c, s),
    );
    expect(store.listLinks({ q: "laptop" })).toEqual([]);
    expect(store.listLinks().map((l) => l.id)).toEqual(["l2"]);
    expect(store.getRow("links", "l1")?.deleted).toBe(true);
    store.close();
  });

  it("never skips a gap: marks advance over contiguous sequence numbers only", () => {
    const store = LocalStore.open({ path: tempPath(), key: randomKey() });
    const e = (seq: number) =>
      entry("pc00bbbb", seq, 1000 + seq, { table: "links", rowId: `r${seq}`, column: "title", value: `t${seq}` });
    store.applyLogged([e(1), e(2), e(4), e(5)]);
    expect(store.highWaterMarks()).toEqual({ pc00bbbb: 2 });
    expect(store.entriesAfter("pc00bbbb", 2, 100).map((x) => x.seq)).toEqual([4, 5]);
    store.applyLogged([e(3)]);
    expect(store.highWaterMarks()).toEqual({ pc00bbbb: 5 });
    expect(store.entriesAfter("pc00bbbb", 0, 100).map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    store.close();
  });

  it("tracks what the server has not acknowledged; server-delivered entries are never pending", () => {
    const store = LocalStore.open({ path: tempPath(), key: randomKey() });
    const clock = new HybridLogicalClock("pc00aaaa");
    writeLinks(store, clock, [{ id: "l1", title: "mine" }]);
    const fromPeer = entry("pc00bbbb", 1, 5, { table: "links", rowId: "p1", column: "title", value: "peer" });
    const fromServer = entry("pc00cccc", 1, 6, { table: "links", rowId: "s1", column: "title", value: "server" });
    store.applyLogged([fromPeer]);
    store.applyLogged([fromServer], { serverAcked: true });
    expect(store.countPendingForServer()).toBe(7);
    const pending = store.pendingForServer(100);
    expect(pending.map((p) => p.origin).sort()).toEqual([...Array(6).fill("pc00aaaa"), "pc00bbbb"]);
    store.markServerAcked(pending.filter((p) => p.origin === "pc00aaaa").slice(0, 3));
    expect(store.countPendingForServer()).toBe(4);
    // The server later returns the peer's message: it is acknowledged, not applied twice.
    expect(store.applyLogged([fromPeer], { serverAcked: true })).toEqual([]);
    expect(store.countPendingForServer()).toBe(3);
    store.close();
  });

  it("rejects invalid or conflicting entries without applying any of the batch", () => {
    const store = LocalStore.open({ path: tempPath(), key: randomKey() });
    const good = entry("pc00bbbb", 1, 10, { table: "links", rowId: "r1", column: "title", value: "ok" });
    const badColumn = { ...entry("pc00bbbb", 2, 11, { table: "links", rowId: "r1", column: "title", value: "x" }) };
    badColumn.change = { ...badColumn.change, column: "password" };
    expect(() => store.applyLogged([good, badColumn])).toThrow(InvalidEntryError);
    const wrongOrigin = { ...good, origin: "pc00cccc" };
    expect(() => store.applyLogged([wrongOrigin])).toThrow(/not from origin/);
    expect(store.listRows("links")).toEqual([]);
    store.applyLogged([good]);
    const forged = entry("pc00bbbb", 1, 99, { table: "links", rowId: "r1", column: "title", value: "forged" });
    expect(() => store.applyLogged([forged])).toThrow(/conflicting message/);
    expect(store.getRow("links", "r1")?.title).toBe("ok");
    store.close();
  });

  it("converges whatever the order and duplication of entries (same table hash)", () => {
    const origins = ["pc00aaaa", "pc00bbbb", "pc00cccc"];
    const history = fc
      .array(
        fc.record({
          origin: fc.constantFrom(...origins),
          millis: fc.integer({ min: 1, max: 30 }),
          row: fc.constantFrom("r1", "r2"),
          col: fc.constantFrom("title", "notes", "deleted"),
          text: fc.string({ maxLength: 6 }),
          flag: fc.boolean(),
        }),
        { minLength: 1, maxLength: 25 },
      )
      .map((writes) => {
        const seqs = new Map<string, number>();
        return writes.map((w) => {
          const seq = (seqs.get(w.origin) ?? 0) + 1;
          seqs.set(w.origin, seq);
          const value = w.col === "deleted" ? w.flag : w.text;
          // The seq doubles as the hlc counter, so each origin's stamps increase.
          const hlc = formatHlc({ millis: w.millis, counter: seq, deviceId: w.origin });
          const change = { table: "links", rowId: w.row, column: w.col, value, hlc } as ChangeMessage;
          return { origin: w.origin, seq, hlc, data: "x", change } satisfies LoggedMessage;
        });
      });
    const path = tempPath();
    fc.assert(
      fc.property(
        history.chain((h) =>
          fc.tuple(fc.constant(h), fc.shuffledSubarray(h, { minLength: h.length }), fc.shuffledSubarray(h)),
        ),
        ([entries, shuffled, dupes]) => {
          const hashOf = (batches: LoggedMessage[][]) => {
            rmSync(path, { force: true });
            rmSync(`${path}-wal`, { force: true });
            rmSync(`${path}-shm`, { force: true });
            const s = LocalStore.open({ path, key: dataKey });
            for (const b of batches) s.applyLogged(b);
            const hash = s.tableHash();
            const marks = s.highWaterMarks();
            s.close();
            return { hash, marks };
          };
          const reference = hashOf([entries]);
          const half = Math.floor(shuffled.length / 2);
          expect(hashOf([shuffled.slice(0, half), dupes, shuffled.slice(half), entries])).toEqual(reference);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("stores the node table, notices and .torrent files locally", () => {
    const store = LocalStore.open({ path: tempPath(), key: randomKey() });
    store.upsertPeer({
      peerId: "12D3KooWpeer",
      deviceId: "pc00bbbb",
      addresses: ["/ip4/127.0.0.1/tcp/4001"],
      lastSeen: 5,
    });
    store.upsertPeer({ peerId: "12D3KooWpeer", addresses: ["/ip4/127.0.0.1/tcp/4002"], failures: 2 });
    expect(store.listPeers()).toEqual([
      {
        peerId: "12D3KooWpeer",
        deviceId: "pc00bbbb",
        addresses: ["/ip4/127.0.0.1/tcp/4002"],
        lastSeen: 5,
        lastSync: null,
        failures: 2,
      },
    ]);
    const notice = {
      id: "n1",
      source: "local",
      severity: "warning",
      kind: "offline",
      title: "Offline",
      body: "b",
      createdAt: 1,
      startsAt: null,
      endsAt: null,
    } as const;
    store.addNotice(notice);
    store.addNotice(notice);
    expect(store.listNotices()).toEqual([notice]);
    store.saveTorrentFile("a".repeat(40), Buffer.from([1, 2, 3]));
    expect(store.loadTorrentFile("a".repeat(40))).toEqual(Buffer.from([1, 2, 3]));
    store.close();
  });
});
