/**
 * Change messages: the only way data changes. `{table, rowId, column, value, hlc}` per cell.
 */
import { z } from "zod";
import { HLC_PATTERN, type HybridLogicalClock } from "./hlc.ts";
import { columnSchema, isColumnOf, isTableName, ROW_ID_PATTERN, type RowOf, type TableName } from "./records.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ChangeMessage {
  table: TableName;
  rowId: string;
  column: string;
  value: JsonValue;
  hlc: string;
}

/** Validates shape, table, column and the column's value type in one pass. */
export const changeMessageSchema = z
  .object({
    table: z.string(),
    rowId: z.string().regex(ROW_ID_PATTERN),
    column: z.string().max(64),
    value: z.json(),
    hlc: z.string().regex(HLC_PATTERN),
  })
  .strict()
  .superRefine((msg, ctx) => {
    if (!isTableName(msg.table)) {
      ctx.addIssue({ code: "custom", path: ["table"], message: `unknown table ${msg.table}` });
      return;
    }
    if (!isColumnOf(msg.table, msg.column)) {
      ctx.addIssue({ code: "custom", path: ["column"], message: `unknown column ${msg.table}.${msg.column}` });
      return;
    }
    const result = columnSchema(msg.table, msg.column).safeParse(msg.value);
    if (!result.success) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: `bad value for ${msg.table}.${msg.column}: ${result.error.issues[0]?.message ?? "invalid"}`,
      });
    }
  });

export class InvalidChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidChangeError";
  }
}

export function parseChangeMessage(input: unknown): ChangeMessage {
  const result = changeMessageSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidChangeError(`invalid change message: ${result.error.issues.map((i) => i.message).join("; ")}`);
  }
  return result.data as ChangeMessage;
}

/** Turn a partial row write into one message per column, each with a fresh timestamp. */
export function changesFor<T extends TableName>(
  clock: HybridLogicalClock,
  table: T,
  rowId: string,
  values: RowOf<T>,
): ChangeMessage[] {
  const out: ChangeMessage[] = [];
  for (const [column, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out.push(parseChangeMessage({ table, rowId, column, value, hlc: clock.tick() }));
  }
  return out;
}

/** Deterministic order for logs and hashes: by hlc, then by cell. */
export function compareMessages(a: ChangeMessage, b: ChangeMessage): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  const ka = cellKey(a.table, a.rowId, a.column);
  const kb = cellKey(b.table, b.rowId, b.column);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function cellKey(table: string, rowId: string, column: string): string {
  return `${table}\u0000${rowId}\u0000${column}`;
}
