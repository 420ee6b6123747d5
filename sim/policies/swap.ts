import type { Policy, Sim, SimAction, SimNode, Trigger } from '../engine';

/**
 * llama-swap default: one model per node, no TTL. A cold model goes to an empty node
 * that fits (weights on disk first), else replaces the least recently used idle model
 * on a node big enough. Requests for a model already starting join it; else they wait.
 */
export function swapPolicy(): Policy {
  return {
    name: 'single-model swap (llama-swap)',
    repeat: true,
    decide(sim: Sim, _trigger: Trigger) {
      const actions: SimAction[] = [];
      const taken = new Set<string>();
      for (const model of sim.pending.keys()) {
        if (sim.hasLive(model)) continue;
        const need = sim.models.get(model)!.vramMb;
        let best: SimNode | undefined;
        let bestKey = Infinity;
        for (const n of sim.nodes) {
          if (n.spec.budgetMb < need || taken.has(n.spec.id)) continue;
          const rs = [...n.replicas.values()];
          if (rs.some((r) => r.phase === 'stopping')) continue;
          let key: number;
          if (rs.length === 0) key = n.disk.has(model) ? -2e15 : -1e15;
          else if (rs.length === 1 && rs[0].phase === 'ready' && rs[0].inflight === 0 && rs[0].queue.length === 0) key = rs[0].lastUsedAt;
          else continue;
          if (key < bestKey) [best, bestKey] = [n, key];
        }
        if (!best) continue;
        taken.add(best.spec.id);
        for (const r of best.replicas.values()) actions.push({ type: 'unload', node: best.spec.id, model: r.model });
        actions.push({ type: 'load', node: best.spec.id, model });
        return actions; // one at a time: the next call sees this swap
      }
      return actions;
    },
  };
}
