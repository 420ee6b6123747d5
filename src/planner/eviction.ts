import { act, freeMb, removeLive, replicaMb, trustedSurvival, type NodeSlot, type PlanContext } from './context';
import { idleVerdict, keepPlan } from './keep-alive';
import { ineligible, type PlaceNeed, type PlaceReason } from './placement';
import { loadingRate, serveTime } from './serve-time';
import type { PlannerReplica } from './types';

/**
 * Idle eviction: a ready replica with nothing in flight or queued whose model's own
 * demand window has passed (see keep-alive.ts) is unloaded. Its weights stay on disk,
 * so a later request reloads it without a download. Offline nodes get no frames.
 */
export function idleEvictions(ctx: PlanContext): void {
  for (const slot of ctx.slots) {
    if (!slot.node.online) continue;
    for (const r of slot.live.slice()) {
      if (r.phase !== 'ready' || r.inflight > 0 || r.queued > 0) continue;
      const v = idleVerdict(ctx, slot, r);
      if (!v.unload) continue;
      act(ctx, 'unload', slot, r.model, v.rule, v.reason);
      removeLive(ctx, slot, r);
    }
  }
}

/**
 * The cold requests evicting `r` now is expected to cause: the chance of a request
 * before its keep-alive would have let it go anyway (keep-alive.ts; without history, a
 * Poisson guess from its demand score over the rest of the demand window) times the
 * requests its reload would catch. 0 for a surplus replica.
 */
export function evictionLoss(ctx: PlanContext, slot: NodeSlot, r: PlannerReplica): number {
  const view = ctx.models.get(r.model);
  if (!view || view.ready.some((o) => o !== r)) return 0;
  const sv = trustedSurvival(ctx, r.model);
  if (sv) {
    const k = keepPlan(ctx, slot, r, sv);
    return k.plan.chance * k.caught;
  }
  const perMin = view.score;
  const leftMin = Math.max(0, ctx.config.demandWindowMs - (ctx.now - r.lastUsedAt)) / 60_000;
  const reloadMin = serveTime(ctx, slot, view, true).ms / 60_000;
  return (1 - Math.exp(-perMin * leftMin)) * (1 + perMin * reloadMin);
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
  /** Expected cold requests the victims' absence causes (see evictionLoss). */
  loss: number;
  /** When the newcomer would serve there. */
  serveMs: number;
  /** loss + the newcomer's requests that arrive while it loads there: cold requests in all. */
  expected: number;
}

export type EvictionBlocks = Partial<Record<EvictBlock | PlaceReason, number>>;

/**
 * For a model that fits nowhere: on each eligible node, evict the evictable replicas
 * whose memory is cheapest (fewest expected cold requests per MB, then least recently
 * used, then model id) until it fits, then drop those not needed after all. A node
 * qualifies only if the victims' total demand score does not exceed the newcomer's.
 * Best node: see betterEviction.
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
    const candidates: Candidate[] = [];
    const blocked: EvictBlock[] = [];
    let evictableMb = 0;
    for (const r of slot.live) {
      const b = evictBlock(ctx, slot.node.id, r, need.model.id, newcomerScore);
      if (b) blocked.push(b);
      else {
        const mb = replicaMb(ctx, r);
        evictableMb += mb;
        candidates.push({ r, score: victimScore(ctx, r), loss: 0, mb });
      }
    }
    // Losses cost a history lookup each: only for nodes where evicting can make room at all.
    if (freeMb(slot) + evictableMb >= need.needMb) for (const c of candidates) c.loss = evictionLoss(ctx, slot, c.r);
    // Cheapest memory first: expected cold requests per MB freed, then least recently used.
    candidates.sort((a, b) => a.loss / a.mb - b.loss / b.mb || a.r.lastUsedAt - b.r.lastUsedAt || (a.r.model < b.r.model ? -1 : 1));
    let free = freeMb(slot);
    let chosen: Candidate[] = [];
    for (const c of candidates) {
      if (free >= need.needMb) break;
      chosen.push(c);
      free += c.mb;
    }
    // Drop victims the others already make room without, costliest first.
    for (const c of [...chosen].sort((a, b) => b.loss - a.loss)) {
      if (free - c.mb >= need.needMb) {
        chosen = chosen.filter((x) => x !== c);
        free -= c.mb;
      }
    }
    const victims = chosen.map((c) => c.r);
    const cost = chosen.reduce((a, c) => a + c.score, 0);
    const loss = chosen.reduce((a, c) => a + c.loss, 0);
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
    const view = ctx.models.get(need.model.id);
    const serveMs = view ? serveTime(ctx, slot, view).ms : 0;
    const plan: EvictionPlan = { slot, victims, cost, loss, serveMs, expected: loss + (view ? loadingRate(ctx, view) : 1) * (serveMs / 60_000) };
    if (!best || betterEviction(plan, best)) best = plan;
  }
  return { plan: best, blocks };
}

interface Candidate {
  r: PlannerReplica;
  score: number;
  loss: number;
  mb: number;
}

/**
 * Fewest expected cold requests in all (the victims' and the newcomer's own during its
 * load, within a tenth of a request: estimates are not that precise), then the node that
 * serves soonest, then fewer victims, then lowest id.
 */
function betterEviction(a: EvictionPlan, b: EvictionPlan): boolean {
  if (Math.abs(a.expected - b.expected) > 0.1) return a.expected < b.expected;
  if (a.serveMs !== b.serveMs) return a.serveMs < b.serveMs;
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  return a.slot.node.id < b.slot.node.id;
}

/** Issue the unloads of an eviction plan (before the load that follows). */
export function applyEviction(ctx: PlanContext, plan: EvictionPlan, newcomer: string, newcomerScore: number): void {
  for (const v of plan.victims) {
    const reason = `making room for ${newcomer} (demand ${fmt(newcomerScore)} ≥ ${fmt(victimScore(ctx, v))}; expected to cost ${evictionLoss(ctx, plan.slot, v).toFixed(2)} cold request(s))`;
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
