import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, authKey, BACKENDS, type Backend, envelopes, newAccount, setupBackend, start } from "./helpers/server.ts";

describe.each(BACKENDS)("accounts, sessions and devices on %s", (backendName) => {
  let backend: Backend;
  let server: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    backend = await setupBackend(backendName);
    server = await start(backend, {
      accessTokenTtlSec: 1,
      loginRateLimit: { perAccount: 3, perIp: 1000, windowSec: 900 },
    });
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  it("registers, logs in with the wrapped data key, refreshes with rotation, changes password, logs out", async () => {
    const login = `Carol-${randomBytes(3).toString("hex")}`;
    const key = authKey();
    const reg = await api(server.url, "POST", "/v1/accounts", {
      body: { login, authKey: key, wrappedDataKey: "wrapped-1" },
    });
    expect(reg.status).toBe(201);
    const dup = await api(server.url, "POST", "/v1/accounts", {
      body: { login: login.toLowerCase(), authKey: key, wrappedDataKey: "x" },
    });
    expect(dup).toMatchObject({ status: 409, body: { code: "LOGIN_TAKEN" } });

    const s1 = await api(server.url, "POST", "/v1/sessions", { body: { login, authKey: key } });
    expect(s1.status).toBe(200);
    expect(s1.body).toMatchObject({ accountId: reg.body.accountId, wrappedDataKey: "wrapped-1", expiresIn: 1 });

    const r1 = await api(server.url, "POST", "/v1/sessions/refresh", { body: { refreshToken: s1.body.refreshToken } });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(s1.body.refreshToken);
    const reuse = await api(server.url, "POST", "/v1/sessions/refresh", {
      body: { refreshToken: s1.body.refreshToken },
    });
    expect(reuse).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });

    const newKey = authKey();
    const wrong = await api(server.url, "PUT", "/v1/accounts/current/password", {
      token: r1.body.accessToken,
      body: { authKey: newKey, newAuthKey: newKey, newWrappedDataKey: "wrapped-2" },
    });
    expect(wrong.status).toBe(403);
    const change = await api(server.url, "PUT", "/v1/accounts/current/password", {
      token: r1.body.accessToken,
      body: { authKey: key, newAuthKey: newKey, newWrappedDataKey: "wrapped-2" },
    });
    expect(change.status).toBe(204);
    const oldPw = await api(server.url, "POST", "/v1/sessions", { body: { login, authKey: key } });
    expect(oldPw).toMatchObject({ status: 401, body: { code: "BAD_CREDENTIALS" } });
    const s2 = await api(server.url, "POST", "/v1/sessions", { body: { login, authKey: newKey } });
    expect(s2.body.wrappedDataKey).toBe("wrapped-2");

    expect((await api(server.url, "DELETE", "/v1/sessions/current", { token: s2.body.accessToken })).status).toBe(204);
    const after = await api(server.url, "GET", "/v1/devices", { token: s2.body.accessToken });
    expect(after).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
  });

  it("answers 429 RATE_LIMITED with Retry-After once the wrong-password limit is reached", async () => {
    const user = await newAccount(server.url);
    for (let i = 0; i < 3; i++) {
      const res = await api(server.url, "POST", "/v1/sessions", { body: { login: user.login, authKey: authKey() } });
      expect(res.status).toBe(401);
    }
    // Even the right key is refused now: the limit protects against guessing.
    const limited = await api(server.url, "POST", "/v1/sessions", {
      body: { login: user.login, authKey: user.authKey },
    });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // Other accounts are not affected by this account's limit.
    const other = await newAccount(server.url);
    expect(other.token).toBeTruthy();
  });

  it("answers bad input with the right 4xx JSON, never 500", async () => {
    const user = await newAccount(server.url);
    const malformed = await api(server.url, "POST", "/v1/sync", { token: user.token, raw: '{"cursor": nul' });
    expect(malformed).toMatchObject({ status: 400, body: { code: "MALFORMED_JSON" } });
    const invalid = await api(server.url, "POST", "/v1/sync", {
      token: user.token,
      body: { cursor: 5, messages: "x" },
    });
    expect(invalid).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    const badEnvelope = await api(server.url, "POST", "/v1/sync", {
      token: user.token,
      body: { messages: [{ hlc: "nope", seq: 1, data: "x" }] },
    });
    expect(badEnvelope.status).toBe(400);
    const oversize = await api(server.url, "POST", "/v1/sync", {
      token: user.token,
      raw: JSON.stringify({ cursor: null, messages: [], pad: "x".repeat(9 * 1024 * 1024) }),
    });
    expect(oversize).toMatchObject({ status: 413, body: { code: "PAYLOAD_TOO_LARGE" } });
    const missing = await api(server.url, "POST", "/v1/sync", { body: { cursor: null } });
    expect(missing).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
    const garbage = await api(server.url, "POST", "/v1/sync", { token: "garbage", body: { cursor: null } });
    expect(garbage).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
    const unknown = await api(server.url, "GET", "/v1/does-not-exist");
    expect(unknown).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    const badLogin = await api(server.url, "POST", "/v1/sessions", { body: { login: "x", authKey: "short" } });
    expect(badLogin).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    const hugeCursor = await api(server.url, "POST", "/v1/sync", {
      token: user.token,
      body: { cursor: "9".repeat(19) },
    });
    expect(hugeCursor).toMatchObject({ status: 400, body: { code: "BAD_CURSOR" } });
    const textBody = await api(server.url, "POST", "/v1/sync", {
      token: user.token,
      raw: "cursor=1",
      headers: { "content-type": "text/plain" },
    });
    expect(textBody).toMatchObject({ status: 415, body: { code: "UNSUPPORTED_MEDIA_TYPE" } });
    const nullBody = await api(server.url, "POST", "/v1/devices", { token: user.token, raw: "null" });
    expect(nullBody).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    const badParam = await api(server.url, "DELETE", "/v1/devices/NOT-A-DEVICE", { token: user.token });
    expect(badParam).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    const adminWithoutToken = await api(server.url, "POST", "/v1/admin/notices", { body: { title: "t" } });
    expect(adminWithoutToken).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
  });

  it("answers arbitrary JSON on every route with a 4xx JSON error or success, never 500", async () => {
    const user = await newAccount(server.url);
    const routes: [string, string][] = [
      ["POST", "/v1/accounts"],
      ["POST", "/v1/sessions"],
      ["POST", "/v1/sessions/refresh"],
      ["PUT", "/v1/accounts/current/password"],
      ["POST", "/v1/devices"],
      ["POST", "/v1/sync"],
      ["POST", "/v1/admin/notices"],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue(),
          fc.record({ cursor: fc.jsonValue(), messages: fc.jsonValue(), limit: fc.jsonValue() }),
        ),
        fc.boolean(),
        async ([method, path], body, withToken) => {
          const res = await api(server.url, method, path, {
            raw: JSON.stringify(body),
            ...(withToken ? { token: user.token } : {}),
          });
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400)
            expect(res.body).toMatchObject({ error: expect.any(String), code: expect.any(String) });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("answers 401 TOKEN_EXPIRED for an expired access token, and refresh brings a working one", async () => {
    const user = await newAccount(server.url);
    const started = Date.now();
    // The access token lives 1 s in this suite: poll until the server considers it expired.
    let res = await api(server.url, "GET", "/v1/devices", { token: user.token });
    while (res.status === 200 && Date.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 200));
      res = await api(server.url, "GET", "/v1/devices", { token: user.token });
    }
    expect(res).toMatchObject({ status: 401, body: { code: "TOKEN_EXPIRED" } });
    const refreshed = await api(server.url, "POST", "/v1/sessions/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    const ok = await api(server.url, "GET", "/v1/devices", { token: refreshed.body.accessToken });
    expect(ok.status).toBe(200);
  });

  it("registers devices, lists the trust list with revoked ones, and locks out a revoked device", async () => {
    // Tokens of the suite's server expire after 1 s; this test needs longer-lived ones, so it runs
    // its own server on its own database (two PGlite instances must never share a folder).
    const ownBackend = await setupBackend(backendName);
    const longLived = await start(ownBackend);
    try {
      const user = await newAccount(longLived.url);
      const device = (id: string) => ({
        deviceId: id,
        name: `PC ${id}`,
        peerId: `12D3KooW${id}`,
        publicKey: randomBytes(32).toString("base64"),
        addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW${id}`],
      });
      const d1 = await api(longLived.url, "POST", "/v1/devices", { token: user.token, body: device("deska") });
      expect(d1.status).toBe(200);
      expect(d1.body).toMatchObject({ deviceId: "deska", revoked: false });
      const upsert = await api(longLived.url, "POST", "/v1/devices", {
        token: user.token,
        body: { ...device("deska"), name: "Renamed" },
      });
      expect(upsert.body.name).toBe("Renamed");
      await api(longLived.url, "POST", "/v1/devices", { token: user.token, body: device("laptopb") });

      const stranger = await newAccount(longLived.url);
      expect((await api(longLived.url, "GET", "/v1/devices", { token: stranger.token })).body.devices).toEqual([]);
      expect((await api(longLived.url, "DELETE", "/v1/devices/deska", { token: stranger.token })).status).toBe(404);

      expect((await api(longLived.url, "DELETE", "/v1/devices/laptopb", { token: user.token })).status).toBe(204);
      const list = await api(longLived.url, "GET", "/v1/devices", { token: user.token });
      expect(list.body.devices.map((d: { deviceId: string; revoked: boolean }) => [d.deviceId, d.revoked])).toEqual([
        ["deska", false],
        ["laptopb", true],
      ]);
      const revokedSync = await api(longLived.url, "POST", "/v1/sync", {
        token: user.token,
        headers: { "x-device-id": "laptopb" },
        body: { cursor: null, messages: envelopes("laptopb", 1, 1) },
      });
      expect(revokedSync).toMatchObject({ status: 403, body: { code: "DEVICE_REVOKED" } });
      const reRegister = await api(longLived.url, "POST", "/v1/devices", {
        token: user.token,
        body: device("laptopb"),
      });
      expect(reRegister).toMatchObject({ status: 403, body: { code: "DEVICE_REVOKED" } });
      const okSync = await api(longLived.url, "POST", "/v1/sync", {
        token: user.token,
        headers: { "x-device-id": "deska" },
        body: { cursor: null, messages: envelopes("deska", 1, 1) },
      });
      expect(okSync.status).toBe(200);
    } finally {
      await longLived.close();
      await ownBackend.cleanup();
    }
  });

  it("serves the OpenAPI document and health", async () => {
    const doc = await api(server.url, "GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/sync", "/v1/sessions", "/v1/devices"]));
    const health = await api(server.url, "GET", "/v1/health");
    expect(health).toMatchObject({ status: 200, body: { status: "ok", database: "ok", maintenance: false } });
  });
});
