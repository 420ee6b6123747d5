import type { Policy, Sim, SimAction, SimNode, Trigger } from '../engine';

/**
 * Ollama-style baseline: each node keeps a model for `keepAliveMs` after its last use
 * (5 min by default), and when a new model needs room it unloads that node's least
 * recently used idle models. A cold model goes to a node with its weights on disk, else
 * the one with most free memory; if none fits, to the node whose LRU victims are oldest.
 * Requests for a model already starting join it; if nothing can be freed they wait.
 * `pinned` models (used by the oracle) are never unloaded.
 */
export function lruPolicy(keepAliveMs = 300_000, pinned: Set<string> = new Set(), name = 'ollama LRU, 5 min keep-alive'): Policy {
  return {
    name,
    repeat: true,
    decide(sim: Sim, trigger: Trigger) {
      const actions: SimAction[] = [];
      if (trigger === 'tick') {
        for (const n of sim.nodes) {
          for (const r of n.replicas.values()) {
            if (r.phase === 'ready' && r.inflight === 0 && r.queue.length === 0 && !pinned.has(r.model) && sim.now - r.lastUsedAt >= keepAliveMs) {
              actions.push({ type: 'unload', node: n.spec.id, model: r.model, cause: 'idle' });
            }
          }
        }
      }
      if (actions.length > 0) return actions; // keep-alive unloads first; the next call places with their memory free
      for (const model of sim.pending.keys()) {
        if (sim.hasLive(model)) continue;
        const a = placeLru(sim, model, pinned);
        if (a) return actions.concat(a); // one at a time: the next call sees this one's memory
      }
      return actions;
    },
  };
}

function placeLru(sim: Sim, model: string, pinned: Set<string>): SimAction[] | undefined {
  const need = sim.models.get(model)!.vramMb;
  let best: SimNode | undefined;
  let bestKey: [number, number] | undefined;
  for (const n of sim.nodes) {
    if (n.replicas.has(model)) continue; // still stopping there
    const free = n.spec.budgetMb - sim.usedMb(n);
    if (free < need) continue;
    const key: [number, number] = [n.disk.has(model) ? 0 : 1, -free];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) [best, bestKey] = [n, key];
  }
  if (best) return [{ type: 'load', node: best.spec.id, model }];
  let victimsBest: { node: SimNode; victims: string[]; oldest: number } | undefined;
  for (const n of sim.nodes) {
    if (n.spec.budgetMb < need || n.replicas.has(model)) continue;
    const idle = [...n.replicas.values()]
      .filter((r) => r.phase === 'ready' && r.inflight === 0 && r.queue.length === 0 && !pinned.has(r.model))
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    let free = n.spec.budgetMb - sim.usedMb(n);
    const victims: string[] = [];
    for (const r of idle) {
      if (free >= need) break;
      victims.push(r.model);
      free += r.mb;
    }
    if (free < need || idle.length === 0) continue;
    const oldest = n.replicas.get(victims[0])!.lastUsedAt;
    if (!victimsBest || oldest < victimsBest.oldest) victimsBest = { node: n, victims, oldest };
  }
  if (!victimsBest) return undefined;
  const id = victimsBest.node.spec.id;
  return [...victimsBest.victims.map((v) => ({ type: 'unload' as const, node: id, model: v })), { type: 'load', node: id, model }];
}
