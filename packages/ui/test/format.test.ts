import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatBytes,
  formatDate,
  formatEta,
  formatPercent,
  formatSpeed,
  guessKind,
  inputToRate,
  rateToInput,
} from "../src/format.ts";

describe("formatBytes / formatSpeed", () => {
  it("uses binary units with one decimal below 10", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(734_003_200)).toBe("700 MiB");
    expect(formatBytes(5 * 1024 ** 4)).toBe("5.0 TiB");
  });
  it("never shows 1024 of a unit after rounding", () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe("1.0 MiB");
    expect(formatBytes(10 * 1024 * 1024 - 1)).toBe("10 MiB");
  });
  it("shows a dash for impossible values", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
    expect(formatSpeed(Number.POSITIVE_INFINITY)).toBe("—");
  });
  it("adds /s for speeds", () => {
    expect(formatSpeed(0)).toBe("0 B/s");
    expect(formatSpeed(5_452_595)).toBe("5.2 MiB/s");
  });
});

describe("formatEta", () => {
  it("reads naturally at every scale", () => {
    expect(formatEta(0)).toBe("0 s");
    expect(formatEta(44.2)).toBe("45 s");
    expect(formatEta(78)).toBe("1 min 18 s");
    expect(formatEta(3600 * 2 + 60 * 10)).toBe("2 h 10 min");
    expect(formatEta(86_400 * 3 + 3600 * 4)).toBe("3 d 4 h");
  });
  it("is a dash when unknown", () => {
    expect(formatEta(null)).toBe("—");
    expect(formatEta(undefined)).toBe("—");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("—");
    expect(formatEta(-5)).toBe("—");
  });
});

describe("formatPercent", () => {
  it("shows 100 % only when complete", () => {
    expect(formatPercent(0)).toBe("0 %");
    expect(formatPercent(0.0042)).toBe("0.4 %");
    expect(formatPercent(0.423)).toBe("42 %");
    expect(formatPercent(0.9999)).toBe("99 %");
    expect(formatPercent(1)).toBe("100 %");
  });
});

describe("formatDate / formatAgo", () => {
  const at = new Date(2026, 2, 4, 17, 5, 30).getTime();
  it("formats local dates as YYYY-MM-DD HH:MM", () => {
    expect(formatDate(at)).toBe("2026-03-04 17:05");
    expect(formatDate(null)).toBe("never");
    expect(formatDate(0)).toBe("never");
  });
  it("says how long ago, then falls back to the date", () => {
    expect(formatAgo(at, at + 10_000)).toBe("just now");
    expect(formatAgo(at, at + 5 * 60_000)).toBe("5 min ago");
    expect(formatAgo(at, at + 3 * 3_600_000)).toBe("3 h ago");
    expect(formatAgo(at, at + 3 * 86_400_000)).toBe("2026-03-04 17:05");
    expect(formatAgo(null, at)).toBe("never");
  });
});

describe("rate limits in KiB/s and MiB/s", () => {
  it("shows a limit in the unit that reads best, 0 = unlimited", () => {
    expect(rateToInput(0)).toEqual({ value: 0, unit: "KiB/s" });
    expect(rateToInput(512 * 1024)).toEqual({ value: 512, unit: "KiB/s" });
    expect(rateToInput(2 * 1024 * 1024)).toEqual({ value: 2, unit: "MiB/s" });
    expect(rateToInput(1.5 * 1024 * 1024)).toEqual({ value: 1.5, unit: "MiB/s" });
    expect(rateToInput(1000)).toEqual({ value: 0.98, unit: "KiB/s" });
  });
  it("turns what the user typed into bytes per second", () => {
    expect(inputToRate(2, "MiB/s")).toBe(2_097_152);
    expect(inputToRate("1,5", "MiB/s")).toBe(1_572_864);
    expect(inputToRate(100, "KiB/s")).toBe(102_400);
    expect(inputToRate(0, "MiB/s")).toBe(0);
    expect(inputToRate(-3, "KiB/s")).toBe(0);
    expect(inputToRate("abc", "KiB/s")).toBe(0);
  });
  it("round-trips", () => {
    for (const bytes of [0, 1024, 300 * 1024, 1024 * 1024, 10 * 1024 * 1024, 2.25 * 1024 * 1024]) {
      const { value, unit } = rateToInput(bytes);
      expect(inputToRate(value, unit)).toBe(bytes);
    }
  });
});

describe("link kinds", () => {
  it("guesses the kind of a pasted link", () => {
    expect(guessKind("magnet:?xt=urn:btih:abc")).toBe("magnet");
    expect(guessKind("https://example.org/file.torrent")).toBe("torrent");
    expect(guessKind("https://example.org/file.torrent?x=1")).toBe("torrent");
    expect(guessKind("https://example.org/page")).toBe("web");
    expect(guessKind("   ")).toBe("note");
  });
});
