import * as z from 'zod';
import type { ModelPhase } from '../protocol/messages';
import type { ArrivalHistory } from './arrivals';

/**
 * Planner inputs and outputs. The planner is pure: the Hub builds a `PlannerState`
 * from its SQLite rows, calls `plan(state, now, config)`, and applies the returned
 * actions by sending `hub.load` / `hub.unload` frames. All times are epoch milliseconds.
 */

// ---------------------------------------------------------------- config

export const PlannerConfigSchema = z.object({
  /**
   * The demand window (PORTEN_DEMAND_WINDOW_S × 1000): a model with too little arrival
   * history to judge is unloaded after this long without a request. A model with history
   * gets its own window from it (see keep-alive.ts), between minWindowMs and maxWindowMs.
   */
  demandWindowMs: z.number().int().positive().default(600_000),
  /** Never unload a model used less than this long ago: a burst's quiet seconds are not the end of demand. */
  minWindowMs: z.number().int().nonnegative().default(60_000),
  /** The operator's bound (PORTEN_DEMAND_WINDOW_MAX_S × 1000): no model is kept idle longer, whatever its history says. */
  maxWindowMs: z
    .number()
    .int()
    .positive()
    .default(4 * 3_600_000),
  /**
   * The exchange rate between memory and cold starts, in cold requests per GB·h, when
   * memory is contended: an idle model is kept while the cold requests keeping it is
   * expected to spare exceed the price of the memory it holds meanwhile (keep-alive.ts).
   * Higher unloads sooner.
   */
  keepValue: z.number().nonnegative().default(0.2),
  /**
   * The share of the online fleet's memory held above which memory is contended and costs
   * keepValue; below it the price falls with the fourth power of the share held (free
   * memory is cheap to keep). 0: always keepValue.
   */
  contendedShare: z.number().min(0).max(1).default(0.8),
  /** Gaps (decayed) a model's history needs before its own window replaces demandWindowMs. */
  minHistoryGaps: z.number().nonnegative().default(2),
  /** Half-life of the arrival history's counts. */
  historyHalfLifeMs: z
    .number()
    .int()
    .positive()
    .default(4 * 3_600_000),
  /** A surplus replica (another ready replica of the model serves) idle this long goes (scale_in). */
  surplusIdleMs: z.number().int().nonnegative().default(120_000),
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
  /**
   * Scale out at once when this many requests per engine slot wait behind the ready
   * replicas, if the best node can serve within scaleOutMaxServeMs (a queue that a slow
   * download would outlast is left to drain).
   */
  scaleOutQueuePerSlot: z.number().positive().default(1),
  scaleOutMaxServeMs: z.number().int().positive().default(120_000),
  maxReplicas: z.number().int().positive().default(4),
  /** A node whose load of a model failed is not chosen for that model again for this long. */
  failureBackoffMs: z.number().int().nonnegative().default(300_000),
  /** Added to footprint estimates from metadata (CUDA context, compute buffers). */
  engineOverheadMb: z.number().nonnegative().default(512),
  /** Used when a model has no catalog figure, no metadata and no measurement. */
  unknownFootprintMb: z.number().positive().default(8192),
  /** Speeds assumed for a node that has not been measured yet (bytes per second). */
  assumedDownloadBps: z
    .number()
    .positive()
    .default(100 * 1024 * 1024),
  assumedLoadBps: z
    .number()
    .positive()
    .default(1024 * 1024 * 1024),
  /**
   * Placement: nodes that can serve within serveSlackMs + serveSlackFactor × the fastest
   * node's time count as equally fast; among them, least loaded then best fit decide
   * (so a fast node is not filled with small models a slower one would serve as well).
   */
  serveSlackMs: z.number().int().nonnegative().default(15_000),
  serveSlackFactor: z.number().nonnegative().default(0.25),
  /**
   * When the node with free memory would take longer than this to serve, demand eviction
   * on a sooner node is weighed against it: whichever is expected to cost fewer cold
   * requests wins (the victims' expected misses against the requests that arrive during
   * the longer load, and the waiting ones if it would outlast warmupBudgetMs).
   */
  evictToServeSoonerMs: z.number().int().nonnegative().default(240_000),
  /**
   * Hedge a slow load: when requests wait on a replica still downloading or loading that
   * is expected to serve only after this long, and another node that fits would serve in
   * under half that time, load it there too; the first ready serves, the other is a
   * surplus replica (scale_in).
   */
  hedgeAfterMs: z.number().int().positive().default(120_000),
  /** Prewarm a model when its next request is this likely within its load time + prewarmLeadMs (above 1: never). */
  prewarmChance: z.number().nonnegative().default(0.3),
  prewarmLeadMs: z.number().int().nonnegative().default(120_000),
  /** The default warm-up budget (PORTEN_WARMUP_BUDGET_S × 1000): a load slower than this fails its waiting requests. */
  warmupBudgetMs: z.number().int().positive().default(300_000),
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
  /** While downloading: bytes still to fetch (the node's link is busy that long). */
  pendingBytes?: number;
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
  /** Measured from this node's transfers (bytes per second); assumed figures until then. */
  downloadBps?: number;
  loadBps?: number;
  /** The node owner's rule: never keep an idle model loaded here longer than this. */
  maxIdleMs?: number;
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
  /** Size of the weights file (catalog `bytes`), for download and load times; else estimated from the footprint. */
  weightsBytes?: number;
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

/** An unload the planner made recently, so a reload soon after it is named as such in the log. */
export interface RecentUnload {
  node: string;
  model: string;
  rule: Rule;
  at: number;
}

export interface PlannerState {
  nodes: PlannerNode[];
  models: PlannerModel[];
  demand: Record<string, DemandSummary>;
  pending: PendingDemand[];
  /** Recent demand evictions: on `node`, `model` was unloaded to make room for `by`. */
  recentEvictions?: RecentEviction[];
  /** Per model, its arrival history (see arrivals.ts); a model without one uses demandWindowMs. */
  arrivals?: Record<string, ArrivalHistory>;
  recentUnloads?: RecentUnload[];
}

// ---------------------------------------------------------------- output

export const RuleSchema = z.enum([
  'idle_evict', // unload: idle past its window (its history's, else the demand window; never past the operator's or node owner's bound)
  'scale_in', // unload: a surplus replica, idle while another serves the model
  'place', // load: a pending model fits on a node
  'demand_evict', // unload: making room for a pending model with more demand
  'place_after_evict', // load: on the node just freed by demand_evict
  'scale_out', // load: a second (or further) replica of a saturated model
  'prewarm', // load: into free memory, a model whose history says a request is due (see prewarm.ts)
  'hedge', // load: a second node races a load that turned out slow (requests wait; another node serves far sooner)
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
