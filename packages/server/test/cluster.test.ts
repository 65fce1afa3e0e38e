import { createServer, type Server, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCommand, createPgDb } from "../src/index.ts";
import { publishNotice } from "../src/notices.ts";
import {
  api,
  authKey,
  type Backend,
  envelopes,
  newAccount,
  setupBackend,
  start,
  TEST_DATABASE_URL,
  waitFor,
} from "./helpers/server.ts";

const ADMIN = "admin-secret-token";

describe.runIf(TEST_DATABASE_URL)("two server instances on one PostgreSQL", () => {
  let backend: Backend;
  let a: Awaited<ReturnType<typeof start>>;
  let b: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    backend = await setupBackend("postgres");
    // Started together: migrations must serialise between instances.
    const opts = { adminToken: ADMIN, loginRateLimit: { perAccount: 3, perIp: 1000, windowSec: 900 } };
    [a, b] = await Promise.all([start(backend, opts), start(backend, opts)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await backend?.cleanup();
  });

  it("serve the same accounts, sessions and messages", async () => {
    const user = await newAccount(a.url);
    const onB = await api(b.url, "POST", "/v1/sessions", { body: { login: user.login, authKey: user.authKey } });
    expect(onB.status).toBe(200);
    const batch = envelopes("clusterpc", 1, 20);
    expect((await api(a.url, "POST", "/v1/sync", { token: user.token, body: { messages: batch } })).body.stored).toBe(
      20,
    );
    const pulled = await api(b.url, "POST", "/v1/sync", { token: onB.body.accessToken, body: { cursor: null } });
    expect(pulled.body.messages).toEqual(batch);
    // A refresh token issued by A works on B (no per-instance session state).
    const refreshed = await api(b.url, "POST", "/v1/sessions/refresh", { body: { refreshToken: user.refreshToken } });
    expect(refreshed.status).toBe(200);
  });

  it("count failed logins together: the limit holds across instances", async () => {
    const user = await newAccount(a.url);
    const wrong = (url: string) =>
      api(url, "POST", "/v1/sessions", { body: { login: user.login, authKey: authKey() } });
    expect((await wrong(a.url)).status).toBe(401);
    expect((await wrong(b.url)).status).toBe(401);
    expect((await wrong(a.url)).status).toBe(401);
    const limited = await api(b.url, "POST", "/v1/sessions", { body: { login: user.login, authKey: user.authKey } });
    expect(limited).toMatchObject({ status: 429, body: { code: "RATE_LIMITED" } });
  });

  it("fan out notices: published via A, visible on B through NOTIFY; deleted via B, gone on A", async () => {
    const user = await newAccount(b.url);
    // Warm B's cache first, so only a notification can make the new notice appear there.
    expect((await api(b.url, "GET", "/v1/notices", { token: user.token })).body.notices).toEqual([]);
    const published = await api(a.url, "POST", "/v1/admin/notices", {
      token: ADMIN,
      body: { severity: "warning", kind: "maintenance", title: "Database upgrade", body: "Read-only for 10 minutes" },
    });
    expect(published.status).toBe(201);
    const seen = await waitFor(async () => {
      const res = await api(b.url, "GET", "/v1/notices", { token: user.token });
      return res.body.notices.length === 1 ? res.body.notices[0] : undefined;
    }, 5000);
    expect(seen).toMatchObject({ id: published.body.id, title: "Database upgrade", kind: "maintenance" });
    expect((await api(b.url, "GET", "/v1/health")).body.maintenance).toBe(true);

    expect((await api(b.url, "DELETE", `/v1/admin/notices/${published.body.id}`, { token: ADMIN })).status).toBe(204);
    await waitFor(
      async () => (await api(a.url, "GET", "/v1/notices", { token: user.token })).body.notices.length === 0,
      5000,
    );
    expect((await api(a.url, "GET", "/v1/health")).body.maintenance).toBe(false);
  });

  it("show notices published with the admin CLI straight into the database", async () => {
    const user = await newAccount(a.url);
    await api(a.url, "GET", "/v1/notices", { token: user.token });
    const url = backend.options().databaseUrl as string;
    const out: string[] = [];
    const log = console.log;
    console.log = (line: string) => out.push(line);
    try {
      await adminCommand().parseAsync(
        [
          "notice",
          "publish",
          "--title",
          "Incident",
          "--kind",
          "incident",
          "--severity",
          "critical",
          "--database-url",
          url,
        ],
        { from: "user" },
      );
      await adminCommand().parseAsync(["notice", "list", "--database-url", url], { from: "user" });
    } finally {
      console.log = log;
    }
    const notice = JSON.parse(out[0] as string);
    expect(notice).toMatchObject({ title: "Incident", kind: "incident", severity: "critical" });
    expect(out.slice(1).map((l) => JSON.parse(l).id)).toContain(notice.id);
    await waitFor(async () => {
      const res = await api(a.url, "GET", "/v1/notices", { token: user.token });
      return res.body.notices.some((n: { id: string }) => n.id === notice.id);
    }, 5000);
    await adminCommand().parseAsync(["notice", "delete", notice.id, "--database-url", url], { from: "user" });
    await waitFor(
      async () => (await api(a.url, "GET", "/v1/notices", { token: user.token })).body.notices.length === 0,
      5000,
    );
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut, to see the server with its database down. */
function tcpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<number>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client);
        sockets.add(upstream);
        upstream.connect(targetPort, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const addr = server?.address();
        port = typeof addr === "object" && addr ? addr.port : 0;
        resolve(port);
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (server) server.close(() => resolve());
      else resolve();
    });
  return { listen, cut };
}

describe.runIf(TEST_DATABASE_URL)("health with the database down", () => {
  it("answers 503 with database down, and ok again (notices via NOTIFY too) once PostgreSQL is back", async () => {
    const backend = await setupBackend("postgres");
    const base = new URL(TEST_DATABASE_URL as string);
    const proxy = tcpProxy(Number(base.port || 5432));
    const proxyPort = await proxy.listen();
    const viaProxy = new URL(backend.options().databaseUrl as string);
    viaProxy.port = String(proxyPort);
    const server = await start(backend, { databaseUrl: viaProxy.toString() });
    const direct = createPgDb(backend.options().databaseUrl as string, { max: 1 });
    try {
      const user = await newAccount(server.url);
      expect((await api(server.url, "GET", "/v1/health")).body.database).toBe("ok");
      await proxy.cut();
      const down = await api(server.url, "GET", "/v1/health");
      expect(down).toMatchObject({ status: 503, body: { status: "degraded", database: "down" } });
      const loginWhileDown = await api(server.url, "POST", "/v1/sessions", {
        body: { login: "x", authKey: `${"A".repeat(43)}=` },
      });
      expect(loginWhileDown.status).toBe(503);
      await proxy.listen();
      await waitFor(async () => (await api(server.url, "GET", "/v1/health")).status === 200, 10_000);
      // The LISTEN connection died with the cut; it comes back by itself. A notice shows up well
      // before the 30 s cache expiry only through a notification.
      const notices = () => api(server.url, "GET", "/v1/notices", { token: user.token });
      let attempt = 0;
      await waitFor(async () => {
        await notices();
        const n = await publishNotice(direct, {
          severity: "info",
          kind: "info",
          title: `after ${++attempt}`,
          body: "",
        });
        try {
          await waitFor(async () => (await notices()).body.notices.some((x: { id: string }) => x.id === n.id), 1500);
          return true;
        } catch {
          return false;
        }
      }, 20_000);
    } finally {
      await direct.close();
      await proxy.cut();
      await server.close();
      await backend.cleanup();
    }
  });
});
