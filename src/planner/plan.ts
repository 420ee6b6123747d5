import { act, addLive, buildContext, type PlanContext } from './context';
import { applyEviction, findEviction, fmt, idleEvictions, type EvictionBlocks } from './eviction';
import { bestNode, describeRejections, hostExcluded } from './placement';
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
  if (!view || !view.model.enabled) {
    ctx.decisions.push({ at: now, rule: 'disabled', outcome: 'blocked', model: p.model, reason: view ? 'model is disabled' : 'model is not in the catalog' });
    return;
  }
  const need = { model: view.model, needMb: view.needMb, restrictions: p.restrictions };
  // A replica already live on a node these requests may use: they join it.
  for (const slot of view.hosts) if (hostExcluded(need, slot) === null) return;
  const { slot, rejections } = bestNode(need, ctx.slots, now, config);
  if (slot) {
    const disk = slot.node.inventory.includes(p.model) ? 'weights on disk' : 'download needed';
    act(ctx, 'load', slot, p.model, 'place', `${p.count} waiting; fits (${fmt(view.needMb)} of ${fmt(slot.node.budgetMb - slot.usedMb)} MB free, ${disk})`);
    addLive(ctx, slot, view);
    return;
  }
  const { plan: eviction, blocks } = findEviction(ctx, need, score);
  if (eviction) {
    applyEviction(ctx, eviction, p.model, score);
    act(ctx, 'load', eviction.slot, p.model, 'place_after_evict', `${p.count} waiting; room made by evicting ${eviction.victims.map((v) => v.model).join(', ')}`);
    addLive(ctx, eviction.slot, view);
    return;
  }
  ctx.decisions.push({
    at: now, rule: 'no_fit', outcome: 'blocked', model: p.model,
    reason: `${p.count} waiting, needs ${fmt(view.needMb)} MB, demand ${fmt(score)}; fits nowhere (${describeRejections(rejections)}); nothing evictable (${describeBlocks(blocks)})`,
  });
}

function describeBlocks(blocks: EvictionBlocks): string {
  const parts = Object.entries(blocks).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : 'no nodes';
}
