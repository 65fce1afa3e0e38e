import type { Envelope } from "@perpetuanet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, BACKENDS, type Backend, envelopes, newAccount, setupBackend, start } from "./helpers/server.ts";

describe.each(BACKENDS)("sync on %s", (backendName) => {
  let backend: Backend;
  let server: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    backend = await setupBackend(backendName);
    server = await start(backend);
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  const sync = (token: string, body: object) => api(server.url, "POST", "/v1/sync", { token, body });

  async function pullAll(token: string, limit?: number): Promise<Envelope[]> {
    const all: Envelope[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const res = await sync(token, { cursor, messages: [], ...(limit ? { limit } : {}) });
      expect(res.status).toBe(200);
      all.push(...res.body.messages);
      cursor = res.body.cursor;
      if (!res.body.hasMore) return all;
    }
    throw new Error("pagination did not end");
  }

  it("keeps each account's messages away from every other account", async () => {
    const alice = await newAccount(server.url);
    const bob = await newAccount(server.url);
    const a = envelopes("alicepc", 1, 5);
    const b = envelopes("bobpc", 1, 3);
    expect((await sync(alice.token, { cursor: null, messages: a })).body.stored).toBe(5);
    expect((await sync(bob.token, { cursor: null, messages: b })).body.stored).toBe(3);
    expect(await pullAll(alice.token)).toEqual(a);
    expect(await pullAll(bob.token)).toEqual(b);
    // The same (origin, seq) in another account is a different message, not a conflict.
    const sameKeys = envelopes("alicepc", 1, 2);
    expect((await sync(bob.token, { cursor: null, messages: sameKeys })).body.stored).toBe(2);
    expect(await pullAll(alice.token)).toEqual(a);
  });

  it("stores a replayed message once and rejects a different message under a used key", async () => {
    const user = await newAccount(server.url);
    const batch = envelopes("replaypc", 1, 4);
    const first = await sync(user.token, { cursor: null, messages: batch });
    expect(first.body.stored).toBe(4);
    const again = await sync(user.token, { cursor: null, messages: [...batch, ...batch] });
    expect(again.status).toBe(200);
    expect(again.body.stored).toBe(0);
    expect(await pullAll(user.token)).toEqual(batch);

    const forged = { ...(batch[0] as Envelope), data: "Zm9yZ2Vk" };
    const next = envelopes("replaypc", 5, 1);
    const conflict = await sync(user.token, { cursor: null, messages: [...next, forged] });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe("CONFLICT");
    // Nothing of the rejected batch was kept.
    expect(await pullAll(user.token)).toEqual(batch);
  });

  it("pages by limit and returns the cursor to resume from", async () => {
    const user = await newAccount(server.url);
    const batch = envelopes("pagerpc", 1, 25);
    await sync(user.token, { cursor: null, messages: batch });
    const first = await sync(user.token, { cursor: null, messages: [], limit: 10 });
    expect(first.body.messages).toEqual(batch.slice(0, 10));
    expect(first.body.hasMore).toBe(true);
    expect(await pullAll(user.token, 7)).toEqual(batch);
    const end = await sync(user.token, { cursor: (await sync(user.token, { cursor: null, limit: 1000 })).body.cursor });
    expect(end.body).toMatchObject({ messages: [], hasMore: false });
    const bad = await sync(user.token, { cursor: "not-a-cursor" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("BAD_CURSOR");
  });

  it("bounds a page to about 4 MiB of message data", async () => {
    const user = await newAccount(server.url);
    const big = (from: number) =>
      envelopes("bigpc", from, 15).map((m, i) => ({ ...m, data: String.fromCharCode(65 + i).repeat(200_000) }));
    const all = [...big(1), ...big(16)];
    await sync(user.token, { cursor: null, messages: all.slice(0, 15) });
    await sync(user.token, { cursor: null, messages: all.slice(15) });
    const first = await sync(user.token, { cursor: null, limit: 1000 });
    expect(first.body.messages.length).toBe(20);
    expect(first.body.hasMore).toBe(true);
    const second = await sync(user.token, { cursor: first.body.cursor, limit: 1000 });
    expect(second.body.messages.length).toBe(10);
    expect(second.body.hasMore).toBe(false);
    expect([...first.body.messages, ...second.body.messages]).toEqual(all);
  });

  it("gives a paginating reader every message exactly once while writers push concurrently", async () => {
    const user = await newAccount(server.url);
    const writers = 4;
    const batches = 8;
    const perBatch = 10;
    const pushed: Envelope[] = [];
    let writing = true;
    const writerRuns = Array.from({ length: writers }, async (_, w) => {
      for (let b = 0; b < batches; b++) {
        const batch = envelopes(`writer${w}`, b * perBatch + 1, perBatch);
        const res = await sync(user.token, { cursor: null, messages: batch, limit: 1 });
        expect(res.status).toBe(200);
        pushed.push(...batch);
      }
    });
    const seen: Envelope[] = [];
    let cursor: string | null = null;
    const reader = (async () => {
      // Keep reading until writers are done and one more full pass finds nothing new.
      for (;;) {
        const done = !writing;
        const res = await sync(user.token, { cursor, messages: [], limit: 7 });
        expect(res.status).toBe(200);
        seen.push(...res.body.messages);
        cursor = res.body.cursor ?? cursor;
        if (done && !res.body.hasMore) return;
      }
    })();
    await Promise.all(writerRuns);
    writing = false;
    await reader;
    const key = (m: Envelope) => `${m.hlc}/${m.seq}`;
    expect(seen.length).toBe(writers * batches * perBatch);
    expect(new Set(seen.map(key)).size).toBe(seen.length);
    expect(new Set(seen.map(key))).toEqual(new Set(pushed.map(key)));
  });
});
