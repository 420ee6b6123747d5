import { Ingest } from '../src/hub/ingest';
import type { LedgerRow } from '../src/hub/ingest-types';
import { keyInfo } from '../src/hub/key-info';
import { LiveCounters } from '../src/hub/live';
import { HubMetrics } from '../src/hub/metrics';
import { routeView } from '../src/hub/route-view';
import { HubStore } from '../src/hub/store';
import { TenancyStore } from '../src/hub/tenancy-store';
import { ModelWaiters } from '../src/hub/waiters';
import { nodeSqlStorage } from './sql-storage';
import { fmt } from './stats';

export interface HubCost {
  ingestPerRowUs: number;
  ingestPerReportUs: number;
  routeUs: number;
  keyInfoUs: number;
}

export interface FleetRates {
  label: string;
  callsPerS: number;
  cpuShare: number;
  parts: Array<{ what: string; perS: number; cpuMsPerS: number }>;
}

function cpuUs(f: () => void, n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

/**
 * The Hub's own code (store, ingestion, route and key views) on Node's SQLite:
 * CPU per batched report and per ledger row, per route refresh and per key
 * refresh. A lower bound for workerd, which adds its own per-call cost.
 */
export function hubCost(quick: boolean): HubCost {
  const sql = nodeSqlStorage();
  const store = new HubStore(sql);
  store.migrate();
  const ledger = new TenancyStore(sql);
  const live = new LiveCounters();
  const waiters = new ModelWaiters();
  const metrics = new HubMetrics(store);
  const ingest = new Ingest({ store, ledger, live, waiters, metrics, replan: () => undefined, routesChanged: () => undefined, countedUnmet: () => false });
  const now = Date.now();
  for (let m = 0; m < 50; m++) {
    store.putModel(
      {
        id: `m${m}`,
        enabled: true,
        description: '',
        context_length: 8192,
        capabilities: ['chat'],
        vram_mb: 1000,
        engine: 'builtin',
        weights: { url: 'hf://x/y.gguf' },
      },
      now,
    );
  }
  for (let n = 0; n < 100; n++) {
    store.upsertNode(
      { id: `n${n}`, conn_id: `c${n}`, vram_budget_mb: 80_000, max_concurrency: 16, agent_version: 'b', engines: ['builtin'], inventory: [] },
      now,
    );
    for (let m = 0; m < 5; m++)
      store.upsertReplica({ node_id: `n${n}`, model_id: `m${(n + m) % 50}`, phase: 'ready', done_bytes: 0, total_bytes: 0, vram_mb: 1000 }, now);
  }
  let seq = 0;
  const rows = 64;
  const report = () => {
    const batch: LedgerRow[] = [];
    for (let i = 0; i < rows; i++) {
      const started = Date.now() - 50;
      batch.push({
        rid: `r${seq++}`,
        key: 'bootstrap',
        model: `m${i % 50}`,
        node: `n${seq % 100}`,
        started,
        ended: started + 40,
        outcome: 'ok',
        prompt: 20,
        completion: 100,
        first_byte_ms: 5,
        total_ms: 40,
        engine_ttft_ms: 4,
        engine_total_ms: 38,
      });
    }
    ingest.report(
      {
        node: `n${seq % 100}`,
        conn: `c${seq % 100}`,
        boot: 'b',
        at: Date.now(),
        rows: batch,
        inflight: { m1: 3 },
        saturated: {},
        suspect: false,
        lastBeat: Date.now(),
      },
      Date.now(),
    );
  };
  const reports = quick ? 100 : 400;
  report();
  const perReport = cpuUs(report, reports);
  const records = new Map();
  const routeUs = cpuUs(() => routeView(store, records, live, 'm7', Date.now()), quick ? 500 : 2000);
  const keyInfoUs = cpuUs(() => keyInfo(ledger, 'f'.repeat(64), Date.now()), quick ? 500 : 2000);
  return { ingestPerRowUs: perReport / rows, ingestPerReportUs: perReport, routeUs, keyInfoUs };
}

/**
 * The Hub's message rate for a fleet, from the data plane's design: each
 * NodeLink reports at most once per batch interval while its node is busy and
 * forwards a heartbeat once a minute; each Worker isolate refreshes each hot
 * model's route and each active key at a third of the cache bound; cold
 * requests and load progress add acquire and model.state calls; the planner
 * runs on its tick and on changes. CPU per call from `hubCost`, planner runs
 * from the planner benchmark (B6).
 */
export function fleetRates(
  cost: HubCost,
  o: {
    label: string;
    nodes: number;
    models: number;
    reqPerS: number;
    isolates: number;
    hotModels: number;
    activeKeys: number;
    batchS: number;
    cacheS: number;
    coldShare: number;
    plannerMs: number;
    plannerPerS: number;
  },
): FleetRates {
  const busyNodes = Math.min(o.nodes, o.reqPerS);
  const reportsPerS = busyNodes / o.batchS;
  const rowsPerS = o.reqPerS;
  const parts = [
    {
      what: 'batched reports (NodeLinks)',
      perS: reportsPerS,
      cpuMsPerS: (reportsPerS * (cost.ingestPerReportUs - 64 * cost.ingestPerRowUs) + rowsPerS * cost.ingestPerRowUs) / 1000,
    },
    { what: 'heartbeats forwarded (1/min/node)', perS: o.nodes / 60, cpuMsPerS: ((o.nodes / 60) * cost.routeUs) / 1000 },
    {
      what: 'route refreshes (isolates × hot models)',
      perS: (o.isolates * o.hotModels) / (o.cacheS / 3),
      cpuMsPerS: (((o.isolates * o.hotModels) / (o.cacheS / 3)) * cost.routeUs) / 1000,
    },
    {
      what: 'key refreshes (isolates × active keys)',
      perS: (o.isolates * o.activeKeys) / (o.cacheS / 3),
      cpuMsPerS: (((o.isolates * o.activeKeys) / (o.cacheS / 3)) * cost.keyInfoUs) / 1000,
    },
    { what: 'cold requests (acquire) and load progress', perS: o.reqPerS * o.coldShare * 2, cpuMsPerS: (o.reqPerS * o.coldShare * 2 * cost.routeUs) / 1000 },
    { what: 'planner runs', perS: o.plannerPerS, cpuMsPerS: o.plannerPerS * o.plannerMs },
  ];
  const callsPerS = parts.reduce((s, p) => s + p.perS, 0);
  const cpu = parts.reduce((s, p) => s + p.cpuMsPerS, 0);
  return { label: o.label, callsPerS, cpuShare: cpu / 1000, parts };
}

export function hubLoadRows(cost: HubCost, rates: FleetRates[]): string {
  return [
    '## Hub load',
    '',
    `The Hub's own code on Node's SQLite (\`bench/hub-load.ts\`; workerd adds its per-call cost): a batched report of 64 ledger rows costs **${fmt(cost.ingestPerReportUs, 0)} µs** (${fmt(cost.ingestPerRowUs, 1)} µs per row), a route refresh ${fmt(cost.routeUs, 0)} µs, a key refresh ${fmt(cost.keyInfoUs, 0)} µs.`,
    '',
    'Calls per second one Hub would take, and the share of one core its code would use (a Durable Object sustains on the order of 1,000 simple calls/s):',
    '',
    '| fleet | calls/s | core share | biggest part |',
    '|---|---|---|---|',
    ...rates.map((r) => {
      const top = [...r.parts].sort((a, b) => b.perS - a.perS)[0];
      return `| ${r.label} | ${fmt(r.callsPerS, 0)} | ${fmt(100 * r.cpuShare, 0)} % | ${top.what}: ${fmt(top.perS, 0)}/s |`;
    }),
  ].join('\n');
}
