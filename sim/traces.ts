import { mulberry32, shuffle } from './rng';
import type { SimModel, SimRequest, Workload } from './workload';

/**
 * Real trace formats, replayed onto the simulated catalog. Each parser returns requests
 * sorted by time from 0 and maps the trace's names (functions, models) onto catalog
 * models by popularity rank: the most requested name gets the first model of a fixed,
 * seeded shuffle of the catalog (so the most popular is not always the smallest), the
 * second the second, and so on. Requests for names beyond the catalog's size are dropped
 * (counted in `dropped`).
 *
 * - Azure Functions 2019 (Azure/AzurePublicDataset, `AzureFunctionsDataset2019`,
 *   files `invocations_per_function_md.anon.d01.csv` … `d14`): one row per function,
 *   `HashOwner,HashApp,HashFunction,Trigger,1,…,1440` — invocations in each minute of
 *   one day. Each minute's count becomes that many arrivals spread uniformly (seeded)
 *   over the minute.
 * - BurstGPT (HPMLL/BurstGPT, `data/BurstGPT_1.csv` …): rows
 *   `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`, timestamps in
 *   seconds. The real files name two models (ChatGPT, GPT-4).
 * - The simulator's own CSV, `timestamp,model,tokens` (see parseTrace in workload.ts).
 */
export interface TraceOptions {
  /** Seeds the spread of arrivals within a minute (Azure) and the thinning. */
  seed: number;
  /** Thin the trace (keep each request with one probability) so it averages at most this many requests per second. */
  maxRatePerSec?: number;
  name?: string;
}

/** The catalog in the fixed order trace names are mapped onto (rank 1 first). */
export function rankOrder(catalog: readonly SimModel[]): SimModel[] {
  return shuffle(mulberry32(20_19), [...catalog]);
}

interface Raw {
  at: number;
  name: string;
  tokens: number;
}

/** Ranks names by request count (ties by name), maps them onto the catalog, shifts time to 0, thins to the rate cap. */
export function toWorkload(raw: Raw[], catalog: readonly SimModel[], o: TraceOptions & { name: string }, exact = false): Workload & { dropped: number } {
  if (raw.length === 0) throw new Error(`${o.name}: no requests`);
  const counts = new Map<string, number>();
  for (const r of raw) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  const byId = new Map(catalog.map((m) => [m.id, m]));
  const ranked = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1));
  const free = rankOrder(catalog).filter((m) => !(exact && counts.has(m.id)));
  const map = new Map<string, SimModel>();
  for (const name of ranked) {
    const same = exact ? byId.get(name) : undefined;
    const m = same ?? free.shift();
    if (m) map.set(name, { ...m, id: exact ? name : m.id });
  }
  raw.sort((a, b) => a.at - b.at || (a.name < b.name ? -1 : 1));
  const t0 = raw[0].at;
  const span = Math.max(1, raw[raw.length - 1].at - t0);
  const keepP = o.maxRatePerSec ? Math.min(1, (o.maxRatePerSec * span) / 1000 / raw.length) : 1;
  const rng = mulberry32(o.seed * 31 + 7);
  const requests: SimRequest[] = [];
  let dropped = 0;
  for (const r of raw) {
    const m = map.get(r.name);
    if (!m) {
      dropped++;
      continue;
    }
    if (keepP < 1 && rng() >= keepP) continue;
    requests.push({ id: requests.length, at: r.at - t0, model: m.id, tokens: Math.max(1, Math.round(r.tokens)) });
  }
  const popularity = new Map<string, number>();
  for (const q of requests) popularity.set(q.model, (popularity.get(q.model) ?? 0) + 1 / requests.length);
  return { name: o.name, models: [...map.values()], requests, popularity, dropped };
}

/** Splits a CSV line (no quoted commas in these formats). */
function cells(line: string): string[] {
  return line.split(',').map((s) => s.trim());
}

/** Azure Functions 2019 per-minute invocation counts → arrivals (see the module comment). */
export function parseAzureFunctions(csv: string, catalog: readonly SimModel[], o: TraceOptions): Workload & { dropped: number } {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = cells(lines[0] ?? '');
  const first = head.indexOf('1');
  if (head[0] !== 'HashOwner' || head[2] !== 'HashFunction' || first < 0)
    throw new Error('azure trace: expected header HashOwner,HashApp,HashFunction,Trigger,1,…,1440');
  // Only the most invoked functions fit the catalog: rank on totals first, so a real day
  // (tens of thousands of functions, billions of invocations) never becomes one array.
  const rows: { fn: string; counts: number[]; total: number }[] = [];
  for (const line of lines.slice(1)) {
    const c = cells(line);
    const fn = `${c[1]}/${c[2]}`;
    const counts: number[] = [];
    let total = 0;
    for (let col = first; col < c.length; col++) {
      const n = Number(c[col]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`azure trace: bad count ${JSON.stringify(c[col])} for ${fn} minute ${head[col]}`);
      counts.push(n);
      total += n;
    }
    if (total > 0) rows.push({ fn, counts, total });
  }
  rows.sort((a, b) => b.total - a.total || (a.fn < b.fn ? -1 : 1));
  const kept = rows.slice(0, catalog.length);
  const total = kept.reduce((a, r) => a + r.total, 0);
  const minutes = Math.max(1, ...kept.map((r) => r.counts.length));
  const keepP = o.maxRatePerSec ? Math.min(1, (o.maxRatePerSec * minutes * 60) / Math.max(1, total)) : 1;
  const rng = mulberry32(o.seed);
  const raw: Raw[] = [];
  for (const r of kept) {
    r.counts.forEach((n, minute) => {
      for (let k = 0; k < n; k++) if (keepP >= 1 || rng() < keepP) raw.push({ at: (minute + rng()) * 60_000, name: r.fn, tokens: 200 });
    });
  }
  const w = toWorkload(raw, catalog, { seed: o.seed, name: o.name ?? 'azure-functions' });
  return { ...w, dropped: w.dropped + rows.slice(kept.length).reduce((a, r) => a + r.total, 0) };
}

/** BurstGPT rows → requests; decode length is the response tokens (a failed request, 0 tokens, still arrives). */
export function parseBurstGpt(csv: string, catalog: readonly SimModel[], o: TraceOptions): Workload & { dropped: number } {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = cells(lines[0] ?? '');
  const ts = head.indexOf('Timestamp');
  const model = head.indexOf('Model');
  const resp = head.indexOf('Response tokens');
  if (ts < 0 || model < 0 || resp < 0) throw new Error('burstgpt trace: expected header Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type');
  const raw: Raw[] = [];
  for (const line of lines.slice(1)) {
    const c = cells(line);
    const at = Number(c[ts]) * 1000;
    if (!Number.isFinite(at)) throw new Error(`burstgpt trace: bad timestamp ${JSON.stringify(c[ts])}`);
    raw.push({ at, name: c[model], tokens: Math.max(16, Number(c[resp]) || 0) });
  }
  return toWorkload(raw, catalog, { ...o, name: o.name ?? 'burstgpt' });
}

/** The simulator's `timestamp,model,tokens` CSV (seconds or ISO dates; header optional); catalog ids keep their sizes. */
export function parseCsvTrace(csv: string, catalog: readonly SimModel[], o: TraceOptions): Workload & { dropped: number } {
  const raw: Raw[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const [t, m, tok] = cells(line);
    if (!t || !m || t === 'timestamp') continue;
    const at = /^[0-9.]+$/.test(t) ? Number(t) * 1000 : Date.parse(t);
    if (!Number.isFinite(at)) throw new Error(`trace: bad timestamp ${JSON.stringify(t)}`);
    raw.push({ at, name: m, tokens: Math.max(1, Number(tok) || 200) });
  }
  return toWorkload(raw, catalog, { ...o, name: o.name ?? 'trace' }, true);
}

export type TraceFormat = 'azure' | 'burstgpt' | 'csv';

/** Which format a file is, from its header. */
export function detectFormat(csv: string): TraceFormat {
  const head = csv.slice(0, 200);
  if (head.startsWith('HashOwner,')) return 'azure';
  if (head.startsWith('Timestamp,Model,')) return 'burstgpt';
  return 'csv';
}

export function parseAnyTrace(csv: string, catalog: readonly SimModel[], o: TraceOptions): Workload & { dropped: number } {
  const f = detectFormat(csv);
  return f === 'azure' ? parseAzureFunctions(csv, catalog, o) : f === 'burstgpt' ? parseBurstGpt(csv, catalog, o) : parseCsvTrace(csv, catalog, o);
}
