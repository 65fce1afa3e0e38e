/**
 * Hybrid logical clock (Kulkarni et al.), serialised as `millis-counter-deviceId` with fixed-width
 * fields so that plain string comparison is causal order. The device id is the tie-breaker, which is
 * why two different devices can never produce the same timestamp.
 */

export const MILLIS_WIDTH = 15;
export const COUNTER_WIDTH = 5;
/** Largest counter that fits the fixed width in base 36. */
export const MAX_COUNTER = 36 ** COUNTER_WIDTH - 1;
/** Device ids are short lowercase tokens so that the `-` separator stays unambiguous. */
export const DEVICE_ID_PATTERN = /^[0-9a-z]{4,64}$/;
export const HLC_PATTERN = /^\d{15}-[0-9a-z]{5}-[0-9a-z]{4,64}$/;

export interface Timestamp {
  readonly millis: number;
  readonly counter: number;
  readonly deviceId: string;
}

export class ClockDriftError extends Error {
  readonly remoteMillis: number;
  readonly physicalMillis: number;
  readonly maxDriftMs: number;

  constructor(remoteMillis: number, physicalMillis: number, maxDriftMs: number) {
    super(
      `clock drift: remote timestamp is ${remoteMillis - physicalMillis} ms ahead of this PC's clock (limit ${maxDriftMs} ms)`,
    );
    this.name = "ClockDriftError";
    this.remoteMillis = remoteMillis;
    this.physicalMillis = physicalMillis;
    this.maxDriftMs = maxDriftMs;
  }
}

export class ClockOverflowError extends Error {
  constructor() {
    super("hybrid logical clock counter overflow");
    this.name = "ClockOverflowError";
  }
}

export class InvalidTimestampError extends Error {
  constructor(text: string) {
    super(`invalid hybrid logical clock timestamp: ${JSON.stringify(text).slice(0, 100)}`);
    this.name = "InvalidTimestampError";
  }
}

export function formatHlc(ts: Timestamp): string {
  if (!Number.isSafeInteger(ts.millis) || ts.millis < 0) throw new InvalidTimestampError(String(ts.millis));
  if (!Number.isInteger(ts.counter) || ts.counter < 0 || ts.counter > MAX_COUNTER) throw new ClockOverflowError();
  if (!DEVICE_ID_PATTERN.test(ts.deviceId)) throw new InvalidTimestampError(ts.deviceId);
  return `${String(ts.millis).padStart(MILLIS_WIDTH, "0")}-${ts.counter.toString(36).padStart(COUNTER_WIDTH, "0")}-${ts.deviceId}`;
}

export function parseHlc(text: string): Timestamp {
  if (typeof text !== "string" || !HLC_PATTERN.test(text)) throw new InvalidTimestampError(String(text));
  const [millis, counter, deviceId] = text.split("-") as [string, string, string];
  return { millis: Number(millis), counter: Number.parseInt(counter, 36), deviceId };
}

export function isHlc(text: unknown): text is string {
  return typeof text === "string" && HLC_PATTERN.test(text);
}

export interface ClockOptions {
  /** Reject remote timestamps further than this ahead of the local wall clock. Default one minute. */
  maxDriftMs?: number;
  /** Injectable wall clock, for tests and simulations. */
  now?: () => number;
  /** Restore the last issued/observed timestamp, so a restarted PC never goes backwards. */
  last?: string | undefined;
}

/**
 * One clock per device. `tick()` stamps a local event, `observe()` folds in a remote timestamp.
 * Both are strictly increasing per device even if the wall clock jumps backwards.
 */
export class HybridLogicalClock {
  readonly deviceId: string;
  readonly maxDriftMs: number;
  private readonly wallClock: () => number;
  private millis = 0;
  private counter = 0;

  constructor(deviceId: string, options: ClockOptions = {}) {
    if (!DEVICE_ID_PATTERN.test(deviceId)) throw new InvalidTimestampError(deviceId);
    this.deviceId = deviceId;
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
    this.wallClock = options.now ?? Date.now;
    if (options.last) {
      const last = parseHlc(options.last);
      this.millis = last.millis;
      this.counter = last.counter;
    }
  }

  /** Timestamp for a new local event. */
  tick(): string {
    const physical = this.wallClock();
    if (physical > this.millis) {
      this.millis = physical;
      this.counter = 0;
    } else {
      this.bumpCounter();
    }
    return this.current();
  }

  /** Merge a timestamp received from another device; throws ClockDriftError if it is too far ahead. */
  observe(remote: string): string {
    const r = parseHlc(remote);
    const physical = this.wallClock();
    if (r.millis - physical > this.maxDriftMs) throw new ClockDriftError(r.millis, physical, this.maxDriftMs);
    const nextMillis = Math.max(this.millis, r.millis, physical);
    if (nextMillis === this.millis && nextMillis === r.millis) {
      this.counter = Math.max(this.counter, r.counter);
      this.bumpCounter();
    } else if (nextMillis === this.millis) {
      this.bumpCounter();
    } else if (nextMillis === r.millis) {
      this.millis = nextMillis;
      this.counter = r.counter;
      this.bumpCounter();
    } else {
      this.millis = nextMillis;
      this.counter = 0;
    }
    return this.current();
  }

  /** The last timestamp issued or observed, for persisting across restarts. */
  current(): string {
    return formatHlc({ millis: this.millis, counter: this.counter, deviceId: this.deviceId });
  }

  private bumpCounter(): void {
    if (this.counter >= MAX_COUNTER) throw new ClockOverflowError();
    this.counter += 1;
  }
}
