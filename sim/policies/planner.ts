import {
  foldArrivals,
  observeSpeed,
  plan,
  provisionalSpeed,
  summarizeDemand,
  swapsOf,
  type ArrivalHistory,
  type Decision,
  type PlannerConfig,
  type PlannerNode,
  type PlannerState,
  type RecentEviction,
  type RecentUnload,
  type SpeedEstimate,
} from '../../src/planner';
import type { Policy, Sim, Trigger } from '../engine';

const MB = 1024 * 1024;

/**
 * The real planner, fed what the Hub would know: the fleet, the demand ledger's minutes
 * folded into per-model arrival histories, node speeds learned from finished transfers
 * (never the simulator's nominal figures), recent swaps and unloads. Applies plan()'s actions.
 */
export function plannerPolicy(config: PlannerConfig, onDecision?: (d: Decision) => void): Policy & { decisions: Map<string, number> } {
  const decisions = new Map<string, number>();
  let swaps: RecentEviction[] = [];
  let unloads: RecentUnload[] = [];
  let arrivals: Record<string, ArrivalHistory> = {};
  const speeds = new Map<string, { download?: SpeedEstimate; load?: SpeedEstimate }>();
  return {
    name: 'porten planner',
    decisions,
    observe(node, kind, mb, ms) {
      const s = speeds.get(node) ?? {};
      s[kind] = observeSpeed(s[kind], kind, mb * MB, ms);
      speeds.set(node, s);
    },
    decide(sim: Sim, trigger: Trigger) {
      // Like the Hub: plan on a cold request, on a state change that may unblock waiters, and on the alarm.
      if (trigger === 'complete' && sim.pending.size === 0) return [];
      swaps = swaps.filter((e) => sim.now - e.at < config.protectMs);
      unloads = unloads.filter((u) => sim.now - u.at < config.demandWindowMs);
      arrivals = foldArrivals(arrivals, [...sim.ledger.values()], sim.now, config.historyHalfLifeMs);
      // Progress reports of a node's first download already say how fast its link is.
      for (const n of sim.nodes) {
        const s = speeds.get(n.spec.id) ?? {};
        if (s.download) continue;
        for (const r of n.replicas.values()) {
          const p = sim.progressOf(r);
          if (p) s.download = provisionalSpeed(s.download, p.mb * MB, p.ms);
        }
        speeds.set(n.spec.id, s);
      }
      const result = plan({ ...toState(sim, speeds), recentEvictions: swaps, recentUnloads: unloads, arrivals }, sim.now, config);
      swaps.push(...swapsOf(result.actions, sim.now));
      for (const a of result.actions) if (a.type === 'unload') unloads.push({ node: a.node, model: a.model, rule: a.rule, at: sim.now });
      for (const d of result.decisions) decisions.set(d.rule, (decisions.get(d.rule) ?? 0) + 1);
      if (onDecision) for (const d of result.decisions) onDecision(d);
      return result.actions.map((a) => ({
        type: a.type,
        node: a.node,
        model: a.model,
        cause: a.rule === 'idle_evict' || a.rule === 'scale_in' ? ('idle' as const) : ('demand' as const),
      }));
    },
  };
}

export function toState(sim: Sim, speeds: ReadonlyMap<string, { download?: SpeedEstimate; load?: SpeedEstimate }> = new Map()): PlannerState {
  const nodes: PlannerNode[] = sim.nodes.map((n) => ({
    id: n.spec.id,
    online: true,
    draining: false,
    budgetMb: n.spec.budgetMb,
    maxConcurrency: n.spec.maxConcurrency,
    inventory: [...n.disk],
    downloadBps: speeds.get(n.spec.id)?.download?.bps,
    loadBps: speeds.get(n.spec.id)?.load?.bps,
    replicas: [...n.replicas.values()].map((r) => ({
      model: r.model,
      phase: r.phase,
      vramMb: r.phase === 'ready' ? r.mb : undefined,
      loadedAt: r.loadedAt,
      lastUsedAt: r.lastUsedAt,
      inflight: r.inflight,
      queued: r.queue.length,
      saturatedSince: r.saturatedSince,
      pendingBytes: r.phase === 'downloading' ? sim.remainingMb(r) * MB : undefined,
    })),
  }));
  const models = [...sim.models.values()].map((m) => ({ id: m.id, enabled: true, vramMb: m.vramMb, contextLength: 8192, weightsBytes: m.weightsMb * MB }));
  const pending = [...sim.pending].map(([model, ws]) => ({ model, since: ws[0].req.at, count: ws.length }));
  return { nodes, models, demand: summarizeDemand(sim.ledger.values(), sim.now), pending };
}
