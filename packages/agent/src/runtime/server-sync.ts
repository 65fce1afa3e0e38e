/**
 * Background sync with the central server: push the outbox (every log entry the server has not
 * acknowledged: this PC's own changes and those learned from peers), pull what came after the saved
 * cursor, apply it through the store's merge. Each round trip is one batch; the cursor and the acks
 * are saved after every batch, so a sync cut off at any point resumes where it stopped, and the
 * server's (origin, seq) identity makes a re-sent batch harmless.
 */
import { InvalidEntryError, type LocalStore, type LoggedMessage } from "../store/index.ts";
import { BadEnvelopeError, openEnvelope, toEnvelope } from "../sync/envelopes.ts";
import { type ServerClient, ServerRejectedError, ServerUnreachableError } from "./server-client.ts";

export const CURSOR_META = "server.cursor";

export interface SyncRound {
  pushed: number;
  /** Entries pulled from the server that were new to this PC. */
  pulled: LoggedMessage[];
}

export interface ServerSyncOptions {
  store: LocalStore;
  dataKey: Buffer;
  client: ServerClient;
  /** Messages per request (push and pull), at most core MAX_MESSAGES_PER_BATCH. */
  batchSize?: number;
  /** Called for every batch of newly pulled entries, right after they are applied. */
  onPulled?: (entries: LoggedMessage[]) => void;
  /** Called after every batch, with what is still pending. */
  onProgress?: (pending: number) => void;
  /** Refreshes the access token when the server says it expired; resolves true when it did. */
  renewSession?: () => Promise<boolean>;
  logger?: { warn(...a: unknown[]): void };
}

export class ServerSync {
  private readonly opts: ServerSyncOptions;
  private readonly batchSize: number;
  private running: Promise<SyncRound> | null = null;
  private again = false;

  constructor(opts: ServerSyncOptions) {
    this.opts = opts;
    this.batchSize = opts.batchSize ?? 500;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /**
   * Runs one full sync (push everything pending, pull until the server has nothing more). A call
   * while a sync runs makes that sync go round once more and resolves with its result.
   */
  sync(): Promise<SyncRound> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      const total: SyncRound = { pushed: 0, pulled: [] };
      try {
        do {
          this.again = false;
          const round = await this.roundWithRenewal();
          total.pushed += round.pushed;
          total.pulled.push(...round.pulled);
        } while (this.again);
        return total;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async roundWithRenewal(): Promise<SyncRound> {
    try {
      return await this.round();
    } catch (error) {
      if (
        error instanceof ServerRejectedError &&
        error.status === 401 &&
        this.opts.renewSession &&
        (await this.opts.renewSession())
      ) {
        return this.round();
      }
      throw error;
    }
  }

  private async round(): Promise<SyncRound> {
    const { store, client } = this.opts;
    const result: SyncRound = { pushed: 0, pulled: [] };
    for (;;) {
      const outgoing = store.pendingForServer(this.batchSize);
      const cursor = store.getMeta(CURSOR_META) ?? null;
      const response = await client.sync({
        cursor,
        messages: outgoing.map(toEnvelope),
        limit: this.batchSize,
      });
      const fresh = this.apply(response.messages);
      // Acknowledge only after the server answered: a push whose answer was lost is simply sent again.
      store.markServerAcked(outgoing);
      if (response.cursor !== null) store.setMeta(CURSOR_META, response.cursor);
      result.pushed += outgoing.length;
      result.pulled.push(...fresh);
      if (fresh.length > 0) this.opts.onPulled?.(fresh);
      this.opts.onProgress?.(store.countPendingForServer());
      if (outgoing.length < this.batchSize && !response.hasMore) return result;
    }
  }

  private apply(envelopes: unknown[]): LoggedMessage[] {
    const entries: LoggedMessage[] = [];
    for (const envelope of envelopes) {
      try {
        entries.push(openEnvelope(this.opts.dataKey, envelope));
      } catch (error) {
        // Something this account's key cannot open cannot be applied anywhere: skip it, keep the rest.
        if (!(error instanceof BadEnvelopeError)) throw error;
        this.opts.logger?.warn("skipping a message from the server", error.message);
      }
    }
    if (entries.length === 0) return [];
    try {
      return this.opts.store.applyLogged(entries, { serverAcked: true });
    } catch (error) {
      if (!(error instanceof InvalidEntryError)) throw error;
      // One bad entry (e.g. a seq reused with another hlc) must not block the rest of the account's data.
      const fresh: LoggedMessage[] = [];
      for (const entry of entries) {
        try {
          fresh.push(...this.opts.store.applyLogged([entry], { serverAcked: true }));
        } catch (inner) {
          if (!(inner instanceof InvalidEntryError)) throw inner;
          this.opts.logger?.warn("skipping a message from the server", (inner as Error).message);
        }
      }
      return fresh;
    }
  }
}

export function isUnreachable(error: unknown): error is ServerUnreachableError {
  return error instanceof ServerUnreachableError;
}
