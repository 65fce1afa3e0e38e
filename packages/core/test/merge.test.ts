import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CellState, type ChangeMessage, formatHlc, type TableName } from "../src/index.ts";

const devices = ["dev0a", "dev0b", "dev0c"];
const rowIds = ["r1", "r2", "r3"];
const columns: Array<[TableName, string, fc.Arbitrary<ChangeMessage["value"]>]> = [
  ["links", "title", fc.string({ maxLength: 8 })],
  ["links", "tags", fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })],
  ["links", "deleted", fc.boolean()],
  ["downloads", "bytesDone", fc.nat()],
];

/** A random history: each device stamps its own writes with its own increasing clock. */
const history = fc
  .array(
    fc.record({
      device: fc.constantFrom(...devices),
      millis: fc.integer({ min: 0, max: 50 }),
      rowId: fc.constantFrom(...rowIds),
      column: fc.constantFrom(...columns),
      value: fc.jsonValue(),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .chain((writes) =>
    fc.tuple(...writes.map((w) => w.column[2])).map((values) => {
      const counters = new Map<string, number>();
      return writes.map((w, i): ChangeMessage => {
        const counter = (counters.get(w.device) ?? 0) + 1;
        counters.set(w.device, counter);
        return {
          table: w.column[0],
          rowId: w.rowId,
          column: w.column[1],
          value: values[i] as ChangeMessage["value"],
          hlc: formatHlc({ millis: w.millis, counter, deviceId: w.device }),
        };
      });
    }),
  );

/** The same messages, shuffled, with random duplicates, split into random batches. */
const redelivery = (messages: ChangeMessage[]) =>
  fc.shuffledSubarray(messages, { minLength: 0 }).chain((dupes) => {
    const all = [...messages, ...dupes];
    return fc
      .tuple(
        fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 10 }),
      )
      .map(([order, batchSizes]) => {
        const batches: ChangeMessage[][] = [];
        for (let i = 0, b = 0; i < order.length; b++) {
          const size = batchSizes[b % batchSizes.length]!;
          batches.push(order.slice(i, i + size));
          i += size;
        }
        return batches;
      });
  });

describe("last-writer-wins merge", () => {
  it("converges on any permutation, duplication and batching of the same messages (1,000 histories)", () => {
    fc.assert(
      fc.property(
        history.chain((messages) => fc.tuple(fc.constant(messages), redelivery(messages), redelivery(messages))),
        ([messages, deliveryA, deliveryB]) => {
          const reference = new CellState();
          reference.apply(messages);
          const a = new CellState();
          for (const batch of deliveryA) a.apply(batch);
          const b = new CellState();
          for (const batch of deliveryB) b.apply(batch);
          expect(a.canonical()).toBe(reference.canonical());
          expect(b.canonical()).toBe(reference.canonical());
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps, for every cell, the value written with the greatest timestamp", () => {
    fc.assert(
      fc.property(history, (messages) => {
        const state = new CellState();
        state.apply([...messages].reverse());
        const rows = state.rows();
        for (const m of messages) {
          const newest = messages
            .filter((x) => x.table === m.table && x.rowId === m.rowId && x.column === m.column)
            .reduce((best, x) => (x.hlc > best.hlc ? x : best));
          expect(rows[m.table]?.[m.rowId]?.[m.column]).toEqual(newest.value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("reports as changed only messages that won, so re-applying changes nothing", () => {
    fc.assert(
      fc.property(history, (messages) => {
        const state = new CellState();
        state.apply(messages);
        expect(state.apply(messages)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
