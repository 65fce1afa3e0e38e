/**
 * Test helpers: database backends (real PostgreSQL in a throwaway schema when
 * PERPETUANET_TEST_DATABASE_URL is set, and embedded PGlite in a temp folder), a tiny JSON client,
 * account setup and envelope factories.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Envelope, formatHlc } from "@perpetuanet/core";
import pg from "pg";
import { type ServerOptions, startServer } from "../../src/index.ts";

export const TEST_DATABASE_URL = process.env.PERPETUANET_TEST_DATABASE_URL;

/** A PostgreSQL schema of its own, reached through `options=-c search_path=...` in the URL. */
export async function createTestSchema(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export interface Backend {
  name: "postgres" | "pglite";
  /** Database options for startServer; the same value every call within one backend setup. */
  options(): Pick<ServerOptions, "databaseUrl" | "dataDir">;
  cleanup(): Promise<void>;
}

export function tempDir(prefix = "pn-server-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function setupBackend(name: Backend["name"]): Promise<Backend> {
  if (name === "postgres") {
    if (!TEST_DATABASE_URL) throw new Error("PERPETUANET_TEST_DATABASE_URL is not set");
    const schema = await createTestSchema(TEST_DATABASE_URL);
    const dataDir = tempDir();
    return {
      name,
      options: () => ({ databaseUrl: schema.url, dataDir }),
      async cleanup() {
        await schema.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const dataDir = tempDir();
  return {
    name,
    options: () => ({ dataDir }),
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Backends to run each suite on: PGlite always, real PostgreSQL when configured. */
export const BACKENDS: Backend["name"][] = TEST_DATABASE_URL ? ["postgres", "pglite"] : ["pglite"];

export async function start(backend: Backend, extra: ServerOptions = {}) {
  return startServer({ port: 0, logLevel: "silent", ...backend.options(), ...extra });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: responses are asserted field by field
  body: any;
}

export async function api(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers["content-type"] ??= "application/json";
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // leave as text: the assertion will show it
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export const authKey = () => randomBytes(32).toString("base64");

export async function newAccount(base: string, login = `user-${randomBytes(4).toString("hex")}`) {
  const key = authKey();
  const wrappedDataKey = randomBytes(48).toString("base64");
  const reg = await api(base, "POST", "/v1/accounts", { body: { login, authKey: key, wrappedDataKey } });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const session = await api(base, "POST", "/v1/sessions", { body: { login, authKey: key } });
  if (session.status !== 200) throw new Error(`login failed: ${session.status} ${JSON.stringify(session.body)}`);
  return {
    login,
    authKey: key,
    wrappedDataKey,
    accountId: reg.body.accountId as string,
    token: session.body.accessToken as string,
    refreshToken: session.body.refreshToken as string,
  };
}

/** Envelopes as a device would produce them; the server never looks inside `data`. */
export function envelopes(deviceId: string, fromSeq: number, count: number): Envelope[] {
  return Array.from({ length: count }, (_, i) => ({
    hlc: formatHlc({ millis: 1_700_000_000_000 + fromSeq + i, counter: 0, deviceId }),
    seq: fromSeq + i,
    data: randomBytes(24).toString("base64"),
  }));
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
