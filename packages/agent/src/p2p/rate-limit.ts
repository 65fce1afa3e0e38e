/**
 * Token bucket per peer stream. Honest peers coalesce what they send (see session.ts), so a sustained
 * frame rate far above the bound means a broken or hostile peer.
 */
export class FrameRateLimit {
  private readonly perSecond: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(perSecond: number, burstSeconds = 10, now = Date.now()) {
    this.perSecond = perSecond;
    this.burst = perSecond * burstSeconds;
    this.tokens = this.burst;
    this.last = now;
  }

  /** Takes one token; false when the peer is over its bound. */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
