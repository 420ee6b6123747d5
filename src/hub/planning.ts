import type { Env } from '../env';
import { plan } from '../planner/plan';
import type { PlannerConfig, RecentEviction } from '../planner/types';
import { swapsOf } from '../planner/swaps';
import { coalesced } from '../util/coalesce';
import { DEMAND_RETENTION_MS, minuteOf } from '../planner/demand';
import { applyActions } from './effects';
import type { LiveCounters } from './live';
import { plannerState } from './planner-state';
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
  /** Runs the planner; concurrent calls join the run in progress and ask for one more. */
  readonly replan = coalesced(() => this.once(Date.now()));

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly store: HubStore,
    private readonly waiters: ModelWaiters,
    private readonly live: LiveCounters,
    readonly config: PlannerConfig,
  ) {}

  /** Keeps a planner tick scheduled while any model is loaded, at a tenth of the demand window (1–30 s). */
  async scheduleTick(): Promise<void> {
    if (this.store.replicas().length === 0) return;
    const tick = Math.min(30_000, Math.max(1000, this.config.demandWindowMs / 10));
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + tick) await this.ctx.storage.setAlarm(Date.now() + tick);
  }

  private async once(now: number): Promise<void> {
    const state = plannerState({
      models: this.store.models(),
      nodes: this.store.nodes(),
      replicas: this.store.replicas(),
      failures: this.store.failures(),
      demand: this.store.demandSince(minuteOf(now - DEMAND_RETENTION_MS) + 1),
      pending: this.waiters.pending(),
      live: { inflight: this.live.inflight, queued: this.waiters.counts(), saturatedSince: this.live.saturatedSince },
      now,
    });
    this.swaps = this.swaps.filter((e) => now - e.at < this.config.protectMs);
    const result = plan({ ...state, recentEvictions: this.swaps }, now, this.config);
    this.swaps.push(...swapsOf(result.actions, now));
    this.store.appendDecisions(result.decisions.map((d) => ({ at: d.at, rule: d.rule, outcome: d.outcome, model: d.model, node: d.node ?? null, reason: d.reason })));
    await applyActions(this.env, this.store, result.actions, now);
  }
}
