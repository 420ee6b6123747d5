/**
 * A token bucket for a node's frames: `ratePerS` sustained, `burst` at once.
 * The agent batches stream data (one frame per few ms per stream), so an
 * honest node at full concurrency stays far below the default; a node that
 * floods frames drains the bucket and has its socket closed, without costing
 * other nodes anything (each NodeLink counts only its own socket). Pure: the
 * caller passes the time.
 */
export class FrameRate {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token; false when the bucket is empty (the frame is over the limit). */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerS) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * The default: 20,000 frames/s sustained (≈ 256 streams each flushing every 4 ms, five times over), 40,000 at once.
 * `PORTEN_NODE_FRAME_RATE` sets the sustained rate; the burst is always twice it.
 */
export const NODE_FRAME_RATE = { ratePerS: 20_000, burst: 40_000 } as const;
