import type { ArrivalHistory } from '../planner/arrivals';
import type { PendingDemand, PlannerState } from '../planner/types';
import type { NodeSpeed } from './node-speeds';
import type { DemandRow } from '../planner/demand';
import { summarizeDemand } from '../planner/demand';
import type { LoadFailure, ModelRow, NodeRow, ReplicaRow } from './store';

export interface LiveStats {
  /** In-flight requests per `node|model`. */
  inflight: ReadonlyMap<string, number>;
  /** Waiting requests per model. */
  queued: ReadonlyMap<string, number>;
  /** Since when a replica (`node|model`) has had more work than its node's concurrency. */
  saturatedSince: ReadonlyMap<string, number>;
}

/**
 * The planner's view of the fleet, built from the Hub's rows and in-memory
 * counters. Pure: the Hub passes everything in.
 */
export function plannerState(input: {
  models: ModelRow[];
  nodes: NodeRow[];
  replicas: ReplicaRow[];
  failures: LoadFailure[];
  demand: DemandRow[];
  pending: PendingDemand[];
  live: LiveStats;
  now: number;
  speeds?: ReadonlyMap<string, NodeSpeed>;
  arrivals?: Record<string, ArrivalHistory>;
}): PlannerState {
  const byNode = new Map<string, ReplicaRow[]>();
  for (const r of input.replicas) {
    const list = byNode.get(r.node_id) ?? [];
    list.push(r);
    byNode.set(r.node_id, list);
  }
  return {
    nodes: input.nodes.map((n) => ({
      id: n.id,
      online: n.online,
      draining: false,
      budgetMb: n.vram_budget_mb,
      maxConcurrency: n.max_concurrency,
      inventory: n.inventory.map((i) => i.model),
      downloadBps: input.speeds?.get(n.id)?.download?.bps,
      loadBps: input.speeds?.get(n.id)?.load?.bps,
      recentFailures: Object.fromEntries(input.failures.filter((f) => f.node_id === n.id).map((f) => [f.model_id, f.at])),
      replicas: (byNode.get(n.id) ?? []).map((r) => {
        const key = `${n.id}|${r.model_id}`;
        return {
          model: r.model_id,
          phase: r.phase,
          vramMb: r.vram_mb ?? undefined,
          loadedAt: r.started_at,
          lastUsedAt: r.last_used_at ?? r.started_at,
          inflight: input.live.inflight.get(key) ?? 0,
          queued: r.phase === 'ready' ? 0 : (input.live.queued.get(r.model_id) ?? 0),
          saturatedSince: input.live.saturatedSince.get(key),
          pendingBytes: r.phase === 'downloading' && r.total_bytes > 0 ? Math.max(0, r.total_bytes - r.done_bytes) : undefined,
        };
      }),
    })),
    // measuredMb: the last footprint a node measured, kept after unload; it wins over the catalog's figure.
    models: input.models.map((m) => ({
      id: m.id,
      enabled: m.enabled,
      vramMb: m.vram_mb,
      contextLength: m.context_length,
      measuredMb: m.measured_mb ?? undefined,
      weightsBytes: m.bytes ?? undefined,
    })),
    demand: summarizeDemand(input.demand, input.now),
    pending: input.pending,
    arrivals: input.arrivals,
  };
}
