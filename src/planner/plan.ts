import { act, addLive, buildContext, type ModelView, type NodeSlot, type PlanContext } from './context';
import { applyEviction, findEviction, fmt, idleEvictions, type EvictionBlocks, type EvictionPlan } from './eviction';
import { bestNode, describeRejections, hostExcluded, type PlaceNeed } from './placement';
import { describeServe, loadingRate, remainingServeMs } from './serve-time';
import { prewarm } from './prewarm';
import { scaleOut } from './replicas';
import type { PendingDemand, PlannerConfig, PlannerState, PlanResult } from './types';

/**
 * Decide which nodes load or unload which models. Pure and deterministic: no I/O, no
 * clock, no randomness; the same inputs give the same actions in the same order.
 *
 * Rules, in order (later rules see the effect of earlier ones):
 *  1. idle_evict — ready, unused for a full demand window → unload.
 *  2. place / demand_evict + place_after_evict — for each pending model, hottest first:
 *     join a replica already starting on an eligible node, else load on the best node
 *     that fits, else evict colder idle replicas on the best node, else log no_fit.
 *  3. scale_out — another replica for a model whose replicas all stay saturated.
 *
 * Actions come grouped per node with unloads before loads; the node agent must finish
 * a stop before starting a load that needs its memory.
 */
export function plan(state: PlannerState, now: number, config: PlannerConfig): PlanResult {
  const ctx = buildContext(state, now, config);
  idleEvictions(ctx);
  const pending = state.pending
    .map((p) => ({ p, score: newcomerScore(ctx, p) }))
    .sort((a, b) => b.score - a.score || a.p.since - b.p.since || (a.p.model < b.p.model ? -1 : a.p.model > b.p.model ? 1 : 0));
  for (const { p, score } of pending) placePending(ctx, p, score);
  scaleOut(ctx);
  prewarm(ctx);
  // Stable: unloads first, so memory an eviction frees is released before a load needs it.
  const actions = ctx.actions.filter((a) => a.type === 'unload').concat(ctx.actions.filter((a) => a.type === 'load'));
  return { actions, decisions: ctx.decisions };
}

/**
 * A pending model's claim on memory: its demand score (never less than half a request
 * per waiting request, in case the ledger lags), aged by how long the oldest request has
 * waited so equally hot models take turns rather than one starving.
 */
export function newcomerScore(ctx: PlanContext, p: PendingDemand): number {
  const base = Math.max(ctx.models.get(p.model)?.score ?? 0, 0.5 * p.count);
  const aging = ctx.config.agingMs > 0 ? Math.max(0, ctx.now - p.since) / ctx.config.agingMs : 0;
  return base * (1 + aging);
}

function placePending(ctx: PlanContext, p: PendingDemand, score: number): void {
  const { now, config } = ctx;
  const view = ctx.models.get(p.model);
  if (!view?.model.enabled) {
    ctx.decisions.push({ at: now, rule: 'disabled', outcome: 'blocked', model: p.model, reason: view ? 'model is disabled' : 'model is not in the catalog' });
    return;
  }
  const need = { model: view.model, needMb: view.needMb, restrictions: p.restrictions };
  // A replica already live on a node these requests may use: they join it (and race it, if it is slow).
  const joined = view.hosts.filter((slot) => hostExcluded(need, slot) === null);
  if (joined.length > 0) return hedge(ctx, need, view, p, joined);
  const { slot, serve, rejections } = bestNode(ctx, need, view);
  const sooner = slot && serve && serve.ms > config.evictToServeSoonerMs ? soonerByEviction(ctx, need, view, p, score, serve.ms) : undefined;
  if (sooner) {
    const why = ` instead of ~${Math.round(serve!.ms / 1000)}s on ${slot!.node.id} (expected cold requests ${sooner.expected.toFixed(1)} < ${expectedCold(ctx, view, p, serve!.ms).toFixed(1)})`;
    return loadAfterEviction(ctx, sooner, view, p, score, why);
  }
  if (slot && serve) {
    act(
      ctx,
      'load',
      slot,
      p.model,
      'place',
      `${p.count} waiting; fits (${fmt(view.needMb)} of ${fmt(slot.node.budgetMb - slot.usedMb)} MB free); serving in ~${Math.round(serve.ms / 1000)}s (${describeServe(serve)})${reloadNote(ctx, p.model)}`,
    );
    addLive(ctx, slot, view);
    return;
  }
  const { plan: eviction, blocks } = findEviction(ctx, need, score);
  if (eviction) return loadAfterEviction(ctx, eviction, view, p, score, '');
  ctx.decisions.push({
    at: now,
    rule: 'no_fit',
    outcome: 'blocked',
    model: p.model,
    reason: `${p.count} waiting, needs ${fmt(view.needMb)} MB, demand ${fmt(score)}; fits nowhere (${describeRejections(rejections)}); nothing evictable (${describeBlocks(blocks)})`,
  });
}

/**
 * When the one load these requests wait on will serve only after hedgeAfterMs and
 * another node fits and would serve in under half the time, load there too (one hedge
 * per model at a time).
 */
function hedge(ctx: PlanContext, need: PlaceNeed, view: ModelView, p: PendingDemand, joined: NodeSlot[]): void {
  if (joined.length !== 1) return;
  const host = joined[0];
  const r = host.live.find((x) => x.model === view.model.id);
  if (!r || r.phase === 'ready') return;
  const eta = remainingServeMs(ctx, host, view, r);
  if (eta <= ctx.config.hedgeAfterMs) return;
  const { slot, serve } = bestNode(ctx, need, view);
  if (!slot || !serve || serve.ms >= eta / 2) return;
  act(
    ctx,
    'load',
    slot,
    view.model.id,
    'hedge',
    `${p.count} waiting on ${host.node.id}, which serves in ~${Math.round(eta / 1000)}s; here ~${Math.round(serve.ms / 1000)}s (${describeServe(serve)})`,
  );
  addLive(ctx, slot, view);
}

/** The unloads of an eviction plan, then the load they make room for (`why`: appended to its reason). */
function loadAfterEviction(ctx: PlanContext, ev: EvictionPlan, view: ModelView, p: PendingDemand, score: number, why: string): void {
  applyEviction(ctx, ev, p.model, score);
  const victims = ev.victims.map((v) => v.model).join(', ');
  const reason = `${p.count} waiting; room made by evicting ${victims}; serving in ~${Math.round(ev.serveMs / 1000)}s${why}${reloadNote(ctx, p.model)}`;
  act(ctx, 'load', ev.slot, p.model, 'place_after_evict', reason);
  addLive(ctx, ev.slot, view);
}

/** Cold requests a load serving in `ms` is expected to cost: those arriving meanwhile, plus the waiting ones if it outlasts the warm-up budget. */
function expectedCold(ctx: PlanContext, view: ModelView, p: PendingDemand, ms: number): number {
  return loadingRate(ctx, view) * (ms / 60_000) + (ms > ctx.config.warmupBudgetMs ? p.count : 0);
}

/** An eviction on a node that serves sooner than the free one, when it is expected to cost fewer cold requests in all. */
function soonerByEviction(ctx: PlanContext, need: PlaceNeed, view: ModelView, p: PendingDemand, score: number, freeMs: number): EvictionPlan | undefined {
  const { plan: ev } = findEviction(ctx, need, score);
  if (!ev || ev.serveMs >= freeMs) return undefined;
  const evCost = ev.expected + (ev.serveMs > ctx.config.warmupBudgetMs ? p.count : 0);
  return evCost + 0.1 < expectedCold(ctx, view, p, freeMs) ? { ...ev, expected: evCost } : undefined;
}

/** A load soon after the model's own unload is thrash: the log says so and why it was unloaded. */
function reloadNote(ctx: PlanContext, model: string): string {
  const u = ctx.unloads.get(model);
  if (!u) return '';
  return `; reload ${Math.round((ctx.now - u.at) / 1000)}s after its ${u.rule} on ${u.node}`;
}

function describeBlocks(blocks: EvictionBlocks): string {
  const parts = Object.entries(blocks).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : 'no nodes';
}
