import { exponential, gamma, lognormal, mulberry32, shuffle, zipfWeights, type Rng } from './rng';

/** The simulated catalog, fleet and request stream. Sizes in MB, times in ms from 0. */
export interface SimModel {
  id: string;
  /** Memory when loaded (the catalog's vram_mb). */
  vramMb: number;
  /** Bytes to download, in MB (GGUF file ≈ 90% of the loaded footprint). */
  weightsMb: number;
}

export interface SimNodeSpec {
  id: string;
  budgetMb: number;
  /** Download bandwidth from the weights origin. */
  netMBps: number;
  /** Disk → GPU load rate. */
  diskMBps: number;
  maxConcurrency: number;
  /** Decode speed of one request. */
  tokPerSec: number;
}

export interface SimRequest {
  id: number;
  at: number;
  model: string;
  tokens: number;
}

export interface Workload {
  name: string;
  models: SimModel[];
  requests: SimRequest[];
  /** Share of requests per model as generated (the oracle's foreknowledge). */
  popularity: Map<string, number>;
}

const GB = 1024;
/** 24 models, 2–70 GB: tiny, small, mid and large, like a real mixed catalog. */
const SIZES_GB = [2, 3, 3, 4, 5, 5, 6, 8, 8, 9, 10, 12, 14, 16, 18, 20, 20, 22, 24, 28, 36, 40, 44, 70];

export function syntheticModels(): SimModel[] {
  return SIZES_GB.map((gb, i) => ({ id: `m${String(i).padStart(2, '0')}-${gb}g`, vramMb: gb * GB, weightsMb: Math.round(gb * GB * 0.9) }));
}

export type FleetKind = 'standard' | 'tight';

/**
 * standard: 2 × 80 GB, 3 × 48 GB, 4 × 24 GB = 400 GB, a little less than the catalog's
 * 427 GB (and fragmentation makes it less), so memory is scarce but the working set of
 * one demand window mostly fits. tight: 1 × 80, 2 × 48, 4 × 24 = 272 GB, so even the
 * working set does not fit and every policy must churn.
 */
export function syntheticFleet(kind: FleetKind = 'standard'): SimNodeSpec[] {
  const n = kind === 'standard' ? [2, 3, 4] : [1, 2, 4];
  const kinds = [
    { gb: 80, n: n[0], net: 500, tps: 60 },
    { gb: 48, n: n[1], net: 250, tps: 45 },
    { gb: 24, n: n[2], net: 125, tps: 35 },
  ];
  const out: SimNodeSpec[] = [];
  for (const k of kinds) {
    for (let i = 0; i < k.n; i++) {
      out.push({ id: `gpu${k.gb}-${i}`, budgetMb: k.gb * GB, netMBps: k.net, diskMBps: 2000, maxConcurrency: 4, tokPerSec: k.tps });
    }
  }
  return out;
}

export interface SynthOptions {
  seed: number;
  hours: number;
  /** Mean requests per second over the whole catalog. */
  ratePerSec: number;
  arrivals: 'poisson' | 'bursty';
}

/**
 * Zipf popularity (α drawn in [0.8, 1.2]) over the models in a seeded random order, so
 * popular models are not always the small ones. Each model is its own arrival process:
 * Poisson, or bursty with Gamma inter-arrivals whose coefficient of variation is drawn in [2, 4].
 */
export function synthesize(models: SimModel[], o: SynthOptions): Workload {
  const rng = mulberry32(o.seed);
  const alpha = 0.8 + 0.4 * rng();
  const ranked = shuffle(rng, models);
  const weights = zipfWeights(ranked.length, alpha);
  const horizon = o.hours * 3_600_000;
  const requests: SimRequest[] = [];
  const popularity = new Map<string, number>();
  ranked.forEach((m, i) => {
    popularity.set(m.id, weights[i]);
    const meanGapMs = 1000 / (o.ratePerSec * weights[i]);
    const cv = 2 + 2 * rng();
    const k = 1 / (cv * cv);
    const gap: (r: Rng) => number = o.arrivals === 'poisson' ? (r) => exponential(r, meanGapMs) : (r) => gamma(r, k, meanGapMs / k);
    const r = mulberry32(o.seed * 7919 + i + 1);
    for (let t = gap(r); t < horizon; t += gap(r)) requests.push({ id: 0, at: t, model: m.id, tokens: Math.max(16, Math.round(lognormal(r, 200, 0.8))) });
  });
  requests.sort((a, b) => a.at - b.at || (a.model < b.model ? -1 : 1));
  requests.forEach((q, i) => (q.id = i));
  return { name: `${o.arrivals} α=${alpha.toFixed(2)}`, models, requests, popularity };
}

/**
 * CSV trace `timestamp,model,tokens` (header optional). Timestamps: seconds (number) or
 * ISO dates, shifted so the first request is at 0. Models not in the synthetic catalog get
 * sizes from it in order of first appearance.
 */
export function parseTrace(csv: string, catalog: SimModel[]): Workload {
  const byId = new Map(catalog.map((m) => [m.id, m]));
  const models = new Map<string, SimModel>();
  const raw: { at: number; model: string; tokens: number }[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const [ts, model, tok] = line.split(',').map((s) => s.trim());
    if (!ts || !model || ts === 'timestamp') continue;
    const at = /^[0-9.]+$/.test(ts) ? Number(ts) * 1000 : Date.parse(ts);
    if (!Number.isFinite(at)) throw new Error(`trace: bad timestamp ${JSON.stringify(ts)}`);
    if (!models.has(model)) {
      const size = byId.get(model) ?? catalog[models.size % catalog.length];
      models.set(model, { ...size, id: model });
    }
    raw.push({ at, model, tokens: Math.max(1, Number(tok) || 200) });
  }
  if (raw.length === 0) throw new Error('trace: no requests');
  raw.sort((a, b) => a.at - b.at);
  const t0 = raw[0].at;
  const requests = raw.map((r, id) => ({ id, at: r.at - t0, model: r.model, tokens: r.tokens }));
  const popularity = new Map<string, number>();
  for (const r of requests) popularity.set(r.model, (popularity.get(r.model) ?? 0) + 1 / requests.length);
  return { name: 'trace', models: [...models.values()], requests, popularity };
}
