import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable } from './metrics';
import { runSim, type SimTrace, type WorkloadReport } from './simulate';
import { syntheticFleet } from './workload';

/**
 * `node --import tsx sim/run.ts [--hours 24] [--seeds 1-5 | --seed N] [--rate R] [--fleet standard|tight]
 *   [--trace file.csv]… [--trace-rate R] [--quick] [--detail]`
 * Replays Poisson and bursty workloads and the sample traces (sim/samples/) through the real
 * planner, an LRU keep-alive sweep (the baseline's frontier) and two more baselines; prints
 * each workload's table for the first seed (all seeds with --detail), a summary per workload
 * and seed, and last `cold-start ratio vs lru frontier: X.XX` — the worst over all of them.
 * `--trace` replaces the sample traces and the synthetic workloads with the given files
 * (Azure Functions 2019, BurstGPT or `timestamp,model,tokens`, told apart by their header).
 */
function args(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    const v = next === undefined || next.startsWith('--') ? 'true' : argv[++i];
    out.set(a.slice(2), [...(out.get(a.slice(2)) ?? []), v]);
  }
  return out;
}

function seedList(s: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error('--seeds N or N-M');
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  return Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);
}

const a = args(process.argv.slice(2));
const known = new Set(['hours', 'seed', 'seeds', 'rate', 'trace', 'trace-rate', 'quick', 'fleet', 'detail']);
for (const k of a.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
const one = (k: string) => a.get(k)?.at(-1);
const quick = a.has('quick');
const hours = Number(one('hours') ?? (quick ? 4 : 24));
const seeds = one('seed') ? [Number(one('seed'))] : seedList(one('seeds') ?? (quick ? '1' : '1-5'));
const rate = Number(one('rate') ?? 0.3);
const fleetArg = one('fleet') ?? 'standard';
if (fleetArg !== 'tight' && fleetArg !== 'standard') throw new Error('--fleet standard|tight');
const fleetKind = fleetArg;
const traceRate = one('trace-rate') ? Number(one('trace-rate')) : undefined;

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLES = ['azure-functions-2019.sample.csv', 'burstgpt.sample.csv', 'requests.sample.csv'];
const given = a.get('trace');
const traces: SimTrace[] = (given ?? SAMPLES.map((f) => path.join(here, 'samples', f))).map((file) => ({
  name: path.basename(file).replace(/\.csv$/, ''),
  text: readFileSync(file, 'utf8'),
}));

const fleet = syntheticFleet(fleetKind);
console.log(
  `# porten simulator — ${given ? '' : `${hours} h Poisson and bursty, `}${traces.map((t) => t.name).join(', ')}; seeds ${seeds.join(', ')}; ${rate} req/s`,
);
console.log(
  `fleet: ${fleet.map((n) => `${n.id} (${n.budgetMb / 1024} GB, ${n.netMBps} MB/s down, ${n.diskMBps} MB/s load)`).join(', ')}; catalog: 24 models, 2–70 GB (427 GB)\n`,
);
const t0 = performance.now();
const report = runSim({
  hours,
  seeds,
  rate,
  fleet: fleetKind,
  tracesOnly: given !== undefined,
  traces: traces.map((t) => ({ ...t, maxRatePerSec: traceRate })),
});
const secs = (performance.now() - t0) / 1000;

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const detail = a.has('detail');
for (const r of report.workloads) {
  if (!detail && r.seed !== seeds[0]) continue;
  console.log(`## ${r.workload}, seed ${r.seed}\n`);
  console.log(markdownTable([r.planner, ...r.sweep, ...r.others]));
  console.log(`\nfrontier (lower convex hull of the LRU sweep): ${r.hull.map((p) => `${p.label} ${p.memGBh.toFixed(0)} GB·h ${pct(p.coldRate)}`).join(' → ')}`);
  console.log(describe(r));
  console.log(causes(r.planner));
  console.log(
    `planner decisions: ${Object.entries(r.decisions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}\n`,
  );
}

/** Where the planner's cold requests came from: each absence's first request, and those that arrived during its load. */
function causes(p: WorkloadReport['planner']): string {
  const c = p.coldByCause;
  const part = (label: string, first: number, joined: number) => `${label} ${first} (+${joined} during the load)`;
  return `planner cold requests: ${part('first touch', c.first, c.joined_first)}, ${part('after an idle unload', c.idle, c.joined_idle)}, ${part('after an eviction for room', c.demand, c.joined_demand)}`;
}

function describe(r: WorkloadReport): string {
  const p = r.planner;
  return `planner ${p.usedGBh.toFixed(0)} GB·h, ${pct(p.coldRate)} cold; frontier at equal memory (${r.atPlanner.how}) ${pct(r.atPlanner.coldRate)} → ratio ${r.ratio.toFixed(2)}; p95 cold wait ${p.p95.toFixed(1)} s vs ${r.atPlanner.p95.toFixed(1)} s`;
}

console.log('## summary: the planner against the LRU frontier at equal memory-hours\n');
console.log(
  '| workload | seed | planner GB·h | planner cold | of which first touch | frontier cold at equal GB·h | ratio | planner p95 (s) | frontier p95 (s) | LRU 5 min (GB·h, cold) | oracle (GB·h, cold) | planner loads | thrash (room / idle) |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of report.workloads) {
  const lru5 = r.sweep[2];
  const oracle = r.others.find((o) => o.policy.startsWith('always-on'));
  console.log(
    `| ${r.workload} | ${r.seed} | ${r.planner.usedGBh.toFixed(0)} | ${pct(r.planner.coldRate)} | ${pct(r.planner.firstTouchRate)} | ${pct(r.atPlanner.coldRate)} | ${r.ratio.toFixed(2)} | ${r.planner.p95.toFixed(1)} | ${r.atPlanner.p95.toFixed(1)} | ${lru5.usedGBh.toFixed(0)}, ${pct(lru5.coldRate)} | ${oracle ? `${oracle.usedGBh.toFixed(0)}, ${pct(oracle.coldRate)}` : '—'} | ${r.planner.loads} | ${r.planner.thrash} (${r.planner.thrash - r.planner.thrashAfterIdle} / ${r.planner.thrashAfterIdle}) |`,
  );
}
const byWorkload = new Map<string, number>();
for (const r of report.workloads) {
  const key = r.workload.replace(/ α=.*/, '');
  byWorkload.set(key, Math.max(byWorkload.get(key) ?? 0, r.ratio));
}
console.log(
  `\nworst ratio per workload: ${[...byWorkload]
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ')}; p95 no worse than the frontier in ${report.workloads.filter((r) => r.planner.p95 <= r.atPlanner.p95).length} of ${report.workloads.length}`,
);
console.log(`simulated in ${secs.toFixed(1)} s`);
console.log(`cold-start ratio vs lru frontier: ${report.worstRatio.toFixed(2)}`);
