/** Request and response schemas of the REST API (zod; also the source of the OpenAPI document). */
import { DEVICE_ID_PATTERN } from "@perpetuanet/core";
import { z } from "zod";

const base64Key32 = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, "must be base64 of exactly 32 bytes")
  .describe("password-derived auth key, base64 of 32 bytes");

export const loginSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .transform((s) => s.toLowerCase());

export const errorSchema = z.object({ error: z.string(), code: z.string() });

export const registerBody = z
  .object({
    login: loginSchema,
    authKey: base64Key32,
    wrappedDataKey: z.string().min(1).max(4096).describe("account data key wrapped by the client; opaque"),
  })
  .strict();

export const loginBody = z.object({ login: loginSchema, authKey: base64Key32 }).strict();

export const refreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();

export const passwordBody = z
  .object({ authKey: base64Key32, newAuthKey: base64Key32, newWrappedDataKey: z.string().min(1).max(4096) })
  .strict();

export const sessionResponse = z.object({
  accountId: z.string(),
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe("access token lifetime in seconds"),
  wrappedDataKey: z.string(),
});

export const deviceBody = z
  .object({
    deviceId: z.string().regex(DEVICE_ID_PATTERN),
    name: z.string().min(1).max(200),
    peerId: z.string().min(1).max(200),
    publicKey: z.string().min(1).max(4096),
    addresses: z.array(z.string().min(1).max(500)).max(64).default([]),
  })
  .strict();

export const deviceSchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  peerId: z.string(),
  publicKey: z.string(),
  addresses: z.array(z.string()),
  revoked: z.boolean(),
  createdAt: z.string(),
  lastSeen: z.string(),
});

export const deviceParams = z.object({ deviceId: z.string().regex(DEVICE_ID_PATTERN) });

export const noticeSeverity = z.enum(["info", "warning", "critical"]);
export const noticeKind = z.enum(["maintenance", "incident", "info"]);

export const noticeBody = z
  .object({
    severity: noticeSeverity.default("info"),
    kind: noticeKind.default("info"),
    title: z.string().min(1).max(200),
    body: z.string().max(10_000).default(""),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();

export const noticeSchema = z.object({
  id: z.string(),
  severity: noticeSeverity,
  kind: noticeKind,
  title: z.string(),
  body: z.string(),
  createdAt: z.string(),
  startsAt: z.string(),
  endsAt: z.string().nullable(),
});

export const noticeParams = z.object({ id: z.uuid() });

export const healthResponse = z.object({
  status: z.enum(["ok", "degraded"]),
  database: z.enum(["ok", "down"]),
  maintenance: z.boolean(),
  version: z.string(),
});
