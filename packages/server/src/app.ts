import { createHash, timingSafeEqual } from "node:crypto";
/** The Fastify application: routes under /v1, zod validation, OpenAPI, JSON errors. */
import swagger from "@fastify/swagger";
import { syncRequestSchema, syncResponseSchema } from "@perpetuanet/core";
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { z } from "zod";
import {
  type AuthConfig,
  authenticate,
  changePassword,
  login,
  logout,
  type Principal,
  refresh,
  register,
} from "./auth.ts";
import type { Db } from "./db.ts";
import { HttpError } from "./errors.ts";
import { deleteNotice, isMaintenanceNow, type NoticeCache, publishNotice } from "./notices.ts";
import * as s from "./schemas.ts";
import { sync } from "./sync.ts";
import { VERSION } from "./version.ts";

export const BODY_LIMIT = 8 * 1024 * 1024;

export interface AppOptions {
  db: Db;
  notices: NoticeCache;
  auth: AuthConfig;
  adminToken?: string | undefined;
  logger: FastifyServerOptions["logger"];
  https?: { cert: string; key: string } | undefined;
  /** Behind a load balancer: take the client IP (for login rate limits) from X-Forwarded-For. */
  trustProxy?: boolean | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const ERROR_CODES: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  406: "NOT_ACCEPTABLE",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
};

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { db, notices, auth: authCfg } = opts;
  const app = Fastify({
    logger: opts.logger,
    bodyLimit: BODY_LIMIT,
    ...(opts.https ? { https: opts.https } : {}),
    trustProxy: opts.trustProxy ?? false,
  } as FastifyServerOptions).withTypeProvider<ZodTypeProvider>();
  // JSON only: other bodies get 415 rather than a confusing validation error.
  app.removeContentTypeParser("text/plain");
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).headers(err.headers).send({ error: err.message, code: err.code });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const detail = err.validation
        .slice(0, 5)
        .map((v) => `${v.instancePath || "/"} ${v.message}`)
        .join("; ");
      return reply.code(400).send({ error: `invalid request: ${detail}`, code: "VALIDATION_FAILED" });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = typeof e.statusCode === "number" ? e.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code =
        e.code === "FST_ERR_CTP_INVALID_JSON_BODY" || e.code === "FST_ERR_CTP_EMPTY_JSON_BODY"
          ? "MALFORMED_JSON"
          : (ERROR_CODES[status] ?? "BAD_REQUEST");
      return reply.code(status).send({ error: e.message ?? "bad request", code });
    }
    req.log.error({ err }, "request failed");
    if (isDatabaseDown(err)) {
      return reply.code(503).send({ error: "database unavailable", code: "SERVICE_UNAVAILABLE" });
    }
    return reply.code(500).send({ error: "internal server error", code: "INTERNAL" });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}`, code: "NOT_FOUND" });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: "PerpetuaNet central server", version: VERSION },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  const requireUser = async (req: FastifyRequest) => {
    const deviceId = req.headers["x-device-id"];
    req.principal = await authenticate(
      db,
      req.headers.authorization,
      typeof deviceId === "string" && deviceId !== "" ? deviceId : undefined,
    );
  };
  const principal = (req: FastifyRequest): Principal => {
    if (!req.principal) throw new HttpError(401, "UNAUTHORIZED", "not authenticated");
    return req.principal;
  };
  const requireAdmin = async (req: FastifyRequest) => {
    const header = req.headers.authorization ?? "";
    // Compared as digests in constant time, so response timing does not leak the token.
    const given = createHash("sha256").update(header).digest();
    const expected = createHash("sha256")
      .update(`Bearer ${opts.adminToken ?? ""}`)
      .digest();
    if (!opts.adminToken || !timingSafeEqual(given, expected)) {
      throw new HttpError(401, "UNAUTHORIZED", "admin token required");
    }
  };
  const errors = { 400: s.errorSchema, 401: s.errorSchema };
  const secured = [{ bearer: [] }];

  app.get("/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/v1/health",
    {
      schema: {
        summary: "Liveness and database reachability",
        response: { 200: s.healthResponse, 503: s.healthResponse },
      },
    },
    async (_req, reply) => {
      let database: "ok" | "down" = "ok";
      let maintenance = false;
      try {
        await db.query("SELECT 1");
        maintenance = isMaintenanceNow(await notices.get());
      } catch {
        database = "down";
      }
      reply.code(database === "ok" ? 200 : 503);
      return { status: database === "ok" ? "ok" : "degraded", database, maintenance, version: VERSION } as const;
    },
  );

  app.post(
    "/v1/accounts",
    {
      schema: {
        summary: "Register an account",
        body: s.registerBody,
        response: { 201: z.object({ accountId: z.string() }), 409: s.errorSchema, ...errors },
      },
    },
    async (req, reply) => {
      const accountId = await register(db, req.body);
      return reply.code(201).send({ accountId });
    },
  );

  app.post(
    "/v1/sessions",
    {
      schema: {
        summary: "Log in (rate limited per account and per IP)",
        body: s.loginBody,
        response: { 200: s.sessionResponse, 429: s.errorSchema, ...errors },
      },
    },
    async (req) => login(db, authCfg, req.body, req.ip),
  );

  app.post(
    "/v1/sessions/refresh",
    {
      schema: {
        summary: "Exchange a refresh token for new tokens (the old refresh token stops working)",
        body: s.refreshBody,
        response: { 200: s.sessionResponse, ...errors },
      },
    },
    async (req) => refresh(db, authCfg, req.body.refreshToken),
  );

  app.delete(
    "/v1/sessions/current",
    { schema: { summary: "Log out", security: secured }, preHandler: requireUser },
    async (req, reply) => {
      await logout(db, principal(req));
      return reply.code(204).send();
    },
  );

  app.put(
    "/v1/accounts/current/password",
    {
      schema: {
        summary: "Change the password (new auth key and re-wrapped data key)",
        body: s.passwordBody,
        security: secured,
      },
      preHandler: requireUser,
    },
    async (req, reply) => {
      await changePassword(db, principal(req), req.body);
      return reply.code(204).send();
    },
  );

  app.post(
    "/v1/devices",
    {
      schema: {
        summary: "Register or update this device",
        body: s.deviceBody,
        response: { 200: s.deviceSchema, ...errors },
        security: secured,
      },
      preHandler: requireUser,
    },
    async (req) => {
      const p = principal(req);
      const d = req.body;
      const { rows } = await db.query<DeviceRow>(
        `INSERT INTO devices (account_id, device_id, name, peer_id, public_key, addresses)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb)
         ON CONFLICT (account_id, device_id) DO UPDATE
           SET name = EXCLUDED.name, peer_id = EXCLUDED.peer_id, public_key = EXCLUDED.public_key,
               addresses = EXCLUDED.addresses, last_seen = now()
           WHERE devices.revoked_at IS NULL
         RETURNING *`,
        [p.accountId, d.deviceId, d.name, d.peerId, d.publicKey, JSON.stringify(d.addresses)],
      );
      const row = rows[0];
      if (!row) throw new HttpError(403, "DEVICE_REVOKED", "this device was revoked for the account");
      return toDevice(row);
    },
  );

  app.get(
    "/v1/devices",
    {
      schema: {
        summary: "The account's devices (trust list), revoked ones included",
        response: { 200: z.object({ devices: z.array(s.deviceSchema) }), ...errors },
        security: secured,
      },
      preHandler: requireUser,
    },
    async (req) => {
      const { rows } = await db.query<DeviceRow>("SELECT * FROM devices WHERE account_id = $1 ORDER BY created_at", [
        principal(req).accountId,
      ]);
      return { devices: rows.map(toDevice) };
    },
  );

  app.delete(
    "/v1/devices/:deviceId",
    { schema: { summary: "Revoke a device", params: s.deviceParams, security: secured }, preHandler: requireUser },
    async (req, reply) => {
      const { rowCount } = await db.query(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, now()) WHERE account_id = $1 AND device_id = $2",
        [principal(req).accountId, req.params.deviceId],
      );
      if (rowCount === 0) throw new HttpError(404, "NOT_FOUND", "no such device");
      return reply.code(204).send();
    },
  );

  app.post(
    "/v1/sync",
    {
      schema: {
        summary: "Push envelopes, pull what comes after the cursor",
        body: syncRequestSchema,
        response: { 200: syncResponseSchema, 409: s.errorSchema, ...errors },
        security: secured,
      },
      preHandler: requireUser,
    },
    async (req) => sync(db, principal(req).accountId, req.body),
  );

  app.get(
    "/v1/notices",
    {
      schema: {
        summary: "Current and scheduled notices",
        response: { 200: z.object({ notices: z.array(s.noticeSchema) }), ...errors },
        security: secured,
      },
      preHandler: requireUser,
    },
    async () => ({ notices: await notices.get() }),
  );

  app.post(
    "/v1/admin/notices",
    {
      schema: {
        summary: "Publish a notice (admin token)",
        body: s.noticeBody,
        response: { 201: s.noticeSchema, ...errors },
        security: secured,
      },
      preHandler: requireAdmin,
    },
    async (req, reply) => {
      const notice = await publishNotice(db, req.body);
      notices.invalidate();
      return reply.code(201).send(notice);
    },
  );

  app.delete(
    "/v1/admin/notices/:id",
    {
      schema: { summary: "Delete a notice (admin token)", params: s.noticeParams, security: secured },
      preHandler: requireAdmin,
    },
    async (req, reply) => {
      if (!(await deleteNotice(db, req.params.id))) throw new HttpError(404, "NOT_FOUND", "no such notice");
      notices.invalidate();
      return reply.code(204).send();
    },
  );

  return app;
}

interface DeviceRow {
  device_id: string;
  name: string;
  peer_id: string;
  public_key: string;
  addresses: string[] | string;
  revoked_at: Date | null;
  created_at: Date | string;
  last_seen: Date | string;
}

function toDevice(r: DeviceRow) {
  return {
    deviceId: r.device_id,
    name: r.name,
    peerId: r.peer_id,
    publicKey: r.public_key,
    addresses: typeof r.addresses === "string" ? (JSON.parse(r.addresses) as string[]) : r.addresses,
    revoked: r.revoked_at !== null,
    createdAt: new Date(r.created_at).toISOString(),
    lastSeen: new Date(r.last_seen).toISOString(),
  };
}

function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e.code === "ECONNREFUSED" ||
    e.code === "57P01" ||
    e.code === "57P03" ||
    /Connection terminated|timeout exceeded when trying to connect|PGlite is closed/i.test(e.message ?? "")
  );
}
