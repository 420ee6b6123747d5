/** Small, dependency-free statistics for benchmark samples (milliseconds). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (s: number[]) => percentile(s, 50);
export const p99 = (s: number[]) => percentile(s, 99);

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Paired differences (edge − direct) of samples taken round by round, so machine drift hits both alike. */
export function paired(edge: number[], direct: number[]): number[] {
  const n = Math.min(edge.length, direct.length);
  return Array.from({ length: n }, (_, i) => edge[i] - direct[i]);
}
