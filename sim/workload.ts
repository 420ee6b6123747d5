import { parseCsvTrace } from './traces';
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
 *
 * Nodes differ in how fast they fetch and load, as a real mixed fleet does: a data-centre
 * box with a 10 Gbit/s link and NVMe next to community machines on home broadband and
 * SATA disks (download 40–1000 MB/s, disk → memory 400–3000 MB/s). Policies never read
 * these figures; the planner learns them from the transfers it sees, as the Hub does.
 */
const FLEET: Array<{ gb: number; net: number; disk: number }> = [
  { gb: 80, net: 1000, disk: 3000 },
  { gb: 80, net: 300, disk: 1200 },
  { gb: 48, net: 600, disk: 2500 },
  { gb: 48, net: 150, disk: 700 },
  { gb: 48, net: 300, disk: 1500 },
  { gb: 24, net: 250, disk: 2000 },
  { gb: 24, net: 60, disk: 500 },
  { gb: 24, net: 125, disk: 900 },
  { gb: 24, net: 40, disk: 400 },
];
const TOK_PER_SEC: Record<number, number> = { 80: 60, 48: 45, 24: 35 };

export function syntheticFleet(kind: FleetKind = 'standard'): SimNodeSpec[] {
  const perSize: Record<number, number> = kind === 'standard' ? { 80: 2, 48: 3, 24: 4 } : { 80: 1, 48: 2, 24: 4 };
  const seen: Record<number, number> = {};
  const out: SimNodeSpec[] = [];
  for (const k of FLEET) {
    const i = seen[k.gb] ?? 0;
    seen[k.gb] = i + 1;
    if (i >= perSize[k.gb]) continue;
    out.push({ id: `gpu${k.gb}-${i}`, budgetMb: k.gb * GB, netMBps: k.net, diskMBps: k.disk, maxConcurrency: 4, tokPerSec: TOK_PER_SEC[k.gb] });
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

/** CSV trace `timestamp,model,tokens` (see parseCsvTrace in traces.ts). */
export function parseTrace(csv: string, catalog: SimModel[]): Workload {
  return parseCsvTrace(csv, catalog, { seed: 1 });
}
