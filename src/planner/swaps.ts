import type { Action, RecentEviction } from './types';

/**
 * The swaps a plan makes: each demand eviction paired with the load it made room
 * for on the same node. The caller keeps them for protectMs and passes them back
 * as `recentEvictions`, which is what lets the planner refuse a quick swap back.
 */
export function swapsOf(actions: readonly Action[], now: number): RecentEviction[] {
  const out: RecentEviction[] = [];
  for (const load of actions) {
    if (load.type !== 'load' || load.rule !== 'place_after_evict') continue;
    for (const un of actions) {
      if (un.type === 'unload' && un.rule === 'demand_evict' && un.node === load.node) out.push({ node: un.node, model: un.model, by: load.model, at: now });
    }
  }
  return out;
}
