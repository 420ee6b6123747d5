import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootBenchStack } from './stack';
import { overhead, overheadRow, relayRate, type OverheadResult } from './overhead';
import { plannerScale, plannerRows } from './planner';
import { downloadBench, downloadRows } from './download';
import { coldStart, coldStartRows } from './cold-start';
import { fmt } from './stats';
import { capacity, capacityRows } from './capacity';
import { builtinCase, builtinRows } from './builtin-case';
import { fleetRates, hubCost, hubLoadRows } from './hub-load';
import { floor, floorRows } from './floor';

/**
 * `npm run bench [-- --quick]`: every figure against the real stack (local
 * workerd, real agent process) beside a direct baseline in the same run.
 * Writes bench/results.json and bench/RESULTS.md (a full run; `--quick` writes
 * results-quick.json; `--only=overhead,floor,…` prints and writes nothing). The last line is the
 * machine-readable summary scripts grep for.
 */
const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (name: string) => !only || only.includes(name);
const here = path.dirname(new URL(import.meta.url).pathname);

const sections: string[] = [];
const json: Record<string, unknown> = { quick, started: new Date().toISOString() };
let ttft: OverheadResult | undefined;
let hubPerRequest: number | undefined;

async function hubCalls(stack: { url: string; adminToken: string }): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('porten_hub_calls_total{'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

if (want('overhead')) {
  const stack = await bootBenchStack();
  try {
    const rounds = quick ? 60 : 400;
    const results: OverheadResult[] = [];
    const calls0 = await hubCalls(stack.stack);
    ttft = await overhead('B2 stream TTFT, 20 chunks', stack.direct, stack.edge, { stream: true, rounds, warmup: 20, concurrency: 1, chunks: 20 });
    // Every Hub call the warm requests caused (route and key refreshes, batched reports), whatever its method.
    await new Promise((r) => setTimeout(r, 1500));
    hubPerRequest = ((await hubCalls(stack.stack)) - calls0) / (rounds + 20);
    results.push(ttft);
    results.push(await overhead('B1 non-streaming', stack.direct, stack.edge, { stream: false, rounds, warmup: 20, concurrency: 1, chunks: 20 }));
    results.push(
      await overhead('B1 non-streaming', stack.direct, stack.edge, { stream: false, rounds: quick ? 10 : 40, warmup: 3, concurrency: 32, chunks: 20 }),
    );
    if (!quick)
      results.push(await overhead('B2 stream TTFT, 20 chunks', stack.direct, stack.edge, { stream: true, rounds: 20, warmup: 3, concurrency: 64, chunks: 20 }));
    // The edge caps max_tokens at 32768 (MAX_TOKENS_CEILING), so the long stream stays under it.
    const long = quick ? 20_000 : 32_000;
    const directRate = await relayRate(stack.direct, long);
    const edgeRate = await relayRate(stack.edge, long);
    json.overhead = results;
    json.hubCallsPerWarmRequest = hubPerRequest;
    json.relay = { chunks: long, directPerS: directRate, edgePerS: edgeRate };
    sections.push(
      [
        '## B1/B2 gateway overhead (instant engine)',
        '',
        'Times in ms, p50 / p99. "added" is the paired difference edge − direct per round. TTFT = time to the first SSE data event; non-streaming = time to the full body.',
        '',
        '| benchmark | concurrency | rounds | direct | edge | added | inter-chunk gap added | identical content |',
        '|---|---|---|---|---|---|---|---|',
        ...results.map(overheadRow),
        '',
        `Relay, one stream of ${long} chunks through one node link: **${Math.round(edgeRate)} chunks/s** through the edge vs ${Math.round(directRate)} chunks/s direct.`,
        '',
        `Hub calls per warm request (B2, concurrency 1, every method, from \`porten_hub_calls_total\`): **${fmt(hubPerRequest ?? NaN, 3)}** (target ≤ 0.05).`,
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
}

if (want('floor')) {
  const r = await floor(quick);
  json.floor = r.results;
  sections.push(floorRows(r));
}

if (want('builtin')) {
  const r = await builtinCase(quick);
  json.builtin = r;
  sections.push(builtinRows(r));
}

if (want('capacity')) {
  const r = await capacity(quick);
  json.capacity = r;
  sections.push(capacityRows(r));
}

if (want('cold')) {
  const r = await coldStart(quick);
  json.coldStart = r;
  sections.push(coldStartRows(r));
}

if (want('download')) {
  const r = await downloadBench(quick);
  json.download = r;
  sections.push(downloadRows(r));
}

if (want('hub')) {
  const cost = hubCost(quick);
  const base = { models: 1000, coldShare: 0.01, plannerMs: 10, plannerPerS: 1 };
  const rates = [
    fleetRates(cost, {
      ...base,
      label: '10,000 nodes × 1,000 models, 10,000 req/s, 100 isolates × 200 hot models × 1,000 keys; batch 1 s, cache 3 s',
      nodes: 10_000,
      reqPerS: 10_000,
      isolates: 100,
      hotModels: 200,
      activeKeys: 1000,
      batchS: 1,
      cacheS: 3,
    }),
    fleetRates(cost, {
      ...base,
      label: 'same, batch 10 s, cache 30 s',
      nodes: 10_000,
      reqPerS: 10_000,
      isolates: 100,
      hotModels: 200,
      activeKeys: 1000,
      batchS: 10,
      cacheS: 30,
    }),
    fleetRates(cost, {
      ...base,
      label: 'one of 20 shards (by region or model family): 500 nodes × 50 models, 500 req/s, 20 isolates × 20 hot models × 100 keys; batch 1 s, cache 3 s',
      nodes: 500,
      models: 50,
      reqPerS: 500,
      isolates: 20,
      hotModels: 20,
      activeKeys: 100,
      batchS: 1,
      cacheS: 3,
      plannerMs: 0.2,
    }),
  ];
  json.hub = { cost, rates };
  sections.push(hubLoadRows(cost, rates));
}

if (want('planner')) {
  const r = plannerScale(quick);
  json.planner = r;
  sections.push(plannerRows(r));
}

const commit = safe(() => execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(), 'unknown');
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
json.commit = commit;
json.machine = machine;
const md = [
  `# Benchmark results`,
  '',
  `Commit \`${commit}\`, ${new Date().toISOString()}, ${quick ? 'quick' : 'full'} run.`,
  '',
  `Machine: ${machine}.`,
  '',
  `Reproduce: \`npm run bench${quick ? ' -- --quick' : ''}\`.`,
  '',
  ...sections.flatMap((s) => [s, '']),
].join('\n');
mkdirSync(here, { recursive: true });
// A partial run (--only) prints its sections and leaves the recorded full run alone.
if (!only) writeFileSync(path.join(here, quick ? 'results-quick.json' : 'results.json'), JSON.stringify(json, null, 2));
if (!quick && !only) writeFileSync(path.join(here, 'RESULTS.md'), md);
console.log(md);
if (ttft) console.log(`added ttft p50 ms: ${fmt(ttft.added.p50)} p99 ms: ${fmt(ttft.added.p99)}`);
process.exit(0);

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
