import type { ModelRow, NodeRow, ReplicaRow } from './store';

export type Placement = { ok: true; nodeId: string } | { ok: false; reason: 'no_nodes' | 'budget' | 'engine' };

/**
 * Picks the node that should load `model`: online, runs the model's engine,
 * and has free budget for its footprint. Prefers a node that already holds
 * the weights on disk, then the most free memory, then the lowest id, so the
 * choice is deterministic.
 */
export function placeModel(model: ModelRow, nodes: NodeRow[], replicas: ReplicaRow[], models: Map<string, ModelRow>): Placement {
  const online = nodes.filter((n) => n.online);
  if (online.length === 0) return { ok: false, reason: 'no_nodes' };
  const capable = online.filter((n) => n.engines.includes(model.engine));
  if (capable.length === 0) return { ok: false, reason: 'engine' };
  const scored = capable
    .map((n) => {
      const used = replicas
        .filter((r) => r.node_id === n.id)
        .reduce((sum, r) => sum + (r.vram_mb ?? models.get(r.model_id)?.vram_mb ?? 0), 0);
      return { node: n, free: n.vram_budget_mb - used, onDisk: n.inventory.some((i) => i.model === model.id) };
    })
    .filter((s) => s.free >= model.vram_mb)
    .sort((a, b) => Number(b.onDisk) - Number(a.onDisk) || b.free - a.free || a.node.id.localeCompare(b.node.id));
  return scored[0] ? { ok: true, nodeId: scored[0].node.id } : { ok: false, reason: 'budget' };
}
