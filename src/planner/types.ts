import { z } from 'zod';
import type { ModelPhase } from '../protocol/messages';

/**
 * Planner inputs and outputs. The planner is pure: the Hub builds a `PlannerState`
 * from its SQLite rows, calls `plan(state, now, config)`, and applies the returned
 * actions by sending `hub.load` / `hub.unload` frames. All times are epoch milliseconds.
 */

// ---------------------------------------------------------------- config

export const PlannerConfigSchema = z.object({
  /** A loaded model with no request for this long is unloaded (PORTEN_DEMAND_WINDOW_S × 1000). */
  demandWindowMs: z.number().int().positive().default(600_000),
  /**
   * Hysteresis against ping-pong: a model that displaced another less than `protectMs`
   * ago can be displaced by that same model (a swap back) only when it is at least
   * `hysteresisFactor` × as hot. First swaps are never delayed: a waiting request
   * evicts an idle, no-hotter model at once.
   */
  protectMs: z.number().int().nonnegative().default(300_000),
  hysteresisFactor: z.number().min(1).default(2),
  /**
   * Starvation guard: a pending model's demand score is multiplied by
   * `1 + waitedMs / agingMs`, so two equally hot models on a node that fits one take
   * turns at most every `agingMs` instead of one starving (0 disables).
   */
  agingMs: z.number().int().nonnegative().default(300_000),
  /** A replica saturated (inflight + queued > node concurrency) this long gets a sibling. */
  scaleOutAfterMs: z.number().int().nonnegative().default(30_000),
  maxReplicas: z.number().int().positive().default(4),
  /** A node whose load of a model failed is not chosen for that model again for this long. */
  failureBackoffMs: z.number().int().nonnegative().default(300_000),
  /** Added to footprint estimates from metadata (CUDA context, compute buffers). */
  engineOverheadMb: z.number().nonnegative().default(512),
  /** Used when a model has no catalog figure, no metadata and no measurement. */
  unknownFootprintMb: z.number().positive().default(8192),
});
export type PlannerConfig = z.infer<typeof PlannerConfigSchema>;

/** Defaults for every field; `plannerConfig({demandWindowMs: 60_000})` to override some. */
export function plannerConfig(overrides: z.input<typeof PlannerConfigSchema> = {}): PlannerConfig {
  return PlannerConfigSchema.parse(overrides);
}

// ---------------------------------------------------------------- model metadata

/** GGUF-like metadata, enough to estimate a model's memory need before it is loaded. */
export const GgufMetaSchema = z.object({
  weightsBytes: z.number().int().nonnegative(),
  nLayer: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  nHead: z.number().int().positive(),
  /** Grouped-query attention: fewer KV heads than query heads. Defaults to nHead. */
  nHeadKv: z.number().int().positive().optional(),
  /** Bytes per KV cache element: 2 for f16 (default), 1 for q8_0. */
  kvBytesPerElem: z.number().positive().optional(),
});
export type GgufMeta = z.infer<typeof GgufMetaSchema>;

// ---------------------------------------------------------------- state

export interface PlannerReplica {
  model: string;
  /** `stopped` and `failed` replicas hold no memory and are ignored. */
  phase: ModelPhase;
  /** Measured by the node after loading; absent until then. */
  vramMb?: number;
  /** When the Hub sent hub.load (set optimistically; see README). */
  loadedAt: number;
  /** Last request start or end on this replica; `loadedAt` if never used. */
  lastUsedAt: number;
  inflight: number;
  queued: number;
  /** Since when inflight + queued > the node's maxConcurrency without a break; absent when not. */
  saturatedSince?: number;
}

export interface PlannerNode {
  id: string;
  online: boolean;
  draining: boolean;
  budgetMb: number;
  region?: string;
  /** Concurrent requests one replica serves (the node's engine slots). */
  maxConcurrency: number;
  replicas: PlannerReplica[];
  /** Model ids whose verified weights are on this node's disk. */
  inventory: string[];
  /** model id → when a load of it last failed on this node. */
  recentFailures?: Record<string, number>;
}

export interface PlannerModel {
  id: string;
  enabled: boolean;
  /** Catalog `vram_mb`: overrides the estimate from metadata. */
  vramMb?: number;
  contextLength: number;
  meta?: GgufMeta;
  /** Last figure measured by any node; wins over catalog and estimate. */
  measuredMb?: number;
  /** Only nodes in these regions may host it. */
  regions?: string[];
}

/** Window sums from the demand ledger (see demand.ts). */
export interface DemandSummary {
  served1m: number;
  unmet1m: number;
  served10m: number;
  unmet10m: number;
  served60m: number;
  unmet60m: number;
}

export interface Restrictions {
  regions?: string[];
  nodes?: string[];
}

/** Requests waiting for a model that no eligible node serves (ready). */
export interface PendingDemand {
  model: string;
  /** Arrival of the oldest waiting request. */
  since: number;
  count: number;
  restrictions?: Restrictions;
}

export interface RecentEviction {
  node: string;
  model: string;
  by: string;
  at: number;
}

export interface PlannerState {
  nodes: PlannerNode[];
  models: PlannerModel[];
  demand: Record<string, DemandSummary>;
  pending: PendingDemand[];
  /** Recent demand evictions: on `node`, `model` was unloaded to make room for `by`. */
  recentEvictions?: RecentEviction[];
}

// ---------------------------------------------------------------- output

export const RuleSchema = z.enum([
  'idle_evict', // unload: no request for a full demand window
  'place', // load: a pending model fits on a node
  'demand_evict', // unload: making room for a pending model with more demand
  'place_after_evict', // load: on the node just freed by demand_evict
  'scale_out', // load: a second (or further) replica of a saturated model
  'no_fit', // decision only: a pending model fits nowhere and nothing may be evicted
  'disabled', // decision only: pending model is disabled or not in the catalog
  'scale_out_blocked', // decision only: saturated, but no node fits another replica
]);
export type Rule = z.infer<typeof RuleSchema>;

export const ActionSchema = z.object({
  type: z.enum(['load', 'unload']),
  node: z.string(),
  model: z.string(),
  rule: RuleSchema,
  reason: z.string(),
});
export type Action = z.infer<typeof ActionSchema>;

export const DecisionSchema = z.object({
  at: z.number(),
  rule: RuleSchema,
  outcome: z.enum(['load', 'unload', 'blocked']),
  model: z.string(),
  node: z.string().optional(),
  reason: z.string(),
});
export type Decision = z.infer<typeof DecisionSchema>;

export interface PlanResult {
  /** Per node, every unload precedes any load: send them in this order. */
  actions: Action[];
  decisions: Decision[];
}
