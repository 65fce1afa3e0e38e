/**
 * Central server throughput on real PostgreSQL: POST /v1/sync with batches of 10 new envelopes per
 * request (every request unique, so each one inserts), a pull-only scenario (pages of 500), and a
 * bare Fastify route on the same machine as the ceiling. Server and baseline run as child processes
 * so autocannon does not share their event loop.
 *
 *   node packages/server/bench/server.bench.ts      (or: npm run bench -- server)
 *   env PERPETUANET_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 *       BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 10)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { formatHlc } from "@perpetuanet/core";
import autocannon from "autocannon";
import { createTestSchema, tempDir } from "../test/helpers/server.ts";

const DATABASE_URL = process.env.PERPETUANET_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

const BARE = `
import Fastify from "fastify";
const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
app.post("/bare", async (req) => ({ messages: [], cursor: null, hasMore: false, stored: req.body.messages.length }));
await app.listen({ host: "127.0.0.1", port: 0 });
console.log("PerpetuaNet server listening on http://127.0.0.1:" + app.server.address().port);
`;

function launch(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], cwd: process.cwd() });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 60 s: ${out}`)), 60_000);
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const url = /listening on (\S+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
}

const DATA = randomBytes(96).toString("base64"); // ~ a small encrypted change message
let nextSeq = 1;
/** A unique batch each call: one origin device per run, seq increasing. */
function batchBody(deviceId: string, size: number): string {
  const messages = [];
  for (let i = 0; i < size; i++) {
    const seq = nextSeq++;
    messages.push({ hlc: formatHlc({ millis: 1_700_000_000_000 + seq, counter: 0, deviceId }), seq, data: DATA });
  }
  // A far-ahead cursor: this scenario measures the push; pulls are measured separately.
  return JSON.stringify({ cursor: "1000000000000", messages });
}

async function run(title: string, opts: autocannon.Options) {
  const result = await autocannon({ duration: SECONDS, connections: CONNECTIONS, ...opts });
  const non2xx = result.non2xx + result.errors;
  console.log(
    `${title}: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms` +
      (non2xx ? `, ${non2xx} failed` : ""),
  );
  return result;
}

const schema = await createTestSchema(DATABASE_URL);
const dataDir = tempDir("pn-server-bench-");
const server = await launch([
  MAIN,
  "--port",
  "0",
  "--database-url",
  schema.url,
  "--data-dir",
  dataDir,
  "--log-level",
  "warn",
]);
const bare = await launch(["--input-type=module", "-e", BARE]);
try {
  const login = "bench";
  const authKey = randomBytes(32).toString("base64");
  await post(`${server.url}/v1/accounts`, { login, authKey, wrappedDataKey: "bench" });
  const session = await post(`${server.url}/v1/sessions`, { login, authKey });
  const headers = { "content-type": "application/json", authorization: `Bearer ${session.accessToken}` };

  console.log(`server bench: ${SECONDS} s per scenario, ${CONNECTIONS} connections, PostgreSQL ${DATABASE_URL}`);
  const push = await run("POST /v1/sync, 10 new messages per request", {
    url: server.url,
    requests: [
      {
        method: "POST",
        path: "/v1/sync",
        headers,
        setupRequest: (req) => ({ ...req, body: batchBody("benchpc", 10) }),
      },
    ],
  });
  // Pushes of one account serialise on its row lock (that is what keeps pagination exact); many
  // accounts push in parallel.
  const tokens: string[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const key = randomBytes(32).toString("base64");
    await post(`${server.url}/v1/accounts`, { login: `bench${i}`, authKey: key, wrappedDataKey: "bench" });
    tokens.push((await post(`${server.url}/v1/sessions`, { login: `bench${i}`, authKey: key })).accessToken as string);
  }
  let turn = 0;
  const spread = await run(`POST /v1/sync, 10 new messages per request, ${CONNECTIONS} accounts`, {
    url: server.url,
    requests: [
      {
        method: "POST",
        path: "/v1/sync",
        setupRequest: (req) => ({
          ...req,
          headers: { ...headers, authorization: `Bearer ${tokens[turn++ % tokens.length]}` },
          body: batchBody("spreadpc", 10),
        }),
      },
    ],
  });
  const stored = nextSeq - 1;
  const pull = await run("POST /v1/sync, pull a page of 500 (no push)", {
    url: server.url,
    requests: [
      { method: "POST", path: "/v1/sync", headers, body: JSON.stringify({ cursor: null, messages: [], limit: 500 }) },
    ],
  });
  nextSeq = 1;
  const baseline = await run("bare Fastify route, same 10-message body", {
    url: bare.url,
    requests: [
      { method: "POST", path: "/bare", headers, setupRequest: (req) => ({ ...req, body: batchBody("barepc", 10) }) },
    ],
  });
  const pushRate = push.requests.average;
  console.log(
    `push: ${(pushRate * 10).toFixed(0)} messages/s stored (${stored} generated); ` +
      `server/bare ratio ${(pushRate / baseline.requests.average).toFixed(3)} ` +
      `(bare ${baseline.requests.average.toFixed(0)} req/s); across ${CONNECTIONS} accounts ` +
      `${(spread.requests.average * 10).toFixed(0)} messages/s; pull ${(pull.requests.average * 500).toFixed(0)} messages/s served`,
  );
} finally {
  await stop(server.child);
  await stop(bare.child);
  await schema.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
