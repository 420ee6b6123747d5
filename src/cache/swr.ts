export interface SwrOptions<V> {
  /** Past this age an entry is refreshed in the background, and still used meanwhile. */
  softMs: number;
  /** Past this age an entry is not used: the caller waits for a fresh one. This is the staleness bound. */
  hardMs: number;
  /** Entries beyond this are dropped, least recently used first. */
  maxEntries: number;
  fetch: (key: string) => Promise<V>;
  /** Keeps a background refresh alive after the response went out (the Worker's `ctx.waitUntil`). */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  at: number;
}

/**
 * A fetch started by another request is trusted for this long. In Workers a
 * promise belongs to the request that created it; if that request is
 * cancelled (its client left) the promise may never settle, so later callers
 * stop waiting for it and fetch themselves.
 */
const SHARED_WAIT_MS = 3000;

/**
 * An isolate-local cache with stale-while-revalidate and one fetch in flight
 * per key: however many requests arrive for an entry that needs refreshing,
 * the Hub is asked once (no stampede), and nobody ever uses a value older than
 * `hardMs`. Values include negative answers (an unknown key, a missing model),
 * which are cached like the rest.
 */
export class SwrCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, { p: Promise<V>; at: number }>();

  constructor(private readonly o: SwrOptions<V>) {}

  async get(key: string, waitUntil: (p: Promise<unknown>) => void): Promise<V> {
    const now = (this.o.now ?? Date.now)();
    const e = this.entries.get(key);
    if (e && now - e.at < this.o.hardMs) {
      if (now - e.at >= this.o.softMs && !this.inflight.has(key)) waitUntil(this.refresh(key).catch(() => undefined));
      return e.value;
    }
    return this.refresh(key);
  }

  /** How old the entry is (ms), or Infinity when there is none. */
  age(key: string): number {
    const e = this.entries.get(key);
    return e ? (this.o.now ?? Date.now)() - e.at : Infinity;
  }

  /** Drops an entry (a NodeLink said the route is stale): the next request fetches it. */
  invalidate(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private refresh(key: string): Promise<V> {
    const started = (this.o.now ?? Date.now)();
    const running = this.inflight.get(key);
    if (running && started - running.at < SHARED_WAIT_MS) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), SHARED_WAIT_MS - (started - running.at))));
      return Promise.race([running.p, giveUp]).then((v) => {
        if (timer !== undefined) clearTimeout(timer);
        if (v !== 'late') return v as V;
        if (this.inflight.get(key) === running) this.inflight.delete(key);
        return this.refresh(key);
      });
    }
    const p = this.o
      .fetch(key)
      .then((value) => {
        // Stamped with when the fetch began: the value is at least that old.
        this.entries.delete(key);
        this.entries.set(key, { value, at: started });
        if (this.entries.size > this.o.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
        return value;
      })
      .finally(() => {
        if (this.inflight.get(key)?.p === p) this.inflight.delete(key);
      });
    this.inflight.set(key, { p, at: started });
    return p;
  }
}
