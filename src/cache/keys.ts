import { KEY_FILTER_CHARS, type KeyInfo } from '../hub/key-info';
import type { LocalUsage } from './limits';
import { SwrCache } from './swr';

export interface KeyCacheOptions {
  maxAgeMs: number;
  fetchInfo: (keyHash: string) => Promise<KeyInfo>;
  fetchFilter: () => Promise<{ prefixes: string[]; at: number }>;
}

/** A key the filter does not know may make the filter refresh at most this often (a key created a moment ago). */
const FILTER_MISS_REFRESH_MS = 250;
/** …and past that, at most this many direct look-ups per second (a key created after the last refresh). */
const MISS_LOOKUPS_PER_S = 5;
/** Unused keys' local counters are dropped past this many. */
const MAX_LOCAL_KEYS = 10_000;

/**
 * What managed keys may do, per isolate: the Hub's answer for each key (live
 * or revoked, allow-list, restrictions, limits, recent usage), cached with a
 * staleness bound of `maxAgeMs` — a revoked or changed key takes effect within
 * that — and a filter of the live keys' hash prefixes, so a made-up
 * `sk-porten-…` key is refused without a Hub call: only a filter refresh (at
 * most every 250 ms) and a handful of direct look-ups per second are spent on
 * keys the filter does not know, however many arrive.
 */
export class KeyCache {
  private readonly info: SwrCache<KeyInfo>;
  private readonly filter: SwrCache<Set<string>>;
  private lookups = { second: 0, used: 0 };
  private readonly local = new Map<string, LocalUsage>();

  constructor(o: KeyCacheOptions) {
    this.info = new SwrCache<KeyInfo>({ softMs: o.maxAgeMs / 3, hardMs: o.maxAgeMs, maxEntries: 20_000, fetch: o.fetchInfo });
    this.filter = new SwrCache<Set<string>>({
      softMs: o.maxAgeMs / 3,
      hardMs: o.maxAgeMs,
      maxEntries: 1,
      fetch: async () => new Set((await o.fetchFilter()).prefixes),
    });
  }

  /** The key's standing; a failure (unknown, revoked) is cached like an answer. */
  async resolve(keyHash: string, waitUntil: (p: Promise<unknown>) => void): Promise<KeyInfo | null> {
    const known = await this.mayExist(keyHash, waitUntil);
    if (known === 'absent') return null;
    // A filter fetched after (or with) this key's answer no longer lists it (revoked since): that answer is stale, so the
    // look-up asks the Hub instead of admitting the key on it until it ages out — and then refusing it from then on.
    if (known === 'unlisted' && this.info.age(keyHash) >= this.filter.age(FILTER)) this.info.invalidate(keyHash);
    return this.info.get(keyHash, waitUntil);
  }

  /** Keys were created or revoked through this isolate: its filter is refetched on the next look-up. */
  forgetFilter(): void {
    this.filter.invalidate(FILTER);
  }

  /** This isolate's own count for a key (requests it admitted). */
  usage(keyId: string, now: number): LocalUsage {
    let u = this.local.get(keyId);
    if (!u) {
      if (this.local.size >= MAX_LOCAL_KEYS) this.local.delete(this.local.keys().next().value as string);
      u = { starts: [], inflight: 0 };
      this.local.set(keyId, u);
    }
    const cut = now - 60_000;
    if (u.starts.length && u.starts[0] <= cut) u.starts = u.starts.filter((t) => t > cut);
    return u;
  }

  started(keyId: string, now: number): void {
    const u = this.usage(keyId, now);
    u.starts.push(now);
    u.inflight++;
  }

  ended(keyId: string): void {
    const u = this.local.get(keyId);
    if (u && u.inflight > 0) u.inflight--;
  }

  /**
   * `listed`: the filter has the key's prefix; `unlisted`: a filter younger than 250 ms has not, but this
   * second's few direct look-ups are not spent (a key created just now); `absent`: refuse without asking.
   */
  private async mayExist(keyHash: string, waitUntil: (p: Promise<unknown>) => void): Promise<'listed' | 'unlisted' | 'absent'> {
    const prefix = keyHash.slice(0, KEY_FILTER_CHARS);
    if ((await this.filter.get(FILTER, waitUntil)).has(prefix)) return 'listed';
    if (this.filter.age(FILTER) >= FILTER_MISS_REFRESH_MS) {
      this.filter.invalidate(FILTER);
      if ((await this.filter.get(FILTER, waitUntil)).has(prefix)) return 'listed';
    }
    // Not in a filter younger than 250 ms: most likely made up. A few per second still ask, for a key created just now.
    const s = Math.floor(Date.now() / 1000);
    if (this.lookups.second !== s) this.lookups = { second: s, used: 0 };
    return this.lookups.used++ < MISS_LOOKUPS_PER_S ? 'unlisted' : 'absent';
  }
}

const FILTER = 'filter';
