/**
 * In-memory request counters of the Hub. They only matter while requests are
 * in flight, and in-flight requests keep the Durable Object awake, so losing
 * them on eviction loses nothing.
 */
export class LiveCounters {
  readonly inflight = new Map<string, number>();
  readonly saturatedSince = new Map<string, number>();

  begin(key: string, capacity: number, now: number): void {
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
    this.markSaturation(key, capacity, now);
  }

  end(key: string, capacity: number, now: number): void {
    const n = (this.inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.inflight.delete(key);
    else this.inflight.set(key, n);
    this.markSaturation(key, capacity, now);
  }

  load(key: string): number {
    return this.inflight.get(key) ?? 0;
  }

  private markSaturation(key: string, capacity: number, now: number): void {
    if (this.load(key) > capacity) {
      if (!this.saturatedSince.has(key)) this.saturatedSince.set(key, now);
    } else {
      this.saturatedSince.delete(key);
    }
  }
}
