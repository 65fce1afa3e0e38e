/** Request bodies of the local API (the shapes in core's local-api.ts), validated before they reach the agent. */
import { LINK_KINDS } from "@perpetuanet/core";
import { z } from "zod";

const login = z.string().trim().min(1).max(200);
const password = z.string().min(1).max(1024);
const serverUrl = z.string().trim().min(1).max(2000);
const fingerprint = z.string().trim().max(200);

const accountFields = {
  login,
  password,
  deviceName: z.string().trim().max(200).optional(),
  remember: z.boolean().optional(),
  tlsFingerprint: fingerprint.optional(),
};

export const registerBody = z.object({ serverUrl, ...accountFields }).strict();

export const loginBody = z.object({ serverUrl: serverUrl.optional(), ...accountFields }).strict();

export const passwordBody = z.object({ oldPassword: password, newPassword: password }).strict();

const tags = z.array(z.string().max(200)).max(100);

export const linkBody = z
  .object({
    url: z.string().max(8192),
    kind: z.enum(LINK_KINDS).optional(),
    title: z.string().max(1000).optional(),
    tags: tags.optional(),
    notes: z.string().max(100_000).optional(),
  })
  .strict();

export const linkPatch = linkBody.partial().strict();

export const addTorrentBody = z
  .object({
    magnet: z.string().max(8192).optional(),
    torrentUrl: z.string().max(8192).optional(),
    // A 10 MiB .torrent in base64, with room for the JSON around it.
    torrentFile: z
      .string()
      .max(14 * 1024 * 1024)
      .optional(),
    savePath: z.string().max(4096).optional(),
    title: z.string().max(1000).optional(),
  })
  .strict();

export const fromLinkBody = z.object({ savePath: z.string().max(4096).optional() }).strict();

export const settingsPatch = z
  .object({
    downloadFolder: z.string().max(4096),
    maxConnections: z.number().int(),
    downloadLimit: z.number().int(),
    uploadLimit: z.number().int(),
    seeding: z.boolean(),
    dht: z.boolean(),
    trackers: z.boolean(),
    serverUrl: z.string().max(2000).nullable(),
    tlsFingerprint: z.string().max(200).nullable(),
    startMinimised: z.boolean(),
  })
  .partial()
  .strict();

export const idParam = z.object({ id: z.string().regex(/^[A-Za-z0-9:._-]{1,128}$/) });
