import { plan, summarizeDemand, swapsOf, type PlannerConfig, type PlannerNode, type PlannerState, type RecentEviction } from '../../src/planner';
import type { Policy, Sim, Trigger } from '../engine';

/** The real planner: the simulator builds PlannerState the way the Hub would and applies plan()'s actions. */
export function plannerPolicy(config: PlannerConfig): Policy & { decisions: Map<string, number> } {
  const decisions = new Map<string, number>();
  let swaps: RecentEviction[] = [];
  return {
    name: 'porten planner',
    decisions,
    decide(sim: Sim, trigger: Trigger) {
      // Like the Hub: plan on a cold request, on a state change that may unblock waiters, and on the alarm.
      if (trigger === 'complete' && sim.pending.size === 0) return [];
      swaps = swaps.filter((e) => sim.now - e.at < config.protectMs);
      const result = plan({ ...toState(sim), recentEvictions: swaps }, sim.now, config);
      swaps.push(...swapsOf(result.actions, sim.now));
      for (const d of result.decisions) decisions.set(d.rule, (decisions.get(d.rule) ?? 0) + 1);
      return result.actions.map((a) => ({ type: a.type, node: a.node, model: a.model, cause: a.rule === 'idle_evict' ? ('idle' as const) : ('demand' as const) }));
    },
  };
}

export function toState(sim: Sim): PlannerState {
  const nodes: PlannerNode[] = sim.nodes.map((n) => ({
    id: n.spec.id, online: true, draining: false, budgetMb: n.spec.budgetMb, maxConcurrency: n.spec.maxConcurrency,
    inventory: [...n.disk],
    replicas: [...n.replicas.values()].map((r) => ({
      model: r.model, phase: r.phase, vramMb: r.phase === 'ready' ? r.mb : undefined, loadedAt: r.loadedAt, lastUsedAt: r.lastUsedAt,
      inflight: r.inflight, queued: r.queue.length, saturatedSince: r.saturatedSince,
    })),
  }));
  const models = [...sim.models.values()].map((m) => ({ id: m.id, enabled: true, vramMb: m.vramMb, contextLength: 8192 }));
  const pending = [...sim.pending].map(([model, ws]) => ({ model, since: ws[0].req.at, count: ws.length }));
  return { nodes, models, demand: summarizeDemand(sim.ledger.values(), sim.now), pending };
}
