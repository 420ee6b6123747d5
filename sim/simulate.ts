import { plannerConfig, type PlannerConfig } from '../src/planner';
import { defaultSimOptions, Sim, type Policy } from './engine';
import { markdownTable, summarize, type SummaryRow } from './metrics';
import { lruPolicy } from './policies/lru';
import { oraclePolicy } from './policies/oracle';
import { plannerPolicy } from './policies/planner';
import { swapPolicy } from './policies/swap';
import { parseTrace, syntheticFleet, syntheticModels, synthesize, type FleetKind, type Workload } from './workload';

export interface SimRunOptions {
  hours: number;
  seed: number;
  /** Mean requests per second over the catalog. */
  rate: number;
  /** CSV text of a trace; replaces the synthetic workloads. */
  trace?: string;
  fleet?: FleetKind;
  config?: PlannerConfig;
}

export interface SimReport {
  rows: SummaryRow[];
  table: string;
  /** Planner cold-start rate ÷ LRU cold-start rate over all workloads together. */
  ratioVsLru: number;
  plannerDecisions: Record<string, number>;
}

export const PLANNER = 'porten planner';
export const LRU = 'ollama LRU, 5 min keep-alive';

/** Every policy on every workload, same fleet, same requests. Deterministic for the options. */
export function runSim(o: SimRunOptions): SimReport {
  const models = syntheticModels();
  const workloads: Workload[] = o.trace
    ? [parseTrace(o.trace, models)]
    : (['poisson', 'bursty'] as const).map((arrivals, i) => synthesize(models, { seed: o.seed + i, hours: o.hours, ratePerSec: o.rate, arrivals }));
  const config = o.config ?? plannerConfig();
  const rows: SummaryRow[] = [];
  const decisions: Record<string, number> = {};
  for (const w of workloads) {
    const horizon = o.trace ? (w.requests.at(-1)?.at ?? 0) + 1 : o.hours * 3_600_000;
    const planner = plannerPolicy(config);
    const policies: Policy[] = [planner, lruPolicy(), swapPolicy(), oraclePolicy()];
    for (const p of policies) {
      const sim = new Sim(syntheticFleet(o.fleet), w, { ...defaultSimOptions, windowMs: config.demandWindowMs });
      rows.push(summarize(w.name, p.name, sim.run(p, horizon)));
    }
    for (const [k, v] of planner.decisions) decisions[k] = (decisions[k] ?? 0) + v;
  }
  const coldOf = (policy: string) => {
    const rs = rows.filter((r) => r.policy === policy);
    const req = rs.reduce((a, r) => a + r.requests, 0);
    return req ? rs.reduce((a, r) => a + r.coldRate * r.requests, 0) / req : 0;
  };
  const lru = coldOf(LRU);
  return { rows, table: markdownTable(rows), ratioVsLru: lru > 0 ? coldOf(PLANNER) / lru : 0, plannerDecisions: decisions };
}
