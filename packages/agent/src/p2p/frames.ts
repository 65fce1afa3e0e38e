/**
 * The wire format of `/perpetuanet/sync/1`: unsigned-varint length-prefixed JSON frames. Frames are
 * bounded (the receiver refuses anything over its limit as soon as it reads the length) and entries are
 * batched by bytes and by core MAX_MESSAGES_PER_BATCH.
 */
import { DEVICE_ID_PATTERN, type Envelope, MAX_MESSAGES_PER_BATCH } from "@perpetuanet/core";
import * as lp from "it-length-prefixed";
import { Uint8ArrayList } from "uint8arraylist";
import type { StoredEnvelope } from "../store/index.ts";
import { toEnvelope } from "../sync/envelopes.ts";

export const SYNC_PROTOCOL = "/perpetuanet/sync/1";
/** What a receiver accepts by default; a frame announcing more is misbehaviour. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** What a sender aims for: one envelope may be up to 256 KiB, so a full frame stays well under the limit. */
const TARGET_FRAME_BYTES = 1024 * 1024;
/** More origins than an account could ever have devices. */
const MAX_ORIGINS_PER_FRAME = 4096;

export type Frame =
  /** Per-origin contiguous marks ("send me what comes after"); `ask` requests the peer's marks back. */
  | { t: "marks"; marks: Record<string, number>; ask?: boolean }
  /** Envelopes, validated and decrypted by the receiver with openEnvelope. */
  | { t: "entries"; entries: unknown[] }
  /** Everything above the last marks received has been sent. */
  | { t: "caughtUp" };

/** The peer broke the protocol: its connection is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeFrame(frame: Frame): Uint8Array {
  return lp.encode.single(encoder.encode(JSON.stringify(frame))).subarray();
}

/** Incremental decoder for one stream: feed it chunks as they arrive, get whole frames back. */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList();
  private readonly maxFrameBytes: number;
  private pendingLength: number | undefined;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Throws ProtocolError on an oversize or malformed frame; the stream is unusable afterwards. */
  push(chunk: Uint8Array | Uint8ArrayList): Frame[] {
    this.buffer.append(chunk);
    const frames: Frame[] = [];
    for (;;) {
      if (this.pendingLength === undefined) this.pendingLength = this.readLength();
      if (this.pendingLength === undefined || this.buffer.byteLength < this.pendingLength) return frames;
      const bytes = this.buffer.subarray(0, this.pendingLength);
      this.buffer.consume(this.pendingLength);
      this.pendingLength = undefined;
      frames.push(parseFrame(bytes));
    }
  }

  private readLength(): number | undefined {
    let value = 0;
    for (let i = 0; i < this.buffer.byteLength; i++) {
      const byte = this.buffer.get(i);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        this.buffer.consume(i + 1);
        if (value > this.maxFrameBytes) {
          throw new ProtocolError(`frame of ${value} bytes exceeds the ${this.maxFrameBytes} byte limit`);
        }
        return value;
      }
      // Four varint bytes already describe 256 MiB: a longer prefix can only be an oversize frame or junk.
      if (i >= 4) throw new ProtocolError("frame length prefix is too long");
    }
    return undefined;
  }
}

function parseFrame(bytes: Uint8Array): Frame {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ProtocolError("frame is not JSON");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new ProtocolError("frame is not an object");
  const frame = value as Record<string, unknown>;
  switch (frame.t) {
    case "marks":
      return { t: "marks", marks: parseMarks(frame.marks), ask: frame.ask === true };
    case "entries":
      if (!Array.isArray(frame.entries) || frame.entries.length > MAX_MESSAGES_PER_BATCH) {
        throw new ProtocolError(`entries frame must hold an array of at most ${MAX_MESSAGES_PER_BATCH} envelopes`);
      }
      return { t: "entries", entries: frame.entries };
    case "caughtUp":
      return { t: "caughtUp" };
    default:
      throw new ProtocolError(`unknown frame type ${JSON.stringify(frame.t)?.slice(0, 40)}`);
  }
}

function parseMarks(input: unknown): Record<string, number> {
  if (!input || typeof input !== "object" || Array.isArray(input)) throw new ProtocolError("marks must be an object");
  const entries = Object.entries(input);
  if (entries.length > MAX_ORIGINS_PER_FRAME) throw new ProtocolError(`more than ${MAX_ORIGINS_PER_FRAME} origins`);
  const marks: Record<string, number> = {};
  for (const [origin, mark] of entries) {
    if (!DEVICE_ID_PATTERN.test(origin) || !Number.isSafeInteger(mark) || (mark as number) < 0) {
      throw new ProtocolError(`bad mark for ${origin.slice(0, 70)}`);
    }
    marks[origin] = mark as number;
  }
  return marks;
}

/** JSON size of an envelope in a frame, close enough for batching. */
function envelopeBytes(entry: StoredEnvelope): number {
  return entry.data.length + entry.hlc.length + 40;
}

/** Splits entries into frame-sized batches, in order. */
export function batchEnvelopes(
  entries: StoredEnvelope[],
  maxBytes = TARGET_FRAME_BYTES,
  maxCount = MAX_MESSAGES_PER_BATCH,
): Envelope[][] {
  const batches: Envelope[][] = [];
  let batch: Envelope[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = envelopeBytes(entry);
    if (batch.length > 0 && (batch.length >= maxCount || bytes + size > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(toEnvelope(entry));
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
