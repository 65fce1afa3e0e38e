/**
 * One `/perpetuanet/sync/1` stream with a trusted peer. On open both sides send their marks; each answers
 * marks with every entry above them (paged from the store) and then `caughtUp`. Afterwards entries are
 * pushed as they are applied. Incoming frames are handled synchronously in the stream's message event
 * (decrypting and applying are synchronous), so nothing queues up on the receiving side.
 */
import type { Connection, Stream, StreamMessageEvent } from "@libp2p/interface";
import { MAX_MESSAGES_PER_BATCH } from "@perpetuanet/core";
import type { Uint8ArrayList } from "uint8arraylist";
import { InvalidEntryError, type LocalStore, type LoggedMessage, type StoredEnvelope } from "../store/index.ts";
import { BadEnvelopeError, openEnvelope } from "../sync/envelopes.ts";
import { batchEnvelopes, encodeFrame, type Frame, FrameDecoder, ProtocolError } from "./frames.ts";
import { FrameRateLimit } from "./rate-limit.ts";
import type { P2PLogger } from "./types.ts";

/** Pushes are coalesced: at most one partial entries frame per this interval per stream. */
const MIN_PUSH_INTERVAL_MS = 5;
/** Pushed entries waiting for a slow peer beyond this are dropped; anti-entropy sends them later. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface ResolvedLimits {
  maxFrameBytes: number;
  maxFramesPerSecond: number;
  banMs: number;
}

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly store: LocalStore;
  readonly dataKey: Uint8Array;
  readonly logger: P2PLogger;
  readonly limits: ResolvedLimits;
  isStopped(): boolean;
  localMarks(): Record<string, number>;
  /** Applies, announces and forwards; throws InvalidEntryError for entries the store refuses. */
  applyFromPeer(session: SyncSession, entries: LoggedMessage[]): void;
  caughtUp(session: SyncSession): void;
  misbehaved(session: SyncSession, reason: string): void;
  closed(session: SyncSession): void;
}

export class SyncSession {
  readonly peerId: string;
  readonly connection: Connection;
  private readonly stream: Stream;
  private readonly host: SessionHost;
  private readonly decoder: FrameDecoder;
  private readonly rate: FrameRateLimit;
  private pending: StoredEnvelope[] = [];
  private pendingBytes = 0;
  private overflowed = false;
  private flushing = false;
  private lastFlush = 0;
  private catchUpRunning = false;
  private nextMarks: Record<string, number> | undefined;
  private ended = false;

  constructor(stream: Stream, connection: Connection, host: SessionHost) {
    this.stream = stream;
    this.connection = connection;
    this.peerId = connection.remotePeer.toString();
    this.host = host;
    this.decoder = new FrameDecoder(host.limits.maxFrameBytes);
    this.rate = new FrameRateLimit(host.limits.maxFramesPerSecond);
  }

  start(): void {
    this.stream.addEventListener("message", (evt) => this.onMessage(evt));
    this.stream.addEventListener("close", () => this.end());
    this.sendMarks(false);
  }

  /** Starts an exchange: the peer answers with what we lack. */
  sendMarks(ask: boolean): void {
    this.sendInBackground({ t: "marks", marks: this.host.localMarks(), ...(ask ? { ask } : {}) });
  }

  /** Queues entries for the peer; they go out in frames of up to a batch, a few milliseconds later. */
  enqueue(entries: StoredEnvelope[]): void {
    if (this.ended || entries.length === 0) return;
    for (const e of entries) {
      this.pending.push(e);
      this.pendingBytes += e.data.length;
    }
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.host.logger.debug(`p2p: ${this.peerId} is slow; ${this.pending.length} pushed entries left to anti-entropy`);
      this.pending = [];
      this.pendingBytes = 0;
      this.overflowed = true;
    }
    this.scheduleFlush();
  }

  close(): void {
    if (this.ended) return;
    this.end();
    this.stream.abort(new Error("node stopping"));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.host.closed(this);
  }

  private onMessage(evt: StreamMessageEvent): void {
    if (this.ended || this.host.isStopped()) return;
    try {
      for (const frame of this.decoder.push(evt.data as Uint8Array | Uint8ArrayList)) {
        if (!this.rate.take()) throw new ProtocolError("frame rate over the bound");
        this.handle(frame);
        if (this.ended) return;
      }
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof BadEnvelopeError || error instanceof InvalidEntryError) {
        this.host.misbehaved(this, `${error.name}: ${error.message}`);
        this.end();
      } else {
        this.host.logger.warn(`p2p: could not handle a frame from ${this.peerId}`, error);
      }
    }
  }

  private handle(frame: Frame): void {
    switch (frame.t) {
      case "marks":
        if (frame.ask) this.sendMarks(false);
        this.catchUp(frame.marks);
        return;
      case "entries": {
        const opened = frame.entries.map((e) => openEnvelope(this.host.dataKey, e));
        if (opened.length > 0) this.host.applyFromPeer(this, opened);
        return;
      }
      case "caughtUp":
        this.host.caughtUp(this);
        return;
    }
  }

  /** Sends everything above the peer's marks; a request arriving meanwhile runs once this one ends. */
  private catchUp(theirMarks: Record<string, number>): void {
    if (this.catchUpRunning) {
      this.nextMarks = theirMarks;
      return;
    }
    this.catchUpRunning = true;
    void (async () => {
      let marks: Record<string, number> | undefined = theirMarks;
      try {
        while (marks && !this.ended) {
          this.nextMarks = undefined;
          await this.sendAbove(marks);
          marks = this.nextMarks;
        }
      } catch (error) {
        if (!this.ended && this.stream.status === "open") {
          this.host.logger.warn(`p2p: catching up ${this.peerId} failed`, error);
        }
      } finally {
        this.catchUpRunning = false;
      }
    })();
  }

  private async sendAbove(theirMarks: Record<string, number>): Promise<void> {
    const origins = new Set([...Object.keys(this.host.localMarks()), ...Object.keys(theirMarks)]);
    for (const origin of origins) {
      let after = theirMarks[origin] ?? 0;
      for (;;) {
        if (this.ended || this.host.isStopped()) return;
        // entriesAfter also returns entries above our own gaps: the peer may lack those too.
        const page = this.host.store.entriesAfter(origin, after, MAX_MESSAGES_PER_BATCH);
        for (const batch of batchEnvelopes(page)) await this.send({ t: "entries", entries: batch });
        if (page.length < MAX_MESSAGES_PER_BATCH) break;
        after = page[page.length - 1]!.seq;
      }
    }
    await this.send({ t: "caughtUp" });
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    const wait = this.lastFlush + MIN_PUSH_INTERVAL_MS - Date.now();
    const run = () => void this.flush();
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    try {
      while (!this.ended && (this.pending.length > 0 || this.overflowed)) {
        if (this.overflowed) {
          this.overflowed = false;
          // Ask for the peer's marks: its answer makes us send what was dropped.
          await this.send({ t: "marks", marks: this.host.localMarks(), ask: true });
          continue;
        }
        const entries = this.pending;
        this.pending = [];
        this.pendingBytes = 0;
        for (const batch of batchEnvelopes(entries)) await this.send({ t: "entries", entries: batch });
      }
    } catch (error) {
      if (!this.ended && this.stream.status === "open") {
        this.host.logger.warn(`p2p: pushing to ${this.peerId} failed`, error);
      }
    } finally {
      this.lastFlush = Date.now();
      this.flushing = false;
      if (!this.ended && this.pending.length > 0) this.scheduleFlush();
    }
  }

  /** Writes one frame, waiting first while the stream asks for back pressure. */
  private async send(frame: Frame): Promise<void> {
    while (this.stream.writableNeedsDrain && !this.ended) await this.drained();
    // A hang-up can close the stream a moment before its close event ends the session.
    if (this.ended || this.stream.writeStatus !== "writable") return;
    this.stream.send(encodeFrame(frame));
  }

  /**
   * The next "drain" event. Not stream.onDrain(): in @libp2p/utils 7.4 its promise is never renewed, so
   * after the first drain it resolves at once and a wait loop on it spins in microtasks, starving the process.
   */
  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.stream.removeEventListener("close", onClose);
        resolve();
      };
      const onClose = () => {
        this.stream.removeEventListener("drain", onDrain);
        reject(new Error("stream closed while waiting to send"));
      };
      this.stream.addEventListener("drain", onDrain, { once: true });
      this.stream.addEventListener("close", onClose, { once: true });
    });
  }

  private sendInBackground(frame: Frame): void {
    this.send(frame).catch((error: unknown) => {
      if (!this.ended) this.host.logger.debug(`p2p: sending to ${this.peerId} failed`, error);
    });
  }
}
