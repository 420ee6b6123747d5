import { plannerConfig, type PlannerConfig } from '../src/planner';
import { defaultSimOptions, Sim, type Policy } from './engine';
import { frontierAt, frontierHull, type AtMemory, type FrontierPoint } from './frontier';
import { summarize, type SummaryRow } from './metrics';
import { lruPolicy } from './policies/lru';
import { oraclePolicy } from './policies/oracle';
import { plannerPolicy } from './policies/planner';
import { swapPolicy } from './policies/swap';
import { parseAnyTrace } from './traces';
import { syntheticFleet, syntheticModels, synthesize, type FleetKind, type Workload } from './workload';

export interface SimTrace {
  name: string;
  text: string;
  /** Thin the trace to at most this many requests per second (real traces are far busier than the fleet). */
  maxRatePerSec?: number;
}

export interface SimRunOptions {
  hours: number;
  /** Each seed draws its own synthetic workloads and its own transfer noise. */
  seeds: number[];
  /** Mean requests per second over the catalog (synthetic workloads). */
  rate: number;
  /** Traces replayed as further workloads, once per seed (the seed varies their noise). */
  traces?: SimTrace[];
  /** Skip the Poisson and bursty workloads (a trace given on the command line alone). */
  tracesOnly?: boolean;
  fleet?: FleetKind;
  config?: PlannerConfig;
  /** Also run the single-model swap and the oracle (the full table). Default true. */
  baselines?: boolean;
}

/** The LRU keep-alive sweep that draws the baseline's frontier, in minutes (Infinity: unload only under memory pressure). */
export const KEEP_ALIVES_MIN = [1, 2, 5, 10, 20, 40, Number.POSITIVE_INFINITY];
export const PLANNER = 'porten planner';

export function lruName(min: number): string {
  return Number.isFinite(min) ? `ollama LRU, ${min} min keep-alive` : 'ollama LRU, never idle (pressure only)';
}

export interface WorkloadReport {
  workload: string;
  seed: number;
  planner: SummaryRow;
  /** One row per KEEP_ALIVES_MIN entry, in that order. */
  sweep: SummaryRow[];
  /** Single-model swap and oracle, when run. */
  others: SummaryRow[];
  hull: FrontierPoint[];
  /** The frontier read at the planner's memory-hours. */
  atPlanner: AtMemory;
  /** Planner cold-start rate ÷ frontier cold-start rate at equal memory-hours. */
  ratio: number;
  decisions: Record<string, number>;
}

export interface SimReport {
  workloads: WorkloadReport[];
  /** The largest ratio over every workload and seed: the headline. */
  worstRatio: number;
  worst?: WorkloadReport;
}

function simulate(fleet: FleetKind | undefined, w: Workload, policy: Policy, horizonMs: number, seed: number, windowMs: number): SummaryRow {
  const sim = new Sim(syntheticFleet(fleet), w, { ...defaultSimOptions, windowMs, seed });
  return summarize(w.name, policy.name, sim.run(policy, horizonMs));
}

/** Planner, the LRU sweep and (optionally) the other baselines on one workload: same fleet, same requests, same noise seed. */
export function runWorkload(w: Workload, horizonMs: number, seed: number, o: Pick<SimRunOptions, 'fleet' | 'config' | 'baselines'> = {}): WorkloadReport {
  const config = o.config ?? plannerConfig();
  const windowMs = config.demandWindowMs;
  const planner = plannerPolicy(config);
  const plannerRow = simulate(o.fleet, w, planner, horizonMs, seed, windowMs);
  const sweep = KEEP_ALIVES_MIN.map((min) =>
    simulate(o.fleet, w, lruPolicy(Number.isFinite(min) ? min * 60_000 : Number.POSITIVE_INFINITY, new Set(), lruName(min)), horizonMs, seed, windowMs),
  );
  const others = o.baselines === false ? [] : [swapPolicy(), oraclePolicy()].map((p) => simulate(o.fleet, w, p, horizonMs, seed, windowMs));
  const hull = frontierHull(
    sweep.map((r, i) => ({
      label: Number.isFinite(KEEP_ALIVES_MIN[i]) ? `LRU ${KEEP_ALIVES_MIN[i]} min` : 'LRU never',
      memGBh: r.usedGBh,
      coldRate: r.coldRate,
      p95: r.p95,
    })),
  );
  const atPlanner = frontierAt(hull, plannerRow.usedGBh);
  const ratio = atPlanner.coldRate > 0 ? plannerRow.coldRate / atPlanner.coldRate : plannerRow.coldRate > 0 ? Number.POSITIVE_INFINITY : 0;
  return { workload: w.name, seed, planner: plannerRow, sweep, others, hull, atPlanner, ratio, decisions: Object.fromEntries(planner.decisions) };
}

/** Every workload (Poisson, bursty, each trace) for every seed. Deterministic for the options. */
export function runSim(o: SimRunOptions): SimReport {
  const models = syntheticModels();
  const out: WorkloadReport[] = [];
  for (const seed of o.seeds) {
    const workloads: { w: Workload; horizon: number }[] = [];
    if (!o.tracesOnly) {
      for (const [i, arrivals] of (['poisson', 'bursty'] as const).entries()) {
        workloads.push({ w: synthesize(models, { seed: seed + i, hours: o.hours, ratePerSec: o.rate, arrivals }), horizon: o.hours * 3_600_000 });
      }
    }
    for (const t of o.traces ?? []) {
      const w = parseAnyTrace(t.text, models, { seed, name: t.name, maxRatePerSec: t.maxRatePerSec });
      workloads.push({ w, horizon: (w.requests.at(-1)?.at ?? 0) + 1 });
    }
    for (const { w, horizon } of workloads) out.push(runWorkload(w, horizon, seed, o));
  }
  let worst: WorkloadReport | undefined;
  for (const r of out) if (!worst || r.ratio > worst.ratio) worst = r;
  return { workloads: out, worstRatio: worst?.ratio ?? 0, worst };
}
