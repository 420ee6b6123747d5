import { bestKeep, caughtByColdStart, gapCount } from './arrivals';
import { act, addLive, trustedSurvival, type PlanContext } from './context';
import { bestNode } from './placement';
import { describeServe } from './serve-time';

/**
 * Prewarm: load a model nobody is waiting for yet, into memory that is free anyway, when
 * its arrival history says a request is due — a timer or batch job that fires every half
 * hour, a burst pattern whose quiet gap is about to end. Never evicts for it, and only
 * after every waiting request has been placed.
 *
 * For a model with no live replica and a trusted history, idle `t` minutes (since its
 * last busy minute): on the node that would serve soonest (taking L minutes), the chance
 * of its next request arriving within L + prewarmLeadMs must be at least prewarmChance,
 * and keeping it from now (bestKeep from t, with the requests a cold start would catch)
 * must still be worth more than its memory at this call's price (memoryPrice). Hottest value first.
 */
export function prewarm(ctx: PlanContext): void {
  const { now, config } = ctx;
  if (config.prewarmChance > 1) return;
  const skip = new Set(ctx.pending.map((p) => p.model));
  // Not what this very plan just let go (its node still has it stopping, and the verdicts would flap).
  for (const a of ctx.actions) if (a.type === 'unload') skip.add(a.model);
  const candidates: { id: string; net: number; why: string }[] = [];
  for (const view of ctx.models.values()) {
    const id = view.model.id;
    if (!view.model.enabled || view.hosts.length > 0 || skip.has(id)) continue;
    const h = ctx.arrivals[id];
    const sv = trustedSurvival(ctx, id);
    if (!h || !sv || h.last === null) continue;
    const idleMin = now / 60_000 - (h.last + 0.5);
    if (idleMin < 0) continue;
    const { slot, serve } = bestNode(ctx, { model: view.model, needMb: view.needMb }, view);
    if (!slot || !serve) continue;
    const loadMin = serve.ms / 60_000;
    const soon = bestKeep(sv, idleMin, 1, 0, 0, idleMin + loadMin + config.prewarmLeadMs / 60_000);
    if (soon.chance < config.prewarmChance) continue;
    const caught = caughtByColdStart(h, loadMin);
    const keep = bestKeep(sv, idleMin + loadMin, caught, view.needMb / 1024, ctx.price, config.maxWindowMs / 60_000);
    if (keep.net <= 0) continue;
    candidates.push({
      id,
      net: keep.net / Math.max(0.25, view.needMb / 1024),
      why: `idle ${Math.round(idleMin)}m; history (${gapCount(h).toFixed(0)} gaps): ${Math.round(100 * soon.chance)}% chance of a request within ${Math.round(loadMin + config.prewarmLeadMs / 60_000)}m, loading takes ~${Math.round(serve.ms / 1000)}s (${describeServe(serve)}); memory is free`,
    });
  }
  candidates.sort((a, b) => b.net - a.net || (a.id < b.id ? -1 : 1));
  for (const c of candidates) {
    const view = ctx.models.get(c.id)!;
    // Earlier prewarms in this call took memory: look again.
    const { slot } = bestNode(ctx, { model: view.model, needMb: view.needMb }, view);
    if (!slot) continue;
    act(ctx, 'load', slot, c.id, 'prewarm', c.why);
    addLive(ctx, slot, view);
  }
}
