/**
 * Last-writer-wins per (table, rowId, column): the greatest hlc wins. Because the hlc contains the
 * device id, two distinct writes never tie, so the merge is commutative, associative and idempotent.
 */
import { type ChangeMessage, cellKey, type JsonValue } from "./messages.ts";
import type { TableName } from "./records.ts";

export interface Cell {
  value: JsonValue;
  hlc: string;
}

/** True when `incoming` should replace `existing` (or fill an empty cell). */
export function wins(incomingHlc: string, existingHlc: string | undefined): boolean {
  return existingHlc === undefined || incomingHlc > existingHlc;
}

/** In-memory cell state; the agent's SQLite store applies the same rule in SQL. */
export class CellState {
  readonly cells = new Map<string, Cell & { table: TableName; rowId: string; column: string }>();

  /** Applies messages; returns those that changed a cell (what a store would forward). */
  apply(messages: Iterable<ChangeMessage>): ChangeMessage[] {
    const changed: ChangeMessage[] = [];
    for (const m of messages) {
      const key = cellKey(m.table, m.rowId, m.column);
      const existing = this.cells.get(key);
      if (wins(m.hlc, existing?.hlc)) {
        this.cells.set(key, { table: m.table, rowId: m.rowId, column: m.column, value: m.value, hlc: m.hlc });
        changed.push(m);
      }
    }
    return changed;
  }

  /** Rows per table, tombstoned rows included (callers filter on `deleted`). */
  rows(): Record<string, Record<string, Record<string, JsonValue>>> {
    const out: Record<string, Record<string, Record<string, JsonValue>>> = {};
    for (const cell of this.cells.values()) {
      const table = (out[cell.table] ??= {});
      const row = (table[cell.rowId] ??= { id: cell.rowId });
      row[cell.column] = cell.value;
    }
    return out;
  }

  /** Canonical serialisation: equal states give equal strings, whatever the apply order. */
  canonical(): string {
    return JSON.stringify(
      [...this.cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, c]) => [k, c.hlc, c.value]),
    );
  }
}
