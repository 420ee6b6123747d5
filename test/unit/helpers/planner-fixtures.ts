import {
  foldHistory,
  type ArrivalHistory,
  type DemandRow,
  type DemandSummary,
  type PendingDemand,
  type PlannerModel,
  type PlannerNode,
  type PlannerReplica,
  type PlannerState,
} from '../../../src/planner';

/** Builders for the planner tables. Sizes in GB for readability, stored in MB. */
export const T0 = 1_000_000_000_000;
export const GB = 1024;
export const MIN = 60_000;
export const MBPS = 1024 * 1024;

export function node(id: string, budgetGb: number, o: Partial<PlannerNode> = {}): PlannerNode {
  return { id, online: true, draining: false, budgetMb: budgetGb * GB, maxConcurrency: 4, replicas: [], inventory: [], ...o };
}

/** A ready replica, loaded an hour ago and last used a minute ago, with nothing in flight. */
export function rep(model: string, o: Partial<PlannerReplica> = {}): PlannerReplica {
  return { model, phase: 'ready', loadedAt: T0 - 60 * MIN, lastUsedAt: T0 - MIN, inflight: 0, queued: 0, ...o };
}

export function model(id: string, vramGb: number, o: Partial<PlannerModel> = {}): PlannerModel {
  return { id, enabled: true, vramMb: vramGb * GB, contextLength: 4096, ...o };
}

/** A steady `perMin` requests a minute in every window: demandScore = perMin. */
export function steady(perMin: number): DemandSummary {
  return { served1m: perMin, unmet1m: 0, served10m: 10 * perMin, unmet10m: 0, served60m: 60 * perMin, unmet60m: 0 };
}

export function waiting(modelId: string, o: Partial<PendingDemand> = {}): PendingDemand {
  return { model: modelId, since: T0, count: 1, ...o };
}

export function state(nodes: PlannerNode[], models: PlannerModel[], demand: Record<string, number> = {}, pending: PendingDemand[] = []): PlannerState {
  const d: Record<string, DemandSummary> = {};
  for (const [k, v] of Object.entries(demand)) d[k] = steady(v);
  return { nodes, models, demand: d, pending };
}

/**
 * An arrival history as the Hub would have folded it from the ledger: `busy` lists the
 * minutes (relative to T0's minute, negative = before) that had `perMinute` requests each.
 */
export function history(model: string, busy: number[], perMinute = 1, now = T0): ArrivalHistory {
  const base = Math.floor(now / MIN);
  const rows: DemandRow[] = busy.map((m) => ({ model, minute: base + m, served: perMinute, unmet: 0 }));
  return foldHistory(undefined, rows, now, 4 * 60 * MIN);
}

/** Busy minutes every `period` minutes, `count` times, the last one `lastAgo` minutes before T0. */
export function periodic(period: number, count: number, lastAgo: number): number[] {
  return Array.from({ length: count }, (_, i) => -lastAgo - (count - 1 - i) * period);
}
