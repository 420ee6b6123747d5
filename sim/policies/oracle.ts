import type { Policy, Sim } from '../engine';
import { lruPolicy } from './lru';

/**
 * Always-on oracle: knows each model's share of the workload in advance and, before the
 * first request, loads the most popular models (best fit, largest share first) until 80%
 * of fleet memory is pinned; pinned models are never unloaded. The remaining 20% serves
 * the other models Ollama-style (LRU, 5 min keep-alive), since they must run somewhere.
 */
export function oraclePolicy(pinShare = 0.8): Policy {
  const pinned = new Set<string>();
  const lru = lruPolicy(300_000, pinned);
  return {
    name: 'always-on oracle (+LRU for the rest)',
    init(sim: Sim) {
      const total = sim.nodes.reduce((a, n) => a + n.spec.budgetMb, 0);
      let pinnedMb = 0;
      const byShare = [...sim.models.values()].sort((a, b) => (sim.workload.popularity.get(b.id) ?? 0) - (sim.workload.popularity.get(a.id) ?? 0));
      for (const m of byShare) {
        if (pinnedMb + m.vramMb > pinShare * total) continue;
        let best: { id: string; left: number } | undefined;
        for (const n of sim.nodes) {
          const left = n.spec.budgetMb - sim.usedMb(n) - m.vramMb;
          if (left >= 0 && (!best || left < best.left)) best = { id: n.spec.id, left };
        }
        if (!best) continue;
        sim.preload(best.id, m.id);
        pinned.add(m.id);
        pinnedMb += m.vramMb;
      }
    },
    decide: (sim, trigger) => lru.decide(sim, trigger),
  };
}
