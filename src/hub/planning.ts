import type { Env } from '../env';
import { plan } from '../planner/plan';
import type { PlannerConfig, RecentEviction, RecentUnload } from '../planner/types';
import { ArrivalHistorySchema, foldArrivals, type ArrivalHistory } from '../planner/arrivals';
import type { NodeSpeeds } from './node-speeds';
import { swapsOf } from '../planner/swaps';
import { coalesced } from '../util/coalesce';
import { DEMAND_RETENTION_MS, minuteOf } from '../planner/demand';
import { applyActions, type EffectsObserver } from './effects';
import type { LiveCounters } from './live';
import { plannerState } from './planner-state';
import type { SecurityStore } from './security-store';
import type { HubStore } from './store';
import type { ModelWaiters } from './waiters';

/**
 * Runs the planner for the Hub: builds its state from the store and the
 * in-memory counters, records the decisions, applies the actions, and keeps
 * the alarm tick scheduled while models are loaded. Concurrent calls coalesce
 * into one more run, so a burst of cold requests plans at most twice.
 */
export class Planning {
  /** Recent swaps for the planner's anti-ping-pong rule; losing them on eviction only relaxes it. */
  private swaps: RecentEviction[] = [];
  /** Recent unloads, so a reload soon after is named as such in the log; in memory like `swaps`. */
  private unloads: RecentUnload[] = [];
  /** Runs the planner; concurrent calls join the run in progress and ask for one more. */
  readonly replan = coalesced(() => this.once(Date.now()));

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly store: HubStore,
    private readonly waiters: ModelWaiters,
    private readonly live: LiveCounters,
    readonly config: PlannerConfig,
    /** Where load orders are recorded (readiness is believed only where ordered). */
    private readonly orders: SecurityStore,
    private readonly observe: EffectsObserver = {},
    private readonly speeds?: NodeSpeeds,
  ) {}

  /**
   * Folds the demand ledger's complete minutes into the per-model arrival histories and
   * stores the ones that changed. A stored history that fails validation starts over.
   */
  private arrivals(demand: Array<{ model: string; minute: number; served: number; unmet: number }>, now: number): Record<string, ArrivalHistory> {
    const prev: Record<string, ArrivalHistory> = {};
    const stored = new Map<string, string>();
    for (const row of this.store.arrivals()) {
      stored.set(row.model_id, row.history);
      let json: unknown;
      try {
        json = JSON.parse(row.history);
      } catch {
        continue;
      }
      const parsed = ArrivalHistorySchema.safeParse(json);
      if (parsed.success) prev[row.model_id] = parsed.data;
    }
    const next = foldArrivals(prev, demand, now, this.config.historyHalfLifeMs);
    const changed: Array<{ model_id: string; history: string }> = [];
    for (const [model, h] of Object.entries(next)) {
      const text = JSON.stringify(h);
      if (stored.get(model) !== text) changed.push({ model_id: model, history: text });
    }
    this.store.putArrivals(changed);
    return next;
  }

  /** Keeps a planner tick scheduled while any model is loaded, at a tenth of the demand window (1–30 s). */
  async scheduleTick(): Promise<void> {
    if (this.store.replicas().length === 0) return;
    const tick = Math.min(30_000, Math.max(1000, this.config.demandWindowMs / 10));
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + tick) await this.ctx.storage.setAlarm(Date.now() + tick);
  }

  private async once(now: number): Promise<void> {
    const demand = this.store.demandSince(minuteOf(now - DEMAND_RETENTION_MS) + 1);
    const state = plannerState({
      models: this.store.models(),
      nodes: this.store.nodes(),
      replicas: this.store.replicas(),
      failures: this.store.failures(),
      demand,
      pending: this.waiters.pending(),
      live: { inflight: this.live.inflight, queued: this.waiters.counts(), saturatedSince: this.live.saturatedSince },
      now,
      speeds: this.speeds?.all(),
      arrivals: this.arrivals(demand, now),
    });
    this.swaps = this.swaps.filter((e) => now - e.at < this.config.protectMs);
    this.unloads = this.unloads.filter((u) => now - u.at < this.config.demandWindowMs);
    const result = plan({ ...state, recentEvictions: this.swaps, recentUnloads: this.unloads }, now, this.config);
    this.swaps.push(...swapsOf(result.actions, now));
    for (const a of result.actions) if (a.type === 'unload') this.unloads.push({ node: a.node, model: a.model, rule: a.rule, at: now });
    this.store.appendDecisions(
      result.decisions.map((d) => ({ at: d.at, rule: d.rule, outcome: d.outcome, model: d.model, node: d.node ?? null, reason: d.reason })),
    );
    await applyActions(this.env, this.store, result.actions, now, this.orders, this.observe);
  }
}
