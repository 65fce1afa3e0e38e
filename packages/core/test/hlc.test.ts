import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClockDriftError, formatHlc, HybridLogicalClock, parseHlc } from "../src/index.ts";

describe("hybrid logical clock", () => {
  it("is strictly increasing per device whatever the wall clock does", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("tick" as const), wall: fc.integer({ min: 0, max: 2_000_000 }) }),
            fc.record({
              kind: fc.constant("observe" as const),
              wall: fc.integer({ min: 0, max: 2_000_000 }),
              remote: fc.integer({ min: 0, max: 2_000_000 }),
              counter: fc.integer({ min: 0, max: 1000 }),
            }),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        (steps) => {
          let wall = 0;
          const clock = new HybridLogicalClock("dev0a", { now: () => wall, maxDriftMs: 10_000_000 });
          let previous = clock.current();
          for (const step of steps) {
            wall = step.wall;
            const next =
              step.kind === "tick"
                ? clock.tick()
                : clock.observe(formatHlc({ millis: step.remote, counter: step.counter, deviceId: "dev0b" }));
            expect(next > previous).toBe(true);
            if (step.kind === "observe") {
              const remote = formatHlc({ millis: step.remote, counter: step.counter, deviceId: "dev0b" });
              // Causality: anything stamped after observing a message sorts after it.
              expect(parseHlc(next).millis >= step.remote).toBe(true);
              expect(clock.tick() > remote).toBe(true);
            }
            previous = clock.current();
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps going forward when the wall clock jumps backwards", () => {
    let wall = 1_000_000;
    const clock = new HybridLogicalClock("dev0a", { now: () => wall });
    const before = clock.tick();
    wall = 10;
    const after = clock.tick();
    expect(after > before).toBe(true);
    expect(parseHlc(after).millis).toBe(1_000_000);
  });

  it("rejects a remote timestamp too far in the future", () => {
    const clock = new HybridLogicalClock("dev0a", { now: () => 1000, maxDriftMs: 500 });
    const far = formatHlc({ millis: 2000, counter: 0, deviceId: "dev0b" });
    expect(() => clock.observe(far)).toThrow(ClockDriftError);
    // The rejected timestamp did not move the clock.
    expect(parseHlc(clock.tick()).millis).toBe(1000);
  });

  it("resumes from a persisted timestamp after a restart", () => {
    const first = new HybridLogicalClock("dev0a", { now: () => 5000 });
    const last = first.tick();
    const restarted = new HybridLogicalClock("dev0a", { now: () => 100, last });
    expect(restarted.tick() > last).toBe(true);
  });

  it("sorts lexicographically in (millis, counter, device) order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 47 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 2 ** 47 }),
        fc.integer({ min: 0, max: 60_000 }),
        (m1, c1, m2, c2) => {
          const a = formatHlc({ millis: m1, counter: c1, deviceId: "aaaa" });
          const b = formatHlc({ millis: m2, counter: c2, deviceId: "aaaa" });
          const numeric = m1 !== m2 ? Math.sign(m1 - m2) : Math.sign(c1 - c2);
          expect(Math.sign(a.localeCompare(b, "en", { numeric: false })) === numeric || a === b).toBe(true);
          expect(a < b ? -1 : a > b ? 1 : 0).toBe(numeric);
          expect(parseHlc(a)).toEqual({ millis: m1, counter: c1, deviceId: "aaaa" });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses malformed timestamps", () => {
    for (const bad of ["", "123", "000000000000001-00000-", "000000000000001-00000-ABC!", "x".repeat(100)]) {
      expect(() => parseHlc(bad)).toThrow(/invalid hybrid logical clock/);
    }
  });
});
