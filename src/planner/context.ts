import { demandScore } from './demand';
import { footprint } from './footprint';
import type { Action, Decision, PlannerConfig, PlannerModel, PlannerNode, PlannerReplica, PlannerState, Rule } from './types';

/**
 * The per-call index `plan` builds once, so each rule is a scan over nodes or replicas
 * rather than nodes × models × replicas. Rules mutate it as they act, so later rules in
 * the same call see the effect of earlier ones (memory freed, replicas added).
 */

/** A replica that holds (or is about to hold) memory: downloading, loading or ready. */
export interface LiveReplica {
  replica: PlannerReplica;
  slot: NodeSlot;
  mb: number;
}

export interface NodeSlot {
  node: PlannerNode;
  /** Memory held by live replicas. `stopping` replicas are not counted: see README (a load waits for stops). */
  usedMb: number;
  live: LiveReplica[];
  /** (inflight + queued) / maxConcurrency summed over replicas. */
  load: number;
}

export interface ModelView {
  model: PlannerModel;
  needMb: number;
  score: number;
  live: LiveReplica[];
}

export interface PlanContext {
  now: number;
  config: PlannerConfig;
  /** Sorted by node id. */
  slots: NodeSlot[];
  models: Map<string, ModelView>;
  actions: Action[];
  decisions: Decision[];
}

export function holdsMemory(phase: PlannerReplica['phase']): boolean {
  return phase === 'downloading' || phase === 'loading' || phase === 'ready';
}

export function buildContext(state: PlannerState, now: number, config: PlannerConfig): PlanContext {
  const models = new Map<string, ModelView>();
  for (const m of state.models) {
    models.set(m.id, { model: m, needMb: 0, score: demandScore(state.demand[m.id]), live: [] });
  }
  // Largest ready measurement per model: nodes differ slightly, the larger is the safe figure.
  const measured = new Map<string, number>();
  for (const n of state.nodes) {
    for (const r of n.replicas) {
      if (r.phase === 'ready' && r.vramMb !== undefined && r.vramMb > (measured.get(r.model) ?? 0)) measured.set(r.model, r.vramMb);
    }
  }
  for (const v of models.values()) v.needMb = footprint(v.model, config, measured.get(v.model.id)).mb;

  let sorted = true;
  for (let i = 1; i < state.nodes.length; i++) if (state.nodes[i - 1].id > state.nodes[i].id) sorted = false;
  const nodes = sorted ? state.nodes : [...state.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const slots: NodeSlot[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const slot: NodeSlot = { node, usedMb: 0, live: [], load: 0 };
    const conc = Math.max(1, node.maxConcurrency);
    for (const r of node.replicas) {
      if (!holdsMemory(r.phase)) continue;
      const view = models.get(r.model);
      const mb = r.vramMb ?? view?.needMb ?? config.unknownFootprintMb;
      const live: LiveReplica = { replica: r, slot, mb };
      slot.live.push(live);
      slot.usedMb += mb;
      slot.load += (r.inflight + r.queued) / conc;
      view?.live.push(live);
    }
    slots[i] = slot;
  }
  return { now, config, slots, models, actions: [], decisions: [] };
}

export function freeMb(slot: NodeSlot): number {
  return slot.node.budgetMb - slot.usedMb;
}

/** Record an action and its decision-log entry together. */
export function act(ctx: PlanContext, type: Action['type'], slot: NodeSlot, model: string, rule: Rule, reason: string): void {
  ctx.actions.push({ type, node: slot.node.id, model, rule, reason });
  ctx.decisions.push({ at: ctx.now, rule, outcome: type, model, node: slot.node.id, reason });
}

/** Reflect a load issued in this call, so later rules see the memory as taken. */
export function addLive(ctx: PlanContext, slot: NodeSlot, view: ModelView): void {
  const replica: PlannerReplica = { model: view.model.id, phase: 'loading', loadedAt: ctx.now, lastUsedAt: ctx.now, inflight: 0, queued: 0 };
  const live: LiveReplica = { replica, slot, mb: view.needMb };
  slot.live.push(live);
  slot.usedMb += live.mb;
  view.live.push(live);
}

/** Reflect an unload issued in this call: the memory is free for a load that follows it. */
export function removeLive(ctx: PlanContext, live: LiveReplica): void {
  const slot = live.slot;
  slot.live.splice(slot.live.indexOf(live), 1);
  slot.usedMb -= live.mb;
  const view = ctx.models.get(live.replica.model);
  if (view) view.live.splice(view.live.indexOf(live), 1);
}
