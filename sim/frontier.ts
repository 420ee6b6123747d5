/**
 * The LRU baseline's frontier: what a tuned keep-alive can reach, per workload, as
 * (memory-hours, cold-start rate) points. Pure.
 *
 * The frontier is the lower convex hull of the swept settings' points, cut at its
 * lowest cold-start rate: a point on a segment between two settings is attainable by
 * running one setting for part of the day and the other for the rest (memory and cold
 * starts both add up), so the hull, not the raw points, is the best an operator tuning
 * the keep-alive can do. Between hull points it is linear; left of the first point it
 * is that point's rate (a baseline with less memory would do no better), right of the
 * last it stays flat (LRU cannot use memory it does not need).
 */
export interface FrontierPoint {
  label: string;
  memGBh: number;
  coldRate: number;
  /** p95 cold wait in seconds, carried along for the p95 comparison. */
  p95: number;
}

export function frontierHull(points: readonly FrontierPoint[]): FrontierPoint[] {
  const sorted = [...points].sort((a, b) => a.memGBh - b.memGBh || a.coldRate - b.coldRate);
  const hull: FrontierPoint[] = [];
  for (const p of sorted) {
    // Lower hull (Andrew's monotone chain): drop the last point while it lies on or above the chord.
    while (hull.length >= 2) {
      const a = hull[hull.length - 2];
      const b = hull[hull.length - 1];
      const cross = (b.memGBh - a.memGBh) * (p.coldRate - a.coldRate) - (b.coldRate - a.coldRate) * (p.memGBh - a.memGBh);
      if (cross <= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  // Keep only the decreasing part: more memory for more cold starts is never on the frontier.
  let best = 0;
  for (let i = 1; i < hull.length; i++) if (hull[i].coldRate < hull[best].coldRate) best = i;
  return hull.slice(0, best + 1);
}

export interface AtMemory {
  coldRate: number;
  p95: number;
  /** How the value was read: `between A and B (w% of the way)`, `left of A`, `right of B`. */
  how: string;
}

/** The frontier's cold-start rate (and p95 cold wait, interpolated the same way) at `memGBh`. */
export function frontierAt(hull: readonly FrontierPoint[], memGBh: number): AtMemory {
  if (hull.length === 0) throw new Error('empty frontier');
  const first = hull[0];
  const last = hull[hull.length - 1];
  if (memGBh <= first.memGBh) return { coldRate: first.coldRate, p95: first.p95, how: `at or left of ${first.label}` };
  if (memGBh >= last.memGBh) return { coldRate: last.coldRate, p95: last.p95, how: `at or right of ${last.label}` };
  for (let i = 1; i < hull.length; i++) {
    const a = hull[i - 1];
    const b = hull[i];
    if (memGBh > b.memGBh) continue;
    const w = (memGBh - a.memGBh) / (b.memGBh - a.memGBh);
    return {
      coldRate: a.coldRate + w * (b.coldRate - a.coldRate),
      p95: a.p95 + w * (b.p95 - a.p95),
      how: `between ${a.label} and ${b.label} (${Math.round(100 * w)}% of the way)`,
    };
  }
  return { coldRate: last.coldRate, p95: last.p95, how: `right of ${last.label}` };
}
