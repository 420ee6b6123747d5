import { readFileSync } from 'node:fs';
import { syntheticFleet } from './workload';
import { runSim } from './simulate';

/**
 * `node --import tsx sim/run.ts [--hours 24] [--seed N] [--rate R] [--fleet standard|tight] [--trace file.csv] [--quick]`
 * Replays a workload through the real planner and three baselines; prints a markdown table
 * and `cold-start ratio vs lru: X.XX`. Same seed → same output.
 */
function args(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

const a = args(process.argv.slice(2));
const known = new Set(['hours', 'seed', 'rate', 'trace', 'quick', 'fleet']);
for (const k of Object.keys(a)) if (!known.has(k)) throw new Error(`unknown option --${k}`);
const quick = a.quick === true;
const hours = Number(a.hours ?? (quick ? 2 : 24));
const seed = Number(a.seed ?? 1);
const rate = Number(a.rate ?? 0.3);
const fleetKind = a.fleet === 'tight' ? 'tight' : 'standard';
if (a.fleet !== undefined && a.fleet !== 'tight' && a.fleet !== 'standard') throw new Error('--fleet standard|tight');
const trace = typeof a.trace === 'string' ? readFileSync(a.trace, 'utf8') : undefined;

const fleet = syntheticFleet(fleetKind);
console.log(`# porten simulator — ${trace ? `trace ${a.trace}` : `${hours} h, seed ${seed}, ${rate} req/s`}`);
console.log(`fleet: ${fleet.map((n) => `${n.id} (${n.budgetMb / 1024} GB, ${n.netMBps} MB/s)`).join(', ')}; catalog: 24 models, 2–70 GB (427 GB)\n`);
const t0 = performance.now();
const report = runSim({ hours, seed, rate, trace, fleet: fleetKind });
console.log(report.table);
console.log(`\nplanner decisions: ${Object.entries(report.plannerDecisions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`simulated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`cold-start ratio vs lru: ${report.ratioVsLru.toFixed(2)}`);
