/**
 * One token bucket for the whole origin: every connection draws from the same budget, so a
 * 4-segment download is no faster than a single stream and progress stays visible. Rate in
 * megabits per second (1 Mbps = 125 000 bytes/s); 0 or undefined means unthrottled.
 */
export class Throttle {
  private bytesPerMs = 0;
  private next = 0;

  constructor(rateMbps?: number) {
    this.setRate(rateMbps);
  }

  setRate(rateMbps: number | undefined | null): void {
    this.bytesPerMs = rateMbps && rateMbps > 0 ? (rateMbps * 1e6) / 8 / 1000 : 0;
    this.next = 0;
  }

  get limited(): boolean {
    return this.bytesPerMs > 0;
  }

  /** Chunk size that keeps each send to ~20 ms of budget, so shared connections interleave. */
  chunkBytes(max: number): number {
    if (!this.limited) return max;
    return Math.max(1024, Math.min(max, Math.floor(this.bytesPerMs * 20)));
  }

  /** Waits until `bytes` may be sent. */
  async take(bytes: number): Promise<void> {
    if (!this.limited) return;
    const now = performance.now();
    const startAt = Math.max(now, this.next);
    this.next = startAt + bytes / this.bytesPerMs;
    const wait = startAt - now;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
}
