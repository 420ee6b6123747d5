import { benchPlanner } from '../src/planner/bench';
import { fmt } from './stats';

export interface PlannerScale {
  models: number;
  rows: Array<{ nodes: number; ms: number }>;
}

/** B6: one `plan()` call's time for growing fleets × 200 models. */
export function plannerScale(quick: boolean): PlannerScale {
  const sizes = quick ? [10, 100, 1000] : [10, 100, 1000, 5000];
  return { models: 200, rows: sizes.map((nodes) => ({ nodes, ms: benchPlanner(nodes, 200) })) };
}

export function plannerRows(r: PlannerScale): string {
  return [
    '## B6 planner decision time',
    '',
    `\`plan(state, now)\` on a synthetic fleet × ${r.models} models (median of repeated calls, see src/planner/bench.ts). Target ≤ 5 ms at 1,000 nodes.`,
    '',
    '| nodes | ms per decision |',
    '|---|---|',
    ...r.rows.map((x) => `| ${x.nodes} | ${fmt(x.ms, 3)} |`),
  ].join('\n');
}
