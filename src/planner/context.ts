import { demandScore } from './demand';
import { footprint } from './footprint';
import { gapCount, survival, type ArrivalHistory, type Survival } from './arrivals';
import type { Action, Decision, PendingDemand, PlannerConfig, PlannerModel, PlannerNode, PlannerReplica, PlannerState, RecentUnload, Rule } from './types';

/**
 * The per-call index `plan` builds once, so each rule is a scan over nodes or replicas
 * rather than nodes × models × replicas. Rules mutate it as they act, so later rules in
 * the same call see the effect of earlier ones (memory freed, replicas added).
 */

export interface NodeSlot {
  node: PlannerNode;
  /** Memory held by live replicas. `stopping` replicas are not counted: see README (a load waits for stops). */
  usedMb: number;
  /** Replicas that hold (or are about to hold) memory: downloading, loading or ready. Copy-on-write. */
  live: PlannerReplica[];
  /** Whether `live` is still the node's own array (not yet copied for a mutation). */
  shared: boolean;
  /** (inflight + queued) / maxConcurrency summed over replicas. */
  load: number;
  /** Bytes still to download, and half the bytes still loading, of its live replicas (serve-time.ts; cleared on change). */
  transfers?: { downloadBytes: number; loadingBytes: number };
}

export interface ModelView {
  model: PlannerModel;
  needMb: number;
  score: number;
  /** Nodes with a live replica of this model. */
  hosts: NodeSlot[];
  /** Its ready replicas on online, undrained nodes (who else serves it, for surplus checks). */
  ready: PlannerReplica[];
}

export interface PlanContext {
  now: number;
  /** `node|victim|newcomer` → when `victim` was displaced by `newcomer` there, within protectMs. */
  swaps: Map<string, number>;
  config: PlannerConfig;
  arrivals: Readonly<Record<string, ArrivalHistory>>;
  /** Survival tables of the models' histories, built on first use in this call. */
  survivals: Map<string, Survival>;
  pending: readonly PendingDemand[];
  /**
   * Speeds for a node not measured yet: the median of the nodes measured (the configured
   * assumption while none is), so a node known to be fast wins over an unknown one and an
   * unknown one over a node known to be slow (it gets measured by that load).
   */
  unmeasured: { downloadBps: number; loadBps: number };
  /** `model` → its most recent unload within the demand window (for the log's reload notes). */
  unloads: Map<string, RecentUnload>;
  /** The price of memory this call, in cold requests per GB·h, and the fleet's share held it comes from (memoryPrice). */
  price: number;
  heldShare: number;
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
    models.set(m.id, { model: m, needMb: 0, score: demandScore(state.demand[m.id]), hosts: [], ready: [] });
  }
  // Largest ready measurement per model: nodes differ slightly, the larger is the safe figure.
  const measured = new Map<string, number>();
  for (const n of state.nodes) {
    for (const r of n.replicas) {
      if (r.phase === 'ready' && r.vramMb !== undefined && r.vramMb > (measured.get(r.model) ?? 0)) measured.set(r.model, r.vramMb);
    }
  }
  for (const v of models.values()) v.needMb = footprint(v.model, config, measured.get(v.model.id)).mb;

  const swaps = new Map<string, number>();
  for (const e of state.recentEvictions ?? []) {
    if (now - e.at < config.protectMs) swaps.set(`${e.node}|${e.model}|${e.by}`, e.at);
  }

  let sorted = true;
  for (let i = 1; i < state.nodes.length; i++) if (state.nodes[i - 1].id > state.nodes[i].id) sorted = false;
  const nodes = sorted ? state.nodes : [...state.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const slots: NodeSlot[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const slot: NodeSlot = { node, usedMb: 0, live: node.replicas, shared: true, load: 0 };
    const conc = Math.max(1, node.maxConcurrency);
    let allLive = true;
    for (const r of node.replicas) {
      if (!holdsMemory(r.phase)) {
        allLive = false;
        continue;
      }
      const view = models.get(r.model);
      slot.usedMb += r.vramMb ?? view?.needMb ?? config.unknownFootprintMb;
      slot.load += (r.inflight + r.queued) / conc;
      view?.hosts.push(slot);
      if (r.phase === 'ready' && node.online && !node.draining) view?.ready.push(r);
    }
    if (!allLive) {
      slot.live = node.replicas.filter((r) => holdsMemory(r.phase));
      slot.shared = false;
    }
    slots[i] = slot;
  }
  const unloads = new Map<string, RecentUnload>();
  for (const u of state.recentUnloads ?? []) {
    if (now - u.at < config.demandWindowMs && (unloads.get(u.model)?.at ?? -1) < u.at) unloads.set(u.model, u);
  }
  const unmeasured = {
    downloadBps: median(state.nodes.map((n) => n.downloadBps)) ?? config.assumedDownloadBps,
    loadBps: median(state.nodes.map((n) => n.loadBps)) ?? config.assumedLoadBps,
  };
  return {
    now,
    ...memoryPrice(slots, config),
    swaps,
    config,
    arrivals: state.arrivals ?? {},
    survivals: new Map(),
    pending: state.pending,
    unmeasured,
    unloads,
    slots,
    models,
    actions: [],
    decisions: [],
  };
}

/**
 * The price of memory for this call, in cold requests per GB·h: `keepValue` once the
 * online fleet holds `contendedShare` of its memory or more, falling with the fourth power
 * of the share held below that (at half the contended share, a sixteenth). Free memory is
 * cheap to keep, contended memory costs what it would buy elsewhere. Taken once per call,
 * from the replicas live when it starts.
 */
export function memoryPrice(slots: readonly NodeSlot[], config: PlannerConfig): { price: number; heldShare: number } {
  let used = 0;
  let budget = 0;
  for (const s of slots) {
    if (!s.node.online) continue;
    used += s.usedMb;
    budget += s.node.budgetMb;
  }
  const heldShare = budget > 0 ? Math.min(1, used / budget) : 1;
  const contended = config.contendedShare > 0 ? Math.min(1, heldShare / config.contendedShare) : 1;
  return { price: config.keepValue * contended ** PRICE_EXPONENT, heldShare };
}

const PRICE_EXPONENT = 4;

/** A model's survival table when its history has enough gaps to be trusted (minHistoryGaps), else undefined. */
export function trustedSurvival(ctx: PlanContext, model: string): Survival | undefined {
  const h = ctx.arrivals[model];
  if (!h || gapCount(h) < ctx.config.minHistoryGaps) return undefined;
  let sv = ctx.survivals.get(model);
  if (!sv) {
    sv = survival(h);
    ctx.survivals.set(model, sv);
  }
  return sv;
}

function median(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Memory a live replica holds: measured, else its model's footprint. */
export function replicaMb(ctx: PlanContext, r: PlannerReplica): number {
  return r.vramMb ?? ctx.models.get(r.model)?.needMb ?? ctx.config.unknownFootprintMb;
}

export function freeMb(slot: NodeSlot): number {
  return slot.node.budgetMb - slot.usedMb;
}

/** Record an action and its decision-log entry together. */
export function act(ctx: PlanContext, type: Action['type'], slot: NodeSlot, model: string, rule: Rule, reason: string): void {
  ctx.actions.push({ type, node: slot.node.id, model, rule, reason });
  ctx.decisions.push({ at: ctx.now, rule, outcome: type, model, node: slot.node.id, reason });
}

function own(slot: NodeSlot): PlannerReplica[] {
  if (slot.shared) {
    slot.live = slot.live.slice();
    slot.shared = false;
  }
  return slot.live;
}

/** Reflect a load issued in this call, so later rules see the memory as taken. */
export function addLive(ctx: PlanContext, slot: NodeSlot, view: ModelView): void {
  own(slot).push({ model: view.model.id, phase: 'loading', loadedAt: ctx.now, lastUsedAt: ctx.now, inflight: 0, queued: 0 });
  slot.usedMb += view.needMb;
  slot.transfers = undefined;
  view.hosts.push(slot);
}

/** Reflect an unload issued in this call: the memory is free for a load that follows it. */
export function removeLive(ctx: PlanContext, slot: NodeSlot, r: PlannerReplica): void {
  const live = own(slot);
  live.splice(live.indexOf(r), 1);
  slot.usedMb -= replicaMb(ctx, r);
  slot.transfers = undefined;
  const view = ctx.models.get(r.model);
  if (view) {
    view.hosts.splice(view.hosts.indexOf(slot), 1);
    const i = view.ready.indexOf(r);
    if (i >= 0) view.ready.splice(i, 1);
  }
}
