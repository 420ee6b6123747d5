import { act, freeMb, removeLive, replicaMb, type NodeSlot, type PlanContext } from './context';
import type { PlannerReplica } from './types';
import { ineligible, type PlaceNeed, type PlaceReason } from './placement';

/**
 * Idle eviction: a ready replica with nothing in flight or queued and no request for a
 * full demand window (now − lastUsedAt ≥ demandWindowMs) is unloaded. Its weights stay
 * on disk, so a later request reloads it without a download. Offline nodes get no frames.
 */
export function idleEvictions(ctx: PlanContext): void {
  const window = ctx.config.demandWindowMs;
  for (const slot of ctx.slots) {
    if (!slot.node.online) continue;
    for (const r of slot.live.slice()) {
      if (r.phase !== 'ready' || r.inflight > 0 || r.queued > 0) continue;
      const idle = ctx.now - r.lastUsedAt;
      if (idle < window) continue;
      act(ctx, 'unload', slot, r.model, 'idle_evict', `no request for ${secs(idle)} (window ${secs(window)})`);
      removeLive(ctx, slot, r);
    }
  }
}

/** Why a replica may not be evicted for a newcomer. */
export type EvictBlock =
  | 'busy' // in-flight or queued requests: never evicted
  | 'not_ready' // downloading or loading: evicting would waste the work in progress
  | 'hotter' // its demand is above the newcomer's
  | 'protected'; // it displaced the newcomer < protectMs ago, and the newcomer is not hysteresisFactor× hotter

/** A replica's share of its model's demand: a surplus replica of a hot model is cheap to lose. */
export function victimScore(ctx: PlanContext, r: PlannerReplica): number {
  const view = ctx.models.get(r.model);
  return view ? view.score / Math.max(1, view.hosts.length) : 0;
}

/**
 * Whether resident `r` on `node` may make room for a waiting newcomer. A waiting
 * request beats an idle model of equal or lower demand at once (a failed request costs
 * more than a reload). Hysteresis: without it, two hot models sharing a node that fits
 * one would evict each other on every request. So a swap back (the newcomer was
 * displaced by `r` on this node less than protectMs ago) needs a newcomer at least
 * hysteresisFactor times as hot; the starvation guard's aging lets it win eventually.
 */
export function evictBlock(ctx: PlanContext, node: string, r: PlannerReplica, newcomer: string, newcomerScore: number): EvictBlock | null {
  if (r.inflight > 0 || r.queued > 0) return 'busy';
  if (r.phase !== 'ready') return 'not_ready';
  const vs = victimScore(ctx, r);
  if (vs > newcomerScore) return 'hotter';
  if (ctx.swaps.has(`${node}|${newcomer}|${r.model}`) && newcomerScore < ctx.config.hysteresisFactor * vs) return 'protected';
  return null;
}

export interface EvictionPlan {
  slot: NodeSlot;
  victims: PlannerReplica[];
  /** Sum of the victims' scores: the demand this eviction displaces. */
  cost: number;
}

export type EvictionBlocks = Partial<Record<EvictBlock | PlaceReason, number>>;

/**
 * For a model that fits nowhere: on each eligible node, evict the coldest evictable
 * replicas (lowest score, then least recently used, then model id) until it fits. A node
 * qualifies only if the victims' total score does not exceed the newcomer's. Best node:
 * least displaced demand, then weights on disk, then fewest victims, then lowest id.
 */
export function findEviction(ctx: PlanContext, need: PlaceNeed, newcomerScore: number): { plan?: EvictionPlan; blocks: EvictionBlocks } {
  const blocks: EvictionBlocks = {};
  const count = (k: EvictBlock | PlaceReason) => (blocks[k] = (blocks[k] ?? 0) + 1);
  let best: EvictionPlan | undefined;
  for (const slot of ctx.slots) {
    const why = ineligible(need, slot, ctx.now, ctx.config);
    if (why) {
      count(why);
      continue;
    }
    const candidates: { r: PlannerReplica; score: number }[] = [];
    const blocked: EvictBlock[] = [];
    for (const r of slot.live) {
      const b = evictBlock(ctx, slot.node.id, r, need.model.id, newcomerScore);
      if (b) blocked.push(b);
      else candidates.push({ r, score: victimScore(ctx, r) });
    }
    candidates.sort((a, b) => a.score - b.score || a.r.lastUsedAt - b.r.lastUsedAt || (a.r.model < b.r.model ? -1 : 1));
    let free = freeMb(slot);
    let cost = 0;
    const victims: PlannerReplica[] = [];
    for (const c of candidates) {
      if (free >= need.needMb) break;
      victims.push(c.r);
      free += replicaMb(ctx, c.r);
      cost += c.score;
    }
    if (free < need.needMb) {
      // Node reasons count nodes; replica reasons count the replicas that stood in the way.
      if (blocked.length === 0) count('budget');
      for (const b of blocked) count(b);
      continue;
    }
    if (cost > newcomerScore) {
      count('hotter');
      continue;
    }
    const plan: EvictionPlan = { slot, victims, cost };
    if (!best || betterEviction(plan, best, need.model.id)) best = plan;
  }
  return { plan: best, blocks };
}

function betterEviction(a: EvictionPlan, b: EvictionPlan, modelId: string): boolean {
  if (a.cost !== b.cost) return a.cost < b.cost;
  const da = a.slot.node.inventory.includes(modelId) ? 0 : 1;
  const db = b.slot.node.inventory.includes(modelId) ? 0 : 1;
  if (da !== db) return da < db;
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  return a.slot.node.id < b.slot.node.id;
}

/** Issue the unloads of an eviction plan (before the load that follows). */
export function applyEviction(ctx: PlanContext, plan: EvictionPlan, newcomer: string, newcomerScore: number): void {
  for (const v of plan.victims) {
    const reason = `making room for ${newcomer} (demand ${fmt(newcomerScore)} ≥ ${fmt(victimScore(ctx, v))})`;
    act(ctx, 'unload', plan.slot, v.model, 'demand_evict', reason);
    removeLive(ctx, plan.slot, v);
  }
}

export function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

export function secs(ms: number): string {
  return `${fmt(ms / 1000)}s`;
}
