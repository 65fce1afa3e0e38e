/**
 * Envelopes arrive from the server and from peers as {hlc, seq, data}; the store logs them with their
 * origin and the decrypted change. Both paths go through here so they validate the same way.
 */
import { decryptChange, type Envelope, envelopeSchema, originOf } from "@perpetuanet/core";
import type { LoggedMessage, StoredEnvelope } from "../store/index.ts";

export class BadEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadEnvelopeError";
  }
}

/**
 * Validates, decrypts and labels one envelope. Throws BadEnvelopeError for anything that is not a
 * well-formed envelope sealed with this account's data key (wrong key, tampering, bad content).
 */
export function openEnvelope(dataKey: Uint8Array, input: unknown): LoggedMessage {
  const parsed = envelopeSchema.safeParse(input);
  if (!parsed.success) {
    throw new BadEnvelopeError(`malformed envelope: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const envelope = parsed.data;
  try {
    const change = decryptChange(dataKey, envelope);
    return { origin: originOf(envelope), seq: envelope.seq, hlc: envelope.hlc, data: envelope.data, change };
  } catch (error) {
    throw new BadEnvelopeError(`${envelope.hlc}#${envelope.seq}: ${(error as Error).message}`);
  }
}

/** The wire form of a stored entry (origin travels inside the hlc). */
export function toEnvelope(entry: StoredEnvelope): Envelope {
  return { hlc: entry.hlc, seq: entry.seq, data: entry.data };
}
