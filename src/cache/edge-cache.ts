import type { Env } from '../env';
import type { KeyInfo } from '../hub/key-info';
import type { RouteView } from '../hub/route-view';
import { hubStub } from '../link/stubs';
import { KeyCache } from './keys';
import { SwrCache } from './swr';

/** Default bound on how stale a cached route or key may be: a change at the Hub takes effect everywhere within it. */
export const DEFAULT_CACHE_MAX_AGE_MS = 3000;
/** A node that failed a dispatch is skipped by this isolate for this long (the Hub also hears of it). */
const SUSPECT_MS = 10_000;

export interface EdgeCache {
  maxAgeMs: number;
  keys: KeyCache;
  routes: SwrCache<RouteView>;
  /** Nodes this isolate saw fail, until when. */
  suspects: Map<string, number>;
  /** Requests this isolate sent per node since that model's route was fetched, so a burst spreads before the next refresh. */
  sent: Map<string, number>;
}

let cache: EdgeCache | null = null;

/**
 * The Worker's isolate-wide caches (one set per isolate, shared by its
 * requests): routes per model and managed keys, refreshed from the Hub in the
 * background past a third of their age bound and never used past it
 * (`PORTEN_CACHE_MAX_AGE_S`, default 3 s).
 */
export function edgeCache(env: Env): EdgeCache {
  if (cache) return cache;
  const s = Number(env.PORTEN_CACHE_MAX_AGE_S);
  const maxAgeMs = env.PORTEN_CACHE_MAX_AGE_S && Number.isFinite(s) && s >= 0.1 && s <= 60 ? s * 1000 : DEFAULT_CACHE_MAX_AGE_MS;
  const sent = new Map<string, number>();
  cache = {
    maxAgeMs,
    keys: new KeyCache({
      maxAgeMs,
      // RPC typing flattens tuples; the value is the KeyInfo the Hub built.
      fetchInfo: async (hash) => (await hubStub(env).keyInfo(hash)) as KeyInfo,
      fetchFilter: () => hubStub(env).keyFilter(),
    }),
    routes: new SwrCache<RouteView>({
      softMs: maxAgeMs / 3,
      hardMs: maxAgeMs,
      maxEntries: 10_000,
      fetch: async (model) => {
        const view = await hubStub(env).route(model);
        // Fresh loads from the Hub replace this isolate's own guesses for the model's nodes.
        for (const r of view.replicas) sent.delete(`${r.node}|${model}`);
        return view;
      },
    }),
    suspects: new Map(),
    sent,
  };
  return cache;
}

export function markSuspect(c: EdgeCache, node: string, now: number): void {
  c.suspects.set(node, now + SUSPECT_MS);
}

export function isSuspect(c: EdgeCache, node: string, now: number): boolean {
  const until = c.suspects.get(node);
  if (until === undefined) return false;
  if (until > now) return true;
  c.suspects.delete(node);
  return false;
}

/** Test hook: forget everything (each vitest-pool-workers test file shares one isolate). */
export function resetEdgeCache(): void {
  cache = null;
}
