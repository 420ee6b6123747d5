/** Per-policy accounting. Every request ends warm, cold-served or cold-timed-out. */
export interface SimMetrics {
  requests: number;
  warm: number;
  cold: number;
  /** Cold requests that waited past the warm-up budget (503 model_warming). */
  timeouts: number;
  /** Wait of each cold request, ms (a timeout counts as the budget). */
  coldWaits: number[];
  loads: number;
  downloads: number;
  unloads: number;
  /** Loads of a model within one demand window of its last eviction. */
  thrash: number;
  /** Of which the eviction was an idle / keep-alive expiry rather than making room. */
  thrashAfterIdle: number;
  /** MB × ms resident (loading start → stop done) and busy (≥ 1 request in flight). */
  memMbMs: number;
  busyMbMs: number;
  /** Actions the simulator refused (over budget, unknown replica, busy victim): should be 0. */
  invalid: number;
  /** Per model: cold requests, and MB × ms resident (for looking into one policy's choices). */
  coldByModel: Map<string, number>;
  /** Cold requests that arrived before their model was ever ready (unavoidable without foreknowledge). */
  coldFirstTouch: number;
  /**
   * Cold requests by why the model was out: never loaded yet (`first`), unloaded idle (`idle`) or evicted to make
   * room (`demand`); `joined_*` arrived while a load was already under way (a burst during it), the others found none.
   */
  coldByCause: Record<'first' | 'idle' | 'demand' | 'joined_first' | 'joined_idle' | 'joined_demand', number>;
  memByModel: Map<string, number>;
}

export function emptyMetrics(): SimMetrics {
  return {
    requests: 0,
    warm: 0,
    cold: 0,
    timeouts: 0,
    coldWaits: [],
    loads: 0,
    downloads: 0,
    unloads: 0,
    thrash: 0,
    thrashAfterIdle: 0,
    memMbMs: 0,
    busyMbMs: 0,
    invalid: 0,
    coldByModel: new Map(),
    coldFirstTouch: 0,
    coldByCause: { first: 0, idle: 0, demand: 0, joined_first: 0, joined_idle: 0, joined_demand: 0 },
    memByModel: new Map(),
  };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface SummaryRow {
  workload: string;
  policy: string;
  requests: number;
  coldRate: number;
  p50: number;
  p95: number;
  timeouts: number;
  usedGBh: number;
  busyGBh: number;
  loads: number;
  thrash: number;
  thrashAfterIdle: number;
  invalid: number;
  /** Share of requests that were cold because their model had never been ready yet (no policy avoids those). */
  firstTouchRate: number;
  /** Cold requests by why their model was out (see SimMetrics.coldByCause). */
  coldByCause: SimMetrics['coldByCause'];
}

const GBH = 1024 * 3_600_000;

export function summarize(workload: string, policy: string, m: SimMetrics): SummaryRow {
  return {
    workload,
    policy,
    requests: m.requests,
    coldRate: m.requests ? m.cold / m.requests : 0,
    p50: percentile(m.coldWaits, 50) / 1000,
    p95: percentile(m.coldWaits, 95) / 1000,
    timeouts: m.timeouts,
    usedGBh: m.memMbMs / GBH,
    busyGBh: m.busyMbMs / GBH,
    loads: m.loads,
    thrash: m.thrash,
    thrashAfterIdle: m.thrashAfterIdle,
    invalid: m.invalid,
    firstTouchRate: m.requests ? m.coldFirstTouch / m.requests : 0,
    coldByCause: { ...m.coldByCause },
  };
}

export function markdownTable(rows: SummaryRow[]): string {
  const head =
    '| workload | policy | requests | cold-start rate | cold wait p50 (s) | cold wait p95 (s) | timeouts | memory used (GB·h) | busy (GB·h) | busy/used | loads | thrash (after room-making / after idle expiry) |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(
    (r) =>
      `| ${r.workload} | ${r.policy} | ${r.requests} | ${(100 * r.coldRate).toFixed(2)}% | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.timeouts} | ${r.usedGBh.toFixed(0)} | ${r.busyGBh.toFixed(0)} | ${r.usedGBh ? ((100 * r.busyGBh) / r.usedGBh).toFixed(1) : '0'}% | ${r.loads} | ${r.thrash} (${r.thrash - r.thrashAfterIdle} / ${r.thrashAfterIdle})${r.invalid ? ` (${r.invalid} invalid)` : ''} |`,
  );
  return [head, sep, ...lines].join('\n');
}
