import { freeMb, type ModelView, type NodeSlot, type PlanContext } from './context';
import { serveMs, serveTime, type ServeTime } from './serve-time';
import type { PlannerConfig, PlannerModel, Restrictions } from './types';

/** Why a model cannot go on a node, in the order they are checked. */
export type PlaceReason =
  | 'offline'
  | 'draining'
  | 'restricted' // the model's regions or the request's regions/nodes exclude this node
  | 'failed_recently' // a load of this model failed here within failureBackoffMs
  | 'already_hosted' // the node already has a live replica of the model
  | 'stopping' // the node is still stopping this model: wait for the stop, then it can load again
  | 'too_large' // bigger than the node's whole budget: no eviction can help
  | 'budget'; // bigger than the node's free budget now

export type PlaceResult = { ok: true } | { ok: false; reason: PlaceReason };

export interface PlaceNeed {
  model: PlannerModel;
  needMb: number;
  restrictions?: Restrictions;
}

/** Everything but memory: may this node host the model at all? null when it may. */
export function ineligible(need: PlaceNeed, slot: NodeSlot, now: number, config: Pick<PlannerConfig, 'failureBackoffMs'>): PlaceReason | null {
  const excluded = hostExcluded(need, slot);
  if (excluded) return excluded;
  const node = slot.node;
  const failedAt = node.recentFailures?.[need.model.id];
  if (failedAt !== undefined && now - failedAt < config.failureBackoffMs) return 'failed_recently';
  for (const r of slot.live) if (r.model === need.model.id) return 'already_hosted';
  for (const r of node.replicas) if (r.model === need.model.id && r.phase === 'stopping') return 'stopping';
  if (need.needMb > node.budgetMb) return 'too_large';
  return null;
}

/** May requests with these restrictions be served by this node at all (online, not draining, allowed)? */
export function hostExcluded(need: Pick<PlaceNeed, 'model' | 'restrictions'>, slot: NodeSlot): 'offline' | 'draining' | 'restricted' | null {
  const node = slot.node;
  if (!node.online) return 'offline';
  if (node.draining) return 'draining';
  const regions = need.model.regions;
  if (regions && regions.length > 0 && (node.region === undefined || !regions.includes(node.region))) return 'restricted';
  const r = need.restrictions;
  if (r?.regions && r.regions.length > 0 && (node.region === undefined || !r.regions.includes(node.region))) return 'restricted';
  if (r?.nodes && r.nodes.length > 0 && !r.nodes.includes(node.id)) return 'restricted';
  return null;
}

/**
 * Whether the model can be loaded on the node right now, without evicting anything.
 * Never mutates; the reason is the first failing check in `PlaceReason` order.
 */
export function canPlace(need: PlaceNeed, slot: NodeSlot, now: number, config: Pick<PlannerConfig, 'failureBackoffMs'>): PlaceResult {
  const reason = placeBlock(need, slot, now, config);
  return reason ? { ok: false, reason } : { ok: true };
}

/** canPlace without the result object: the reason, or null when it fits. */
function placeBlock(need: PlaceNeed, slot: NodeSlot, now: number, config: Pick<PlannerConfig, 'failureBackoffMs'>): PlaceReason | null {
  return ineligible(need, slot, now, config) ?? (need.needMb > freeMb(slot) ? 'budget' : null);
}

/**
 * Order between two nodes that both fit and serve about as soon (see bestNode): least
 * loaded (request load per slot), then best fit (least memory left over, which keeps
 * big holes for big models), then lowest node id so the choice never depends on input
 * order.
 */
export function comparePlacement(a: NodeSlot, b: NodeSlot, _modelId: string, needMb: number): number {
  if (a.load !== b.load) return a.load - b.load;
  const la = freeMb(a) - needMb;
  const lb = freeMb(b) - needMb;
  if (la !== lb) return la - lb;
  return a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0;
}

export type Rejections = Partial<Record<PlaceReason, number>>;

/**
 * The best node that fits now, or none, with a count of why the others were refused.
 * Placement by the time a node needs to have the model serving (serve-time.ts: weights
 * on disk, its measured download and load rates, the transfers already queued there):
 * every node within serveSlackMs + serveSlackFactor × the soonest one's time counts as
 * soonest, and comparePlacement picks among those.
 */
export function bestNode(ctx: PlanContext, need: PlaceNeed, view: ModelView): { slot?: NodeSlot; serve?: ServeTime; rejections: Rejections } {
  const rejections: Rejections = {};
  // Two passes over plain arrays: this runs for every pending model over every node.
  const fits: NodeSlot[] = [];
  const ms: number[] = [];
  let soonest = Number.POSITIVE_INFINITY;
  for (const slot of ctx.slots) {
    const reason = placeBlock(need, slot, ctx.now, ctx.config);
    if (reason) {
      rejections[reason] = (rejections[reason] ?? 0) + 1;
      continue;
    }
    const t = serveMs(ctx, slot, view);
    fits.push(slot);
    ms.push(t);
    if (t < soonest) soonest = t;
  }
  if (fits.length === 0) return { rejections };
  const cutoff = soonest * (1 + ctx.config.serveSlackFactor) + ctx.config.serveSlackMs;
  let best: NodeSlot | undefined;
  for (let i = 0; i < fits.length; i++) {
    if (ms[i] > cutoff) continue;
    if (!best || comparePlacement(fits[i], best, need.model.id, need.needMb) < 0) best = fits[i];
  }
  return { slot: best, serve: best && serveTime(ctx, best, view), rejections };
}

export function describeRejections(rejections: Rejections): string {
  const parts = Object.entries(rejections).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : 'no nodes';
}
