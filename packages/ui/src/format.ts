/** Small formatting helpers shared by every screen (unit-tested in test/format.test.ts). */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** 1536 -> "1.5 KiB"; binary units, at most 3 significant digits above 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounding can carry to 1024 (1023.99 KiB): show the next unit instead.
  if (value >= 1023.5 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // One decimal below 10, unless it would read "10.0".
  const digits = value < 9.95 ? 1 : 0;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** Bytes per second -> "1.2 MiB/s"; 0 -> "0 B/s". */
export function formatSpeed(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds remaining -> "45 s", "3 min 05 s", "2 h 10 min", "3 d 4 h"; null / unknown -> "—". */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  const d = Math.floor(h / 24);
  return `${d} d ${h % 24} h`;
}

/** 0..1 -> "42 %"; keeps one decimal below 10 % and never shows 100 % before completion. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction <= 0) return "0 %";
  if (fraction >= 1) return "100 %";
  const pct = fraction * 100;
  if (pct < 10) return `${pct.toFixed(1)} %`;
  return `${Math.min(99, Math.floor(pct))} %`;
}

/** Epoch millis -> local date and time, e.g. "2026-03-04 17:05"; null -> "never". */
export function formatDate(millis: number | null | undefined): string {
  if (millis === null || millis === undefined || !Number.isFinite(millis) || millis <= 0) return "never";
  const d = new Date(millis);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Epoch millis relative to `now`: "just now", "5 min ago", "3 h ago", else the date. */
export function formatAgo(millis: number | null | undefined, now: number = Date.now()): string {
  if (millis === null || millis === undefined || !Number.isFinite(millis) || millis <= 0) return "never";
  const diff = Math.round((now - millis) / 1000);
  if (diff < 0) return formatDate(millis);
  if (diff < 45) return "just now";
  if (diff < 3600) return `${Math.max(1, Math.round(diff / 60))} min ago`;
  if (diff < 86_400) return `${Math.round(diff / 3600)} h ago`;
  return formatDate(millis);
}

export type RateUnit = "KiB/s" | "MiB/s";
const UNIT_BYTES: Record<RateUnit, number> = { "KiB/s": 1024, "MiB/s": 1024 * 1024 };

/** A limit in bytes per second shown as a number and a unit: 0 stays 0 (unlimited). */
export function rateToInput(bytesPerSecond: number): { value: number; unit: RateUnit } {
  if (bytesPerSecond <= 0 || !Number.isFinite(bytesPerSecond)) return { value: 0, unit: "KiB/s" };
  const mib = Math.round((bytesPerSecond / UNIT_BYTES["MiB/s"]) * 100) / 100;
  // Whole or two-decimal MiB/s values read better in MiB/s (5 MiB/s rather than 5120 KiB/s).
  if (mib >= 1 && Math.abs(mib * UNIT_BYTES["MiB/s"] - bytesPerSecond) < 1) return { value: mib, unit: "MiB/s" };
  return { value: Math.round((bytesPerSecond / UNIT_BYTES["KiB/s"]) * 100) / 100, unit: "KiB/s" };
}

/** The inverse of rateToInput: a user's number and unit to whole bytes per second (negative / NaN -> 0). */
export function inputToRate(value: number | string, unit: RateUnit): number {
  const n = typeof value === "string" ? Number(value.replace(",", ".")) : value;
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.round(n * UNIT_BYTES[unit]);
}

/** Guess a link's kind from what the user pasted. */
export function guessKind(url: string): "magnet" | "torrent" | "web" | "note" {
  const u = url.trim();
  if (!u) return "note";
  if (/^magnet:\?/i.test(u)) return "magnet";
  if (/^https?:\/\/\S+\.torrent(\?\S*)?$/i.test(u)) return "torrent";
  return "web";
}
