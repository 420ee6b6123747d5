/** Seeded randomness: mulberry32, plus the distributions the workloads need. Deterministic for a seed. */
import { mulberry32 as mulberry32u32 } from '../scripts/gguf/prng';

export type Rng = () => number;

/** Uniform in [0, 1), from the same generator that writes the demo weights. */
export function mulberry32(seed: number): Rng {
  const next = mulberry32u32(seed);
  return () => next() / 4294967296;
}

/** Uniform in (0, 1]: safe under log. */
function open01(rng: Rng): number {
  return 1 - rng();
}

export function exponential(rng: Rng, mean: number): number {
  return -Math.log(open01(rng)) * mean;
}

export function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(open01(rng))) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape k, scale θ), Marsaglia–Tsang; k < 1 via the k + 1 boost. */
export function gamma(rng: Rng, k: number, theta: number): number {
  if (k < 1) return gamma(rng, k + 1, theta) * open01(rng) ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = open01(rng);
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * theta;
  }
}

export function lognormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(rng));
}

/** Zipf weights for ranks 1..n, normalised to sum 1. */
export function zipfWeights(n: number, alpha: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** alpha);
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
