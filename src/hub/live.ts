/**
 * In-memory request counters of the Hub. They only matter while requests are
 * in flight, and in-flight requests keep the Durable Object awake, so losing
 * them on eviction loses nothing.
 */
export class LiveCounters {
  readonly inflight = new Map<string, number>();
  /** Since when requests have queued behind a full replica (`node|model`), for the planner's scale-out rule. */
  readonly saturatedSince = new Map<string, number>();

  begin(key: string): void {
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
  }

  end(key: string): void {
    const n = (this.inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.inflight.delete(key);
    else this.inflight.set(key, n);
  }

  load(key: string): number {
    return this.inflight.get(key) ?? 0;
  }

  saturated(key: string, now: number): void {
    if (!this.saturatedSince.has(key)) this.saturatedSince.set(key, now);
  }

  relieved(key: string): void {
    this.saturatedSince.delete(key);
  }
}
