import { bestKeep, caughtByColdStart, gapCount, type KeepPlan, type Survival } from './arrivals';
import { trustedSurvival, type NodeSlot, type PlanContext } from './context';
import { describeServe, serveTime, type ServeTime } from './serve-time';
import type { PlannerReplica } from './types';

/**
 * Whether an idle replica stays loaded: its model's own demand window. Pure.
 *
 * In order:
 *  1. Past the operator's bound (maxWindowMs) or the node owner's (node.maxIdleMs): unload.
 *  2. A surplus replica (a more recently used ready replica of the model serves elsewhere)
 *     idle for surplusIdleMs: unload (scale_in).
 *  3. Used less than minWindowMs (or the demand window, if shorter) ago: keep.
 *  4. Too little arrival history (fewer than minHistoryGaps gaps): the fixed demand window.
 *  5. Otherwise keep while it is worth its memory: for the best "keep until T" (T within
 *     the bounds), the cold requests spared — the chance of a request in (idle, T] given
 *     how long it has been idle (from its gap histogram) × the requests a cold start
 *     would catch (1 + its requests per busy minute × the minutes a reload from this
 *     node's disk takes) — exceed the price of memory (context.ts memoryPrice: keepValue
 *     when the fleet's memory is contended, far less while most of it is free) per GB·h
 *     held meanwhile. A burst's quiet gap has a high chance (such gaps ended soon
 *     before); an idle time longer than nearly every gap seen has a low one: demand has
 *     ended.
 */
export interface IdleVerdict {
  unload: boolean;
  rule: 'idle_evict' | 'scale_in';
  reason: string;
}

const GB = 1024;

export function idleVerdict(ctx: PlanContext, slot: NodeSlot, r: PlannerReplica): IdleVerdict {
  const { config, now } = ctx;
  const idle = now - r.lastUsedAt;
  const ownerCap = slot.node.maxIdleMs;
  if (ownerCap !== undefined && idle >= ownerCap && ownerCap < config.maxWindowMs) {
    return { unload: true, rule: 'idle_evict', reason: `idle ${mins(idle)} ≥ the node owner's limit of ${mins(ownerCap)}` };
  }
  if (idle >= config.maxWindowMs)
    return { unload: true, rule: 'idle_evict', reason: `idle ${mins(idle)} ≥ the operator's bound of ${mins(config.maxWindowMs)}` };
  if (idle >= config.surplusIdleMs && surplus(ctx, r)) {
    return { unload: true, rule: 'scale_in', reason: `surplus replica idle ${mins(idle)}; a more recently used replica still serves ${r.model}` };
  }
  // A demand window set below the minimum (a test, a tiny fleet) wins over it.
  if (idle < Math.min(config.minWindowMs, config.demandWindowMs)) return { unload: false, rule: 'idle_evict', reason: `used ${mins(idle)} ago` };
  const view = ctx.models.get(r.model);
  const sv = trustedSurvival(ctx, r.model);
  const h = ctx.arrivals[r.model];
  if (!view || !sv || !h) {
    const why = `no request for ${secs(idle)} (window ${secs(config.demandWindowMs)})`;
    return { unload: idle >= config.demandWindowMs, rule: 'idle_evict', reason: why };
  }
  const k = keepPlan(ctx, slot, r, sv);
  const unload = k.plan.net <= 0;
  const head = `idle ${mins(idle)}; history (${gapCount(h).toFixed(0)} gaps), a cold start would catch ${k.caught.toFixed(1)} request(s) (reload ${describeServe(k.reload)})`;
  const reason = unload
    ? `${head}; keeping ${k.gb.toFixed(0)} GB any longer is worth less than ${priceNote(ctx)}`
    : `${head}; keeping it until ~${mins(k.plan.untilMin * 60_000)} spares ~${k.plan.net.toFixed(2)} (${pct(k.plan.chance)} chance of a request by then)`;
  return { unload, rule: 'idle_evict', reason };
}

/** The best keep-until for an idle replica (see bestKeep), within the operator's and node owner's bounds. */
export function keepPlan(ctx: PlanContext, slot: NodeSlot, r: PlannerReplica, sv: Survival): { plan: KeepPlan; caught: number; gb: number; reload: ServeTime } {
  const view = ctx.models.get(r.model)!;
  const h = ctx.arrivals[r.model];
  const reload = serveTime(ctx, slot, view, true);
  const caught = h ? caughtByColdStart(h, reload.ms / 60_000) : 1 + reload.ms / 60_000;
  const gb = Math.max(0.25, (r.vramMb ?? view.needMb) / GB);
  const boundMs = Math.min(ctx.config.maxWindowMs, slot.node.maxIdleMs ?? Number.POSITIVE_INFINITY);
  const plan = bestKeep(sv, modelIdleMs(ctx, r) / 60_000, caught, gb, ctx.price, boundMs / 60_000);
  return { plan, caught, gb, reload };
}

/**
 * How long the model has gone without a request, for reading its gap histogram: the
 * replica's own idle time, or longer when the history's last busy minute ended earlier
 * (a prewarmed replica has served nobody yet: its gap started before it loaded).
 */
export function modelIdleMs(ctx: PlanContext, r: PlannerReplica): number {
  const last = ctx.arrivals[r.model]?.last;
  const sinceHistory = last === null || last === undefined ? 0 : ctx.now - (last + 1) * 60_000;
  return Math.max(0, ctx.now - r.lastUsedAt, sinceHistory);
}

/** Another ready replica of the model, on an online node, used at least as recently, serves in its place. */
function surplus(ctx: PlanContext, r: PlannerReplica): boolean {
  const view = ctx.models.get(r.model);
  return view ? view.ready.some((o) => o !== r && o.lastUsedAt >= r.lastUsedAt) : false;
}

/** The price of memory in this call and where it comes from, for the log. */
export function priceNote(ctx: PlanContext): string {
  return `${ctx.price.toFixed(ctx.price < 0.01 ? 4 : 2)} cold requests per GB·h (fleet ${Math.round(100 * ctx.heldShare)}% held)`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
}

function mins(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}m`;
}

function secs(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(2)}s`;
}
