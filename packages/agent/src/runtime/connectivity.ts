/**
 * Watches the central server. Health probes run every `intervalMs`; a failed probe is re-checked at
 * once, and `failureThreshold` consecutive failures (probes or real API calls, which count as evidence
 * too) mean offline. While offline, probes back off exponentially with jitter up to `maxBackoffMs`,
 * so a dead server is not hammered by every PC at the same moment. One good answer means online.
 */
import { EventEmitter } from "node:events";

export type Reachability = "unknown" | "online" | "offline";

export interface ConnectivityOptions {
  /** Resolves when the server is healthy, rejects otherwise. */
  probe: (timeoutMs: number) => Promise<void>;
  intervalMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
  /** Consecutive failures that mean offline (default 2; the second check follows the first at once). */
  failureThreshold?: number;
  /** Delay before re-checking a first failure (default min(1 s, interval)). */
  confirmDelayMs?: number;
  random?: () => number;
}

export interface Transition {
  state: Reachability;
  at: number;
  detail: string | null;
}

export class ConnectivityMonitor extends EventEmitter<{ change: [Transition] }> {
  private readonly opts: Required<Omit<ConnectivityOptions, "random">> & { random: () => number };
  private current: Reachability = "unknown";
  private failures = 0;
  private offlineProbes = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private running = false;
  lastError: string | null = null;
  readonly history: Transition[] = [];

  constructor(opts: ConnectivityOptions) {
    super();
    this.opts = {
      failureThreshold: 2,
      confirmDelayMs: Math.min(1000, opts.intervalMs),
      random: Math.random,
      ...opts,
    };
  }

  get state(): Reachability {
    return this.current;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Probe now (e.g. "sync now" or a network change), whatever the schedule says. */
  checkNow(): void {
    if (this.running) this.schedule(0);
  }

  /** A real API call succeeded: as good as a health probe. */
  reportSuccess(): void {
    this.failures = 0;
    this.offlineProbes = 0;
    this.lastError = null;
    this.set("online", null);
  }

  /** A real API call could not reach the server. */
  reportFailure(error: Error): void {
    this.failures++;
    this.lastError = error.message;
    if (this.failures >= this.opts.failureThreshold) this.set("offline", error.message);
    else if (this.running && this.current !== "offline") this.schedule(this.opts.confirmDelayMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runProbe(), delayMs);
    this.timer.unref();
  }

  private async runProbe(): Promise<void> {
    this.timer = null;
    if (!this.running || this.probing) return;
    this.probing = true;
    try {
      await this.opts.probe(this.opts.timeoutMs);
      this.reportSuccess();
    } catch (error) {
      if (this.current === "offline") this.offlineProbes++;
      this.reportFailure(error as Error);
    } finally {
      this.probing = false;
    }
    if (this.running && this.timer === null) this.schedule(this.nextDelay());
  }

  private nextDelay(): number {
    const { intervalMs, maxBackoffMs, confirmDelayMs, random } = this.opts;
    if (this.current !== "offline") return this.failures > 0 ? confirmDelayMs : intervalMs;
    // Full interval growth with jitter in [50 %, 100 %] so that PCs spread out their retries.
    const base = Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(this.offlineProbes, 20));
    return Math.max(100, Math.round(base * (0.5 + random() / 2)));
  }

  private set(state: Reachability, detail: string | null): void {
    if (state === this.current) return;
    this.current = state;
    if (state === "offline") this.offlineProbes = 0;
    const t: Transition = { state, at: Date.now(), detail };
    this.history.push(t);
    if (this.history.length > 100) this.history.shift();
    this.emit("change", t);
  }
}
