/**
 * The local API the UI talks to: loopback only (plus an optional Unix socket), every /api request
 * carries the per-launch token, and the Host header must name this loopback server so that a web
 * page elsewhere cannot reach it through DNS rebinding. Errors are `{ error, code }`.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { AgentEvent } from "@perpetuanet/core";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Agent } from "../runtime/agent.ts";
import { UserInputError } from "../runtime/errors.ts";
import { ServerRejectedError, ServerUnreachableError } from "../runtime/server-client.ts";
import { CorruptStoreError, WrongKeyError } from "../store/index.ts";
import * as s from "./schemas.ts";

export const UI_DIST = fileURLToPath(new URL("../../../ui/dist/", import.meta.url));
/** Large enough for a 10 MiB .torrent file sent as base64 JSON. */
const BODY_LIMIT = 16 * 1024 * 1024;

export interface LocalApiOptions {
  agent: Agent;
  port?: number;
  /** Also listen on this Unix socket (same token); for scripts and tests in other network namespaces. */
  socketPath?: string;
  token?: string;
  uiDir?: string;
  logger?: boolean;
}

export interface RunningLocalApi {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
      .join("; ");
    throw new UserInputError(`invalid request: ${detail}`, "VALIDATION_FAILED");
  }
  return result.data;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export async function startLocalApi(opts: LocalApiOptions): Promise<RunningLocalApi> {
  const { agent } = opts;
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: BODY_LIMIT });
  let allowedHosts = new Set<string>();

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof UserInputError) return reply.code(err.status).send({ error: err.message, code: err.code });
    if (err instanceof ServerUnreachableError) {
      return reply.code(503).send({ error: err.message, code: "SERVER_UNREACHABLE" });
    }
    if (err instanceof ServerRejectedError) {
      return reply.code(err.status === 401 ? 401 : 409).send({ error: err.message, code: err.code });
    }
    if (err instanceof WrongKeyError || err instanceof CorruptStoreError) {
      return reply.code(500).send({ error: err.message, code: "STORE_UNREADABLE" });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
      const code = e.code === "FST_ERR_CTP_INVALID_JSON_BODY" ? "MALFORMED_JSON" : (e.code ?? "BAD_REQUEST");
      return reply.code(e.statusCode).send({ error: e.message ?? "bad request", code });
    }
    req.log.error({ err }, "local API request failed");
    return reply.code(500).send({ error: e.message ?? "internal error", code: "INTERNAL" });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}`, code: "NOT_FOUND" });
  });

  app.addHook("onRequest", async (req, reply) => {
    const viaSocket = req.socket.remoteAddress === undefined;
    if (!viaSocket && !allowedHosts.has(req.headers.host ?? "")) {
      return reply.code(403).send({ error: "this API answers only on its own loopback address", code: "BAD_HOST" });
    }
    if (!req.url.startsWith("/api/")) return;
    const header = req.headers.authorization;
    const given = header?.startsWith("Bearer ")
      ? header.slice(7)
      : req.url.startsWith("/api/events")
        ? ((req.query as { token?: string }).token ?? "")
        : "";
    if (!sameSecret(given, token)) {
      return reply.code(401).send({ error: "missing or wrong API token", code: "UNAUTHORIZED" });
    }
  });

  const uiDir = opts.uiDir ?? UI_DIST;
  if (existsSync(uiDir)) {
    await app.register(fastifyStatic, { root: uiDir, prefix: "/", index: ["index.html"], wildcard: false });
  } else {
    app.get("/", async (_req, reply) =>
      reply
        .type("text/html")
        .send(
          "<!doctype html><title>PerpetuaNet</title><p>The UI is not built: run <code>npm run build:ui</code>.</p>",
        ),
    );
  }

  registerRoutes(app, agent);

  const sockets = new Set<FastifyReply>();
  app.get("/api/events", (req, reply) => openEventStream(agent, req, reply, sockets));

  await app.listen({ host: "127.0.0.1", port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  let socketServer: Server | null = null;
  if (opts.socketPath) {
    // Same routes and hooks through Fastify's router; requests on the socket have no remote address.
    const server = createServer((req, res) => app.routing(req, res));
    socketServer = server;
    if (existsSync(opts.socketPath)) await unlink(opts.socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.socketPath, () => resolve());
    });
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    async close() {
      for (const reply of sockets) reply.raw.end();
      if (socketServer) {
        const server = socketServer;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await app.close();
    },
  };
}

function openEventStream(agent: Agent, req: FastifyRequest, reply: FastifyReply, open: Set<FastifyReply>): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const send = (event: AgentEvent) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  send({ type: "status", status: agent.status() });
  if (agent.unlocked) send({ type: "downloads", downloads: agent.session.downloads.list() });
  agent.on("event", send);
  // Comments keep proxies and idle timers from closing a quiet stream.
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  open.add(reply);
  const done = () => {
    clearInterval(keepAlive);
    agent.off("event", send);
    open.delete(reply);
  };
  req.raw.on("close", done);
  res.on("error", done);
}

function registerRoutes(app: FastifyInstance, agent: Agent): void {
  const id = (req: FastifyRequest) => parse(s.idParam, req.params).id;

  app.get("/api/status", async () => agent.status());
  app.get("/api/state-hash", async () => ({
    hash: agent.session.store.tableHash(),
    entries: agent.session.store.countLog(),
    pending: agent.session.pending,
  }));

  app.post("/api/account/register", async (req) => agent.register(parse(s.registerBody, req.body)));
  app.post("/api/account/login", async (req) => agent.login(parse(s.loginBody, req.body)));
  app.post("/api/account/logout", async () => agent.logout());
  app.post("/api/account/password", async (req) => {
    const body = parse(s.passwordBody, req.body);
    return agent.changePassword(body.oldPassword, body.newPassword);
  });

  app.get("/api/links", async (req) => {
    const q = (req.query as { q?: string }).q;
    return agent.session.library.list(typeof q === "string" && q.trim() ? q : undefined);
  });
  app.post("/api/links", async (req, reply) =>
    reply.code(201).send(agent.session.library.add(parse(s.linkBody, req.body))),
  );
  app.get("/api/links/:id", async (req) => agent.session.library.get(id(req)));
  app.patch("/api/links/:id", async (req) => agent.session.library.update(id(req), parse(s.linkPatch, req.body)));
  app.delete("/api/links/:id", async (req, reply) => {
    agent.session.library.remove(id(req));
    return reply.code(204).send();
  });
  app.post("/api/links/:id/download", async (req, reply) => {
    const body = parse(s.fromLinkBody, req.body ?? {});
    return reply.code(201).send(await agent.session.downloads.fromLink(id(req), body.savePath));
  });

  app.get("/api/downloads", async () => agent.session.downloads.list());
  app.post("/api/downloads", async (req, reply) =>
    reply.code(201).send(await agent.session.downloads.add(parse(s.addTorrentBody, req.body))),
  );
  app.get("/api/downloads/:id", async (req) => agent.session.downloads.details(id(req)));
  app.post("/api/downloads/:id/pause", async (req) => agent.session.downloads.pause(id(req)));
  app.post("/api/downloads/:id/resume", async (req) => agent.session.downloads.resume(id(req)));
  app.post("/api/downloads/:id/cancel", async (req) => agent.session.downloads.cancel(id(req)));
  app.delete("/api/downloads/:id", async (req, reply) => {
    const deleteFiles = (req.query as { deleteFiles?: string }).deleteFiles === "true";
    await agent.session.downloads.remove(id(req), deleteFiles);
    return reply.code(204).send();
  });

  app.get("/api/devices", async () => agent.session.deviceList());
  app.post("/api/devices/:id/revoke", async (req) => {
    const session = agent.session;
    session.devices.revoke(id(req));
    session.requestSync();
    const view = session.deviceList().find((d) => d.id === id(req));
    return view;
  });

  app.get("/api/sync", async () => agent.syncView());
  app.post("/api/sync/now", async () => agent.syncNow());

  app.get("/api/notices", async () => agent.session.notices.list());

  app.get("/api/settings", async () => agent.settingsView());
  app.put("/api/settings", async (req) => agent.updateSettings(parse(s.settingsPatch, req.body)));
}
