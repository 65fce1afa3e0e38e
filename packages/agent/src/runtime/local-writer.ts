/**
 * The only way this PC changes data: rows become change messages stamped by this device's hybrid
 * logical clock, sealed with the account data key and applied to the store in one transaction. The
 * resulting log entries are the outbox for the server and what peers are sent.
 */
import {
  ClockDriftError,
  changesFor,
  encryptChange,
  HybridLogicalClock,
  type RowOf,
  type TableName,
} from "@perpetuanet/core";
import type { LocalStore, LoggedMessage } from "../store/index.ts";

/** One row's new values, typed per table. */
export type RowWrite = { [T in TableName]: { table: T; rowId: string; values: RowOf<T> } }[TableName];

export class LocalWriter {
  readonly clock: HybridLogicalClock;
  private readonly store: LocalStore;
  private readonly dataKey: Buffer;
  private readonly onWritten: (entries: LoggedMessage[]) => void;
  private readonly logger: { warn(...a: unknown[]): void } | undefined;

  constructor(opts: {
    store: LocalStore;
    dataKey: Buffer;
    deviceId: string;
    onWritten: (entries: LoggedMessage[]) => void;
    logger?: { warn(...a: unknown[]): void };
  }) {
    this.store = opts.store;
    this.dataKey = opts.dataKey;
    this.onWritten = opts.onWritten;
    this.logger = opts.logger;
    // Resuming from the newest timestamp the store has seen keeps the clock monotonic across restarts.
    this.clock = new HybridLogicalClock(opts.deviceId, { last: opts.store.lastHlc() });
  }

  get deviceId(): string {
    return this.clock.deviceId;
  }

  write<T extends TableName>(table: T, rowId: string, values: RowOf<T>): LoggedMessage[] {
    return this.writeRows([{ table, rowId, values } as RowWrite]);
  }

  /** Several rows in one transaction: either all of them are written or none. */
  writeRows(rows: RowWrite[]): LoggedMessage[] {
    const changes = rows.flatMap((r) => changesFor(this.clock, r.table, r.rowId, r.values));
    if (changes.length === 0) return [];
    const entries = this.store.writeLocal(this.deviceId, changes, (change, seq) =>
      encryptChange(this.dataKey, change, seq),
    );
    this.onWritten(entries);
    return entries;
  }

  /** Folds timestamps received from other PCs into the clock, so later local writes order after them. */
  observe(entries: LoggedMessage[]): void {
    let newest = "";
    for (const e of entries) if (e.hlc > newest && e.origin !== this.deviceId) newest = e.hlc;
    if (!newest) return;
    try {
      this.clock.observe(newest);
    } catch (error) {
      if (!(error instanceof ClockDriftError)) throw error;
      // The message is applied anyway (its merge position is fixed by its hlc); only our clock refuses to jump.
      this.logger?.warn("a peer's clock is ahead of this PC's", error.message);
    }
  }
}
