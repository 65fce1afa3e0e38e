/**
 * What leaves a PC: change messages encrypted with the account data key. The hlc stays in the clear
 * (the server orders and de-duplicates by it) and is bound to the ciphertext as AAD so nobody can
 * re-label a payload. `seq` numbers each origin device's messages 1, 2, 3... so a receiver can tell
 * a gap from the end of the stream.
 */
import { z } from "zod";
import { open, seal } from "./crypto.ts";
import { HLC_PATTERN, parseHlc } from "./hlc.ts";
import { type ChangeMessage, parseChangeMessage } from "./messages.ts";

/** Upper bound for one encrypted message (base64), generous for a 100 kB note. */
export const MAX_ENVELOPE_DATA_CHARS = 256 * 1024;
/** Upper bound for messages in one sync request or peer frame. */
export const MAX_MESSAGES_PER_BATCH = 1000;

export const envelopeSchema = z
  .object({
    hlc: z.string().regex(HLC_PATTERN),
    seq: z.number().int().positive(),
    data: z.string().min(1).max(MAX_ENVELOPE_DATA_CHARS),
  })
  .strict();

export type Envelope = z.infer<typeof envelopeSchema>;

export function originOf(envelope: Pick<Envelope, "hlc">): string {
  return parseHlc(envelope.hlc).deviceId;
}

export function encryptChange(dataKey: Uint8Array, change: ChangeMessage, seq: number): Envelope {
  const { hlc, ...payload } = change;
  const data = seal(dataKey, Buffer.from(JSON.stringify(payload)), Buffer.from(`${hlc}/${seq}`)).toString("base64");
  return { hlc, seq, data };
}

/** Throws DecryptionError (wrong key, tampering) or InvalidChangeError (valid crypto, bad content). */
export function decryptChange(dataKey: Uint8Array, envelope: Envelope): ChangeMessage {
  const plain = open(dataKey, Buffer.from(envelope.data, "base64"), Buffer.from(`${envelope.hlc}/${envelope.seq}`));
  let payload: unknown;
  try {
    payload = JSON.parse(plain.toString("utf8"));
  } catch {
    payload = null;
  }
  return parseChangeMessage({ ...(payload as object), hlc: envelope.hlc });
}

/** POST /v1/sync request body. */
export const syncRequestSchema = z
  .object({
    cursor: z.string().max(64).nullable().default(null),
    messages: z.array(envelopeSchema).max(MAX_MESSAGES_PER_BATCH).default([]),
    limit: z.number().int().min(1).max(MAX_MESSAGES_PER_BATCH).optional(),
  })
  .strict();

export const syncResponseSchema = z.object({
  messages: z.array(envelopeSchema),
  /** Opaque; pass it back as `cursor` to get what comes after. */
  cursor: z.string().nullable(),
  hasMore: z.boolean(),
  /** How many of the pushed messages were new to the server (the rest were replays). */
  stored: z.number().int().nonnegative(),
});

export type SyncRequest = z.input<typeof syncRequestSchema>;
export type SyncResponse = z.infer<typeof syncResponseSchema>;
