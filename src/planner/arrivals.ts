import * as z from 'zod';
import { minuteOf, type DemandRow } from './demand';

/**
 * Per-model arrival history: how long this model's quiet gaps usually last, learned from
 * the demand ledger's minutes (what the Hub already records for every request, warm or
 * cold). A gap is the run of empty minutes between two minutes with requests; the
 * histogram of gaps tells a burst's quiet spell (short gaps seen many times before) from
 * the end of demand (idle longer than almost any gap seen). Counts decay with a
 * half-life, so a model whose pattern changes is relearned within hours. Pure.
 */

/** Gap buckets in empty minutes, inclusive ranges: fine where keep-alive decisions are made, coarse beyond. */
export const GAP_BUCKETS: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [1, 1],
  [2, 2],
  [3, 3],
  [4, 4],
  [5, 6],
  [7, 9],
  [10, 14],
  [15, 19],
  [20, 29],
  [30, 44],
  [45, 59],
  [60, 89],
  [90, 119],
  [120, 179],
  [180, 239],
  [240, 359],
  [360, 719],
  [720, 1439],
];
/** Gaps this long or longer (a day) count in the last bucket. */
const LONGEST_MIN = 1440;

export const ArrivalHistorySchema = z.object({
  /** The last minute (floor(ms / 60 000)) with a request; null before the first. */
  last: z.number().int().nullable(),
  /** Every ledger minute up to and including this one has been folded in. */
  through: z.number().int(),
  /** Decayed count of gaps per GAP_BUCKETS entry. */
  gaps: z.array(z.number().nonnegative()).length(GAP_BUCKETS.length),
  /** Decayed count of minutes with requests, and of the requests in them. */
  active: z.number().nonnegative(),
  requests: z.number().nonnegative(),
  /**
   * Decayed count of busy minutes that end a gap of at least one empty minute, and of the
   * requests in them: how many requests the first minute of a new burst brings, which is
   * what a cold start after a quiet spell catches (an API client's burst, not a chat turn).
   */
  starts: z.number().nonnegative(),
  startRequests: z.number().nonnegative(),
  /**
   * Decayed count of cold episodes (runs of consecutive minutes with unmet requests) and of
   * the unmet requests in them: what a cold start of this model actually caught, load time,
   * burst shape and all. Defaults keep histories stored before these fields readable.
   */
  coldEpisodes: z.number().nonnegative().default(0),
  coldRequests: z.number().nonnegative().default(0),
  /** The last minute with unmet requests (an episode continues into the next minute). */
  lastUnmet: z.number().int().nullable().default(null),
});
export type ArrivalHistory = z.infer<typeof ArrivalHistorySchema>;

export function bucketOf(gapMin: number): number {
  for (let i = 0; i < GAP_BUCKETS.length; i++) if (gapMin <= GAP_BUCKETS[i][1]) return i;
  return GAP_BUCKETS.length - 1;
}

export function emptyHistory(through: number): ArrivalHistory {
  return {
    last: null,
    through,
    gaps: GAP_BUCKETS.map(() => 0),
    active: 0,
    requests: 0,
    starts: 0,
    startRequests: 0,
    coldEpisodes: 0,
    coldRequests: 0,
    lastUnmet: null,
  };
}

/**
 * The history after folding in one model's ledger rows for every complete minute
 * (before `now`'s minute) not folded yet. Rows older than `through` (late reports) are
 * skipped: their requests are in the ledger, the gap they would split is already counted.
 * The inputs are not modified.
 */
export function foldHistory(prev: ArrivalHistory | undefined, rows: readonly DemandRow[], now: number, halfLifeMs: number): ArrivalHistory {
  const upTo = minuteOf(now) - 1;
  const mine = rows.filter((r) => r.served + r.unmet > 0 && r.minute <= upTo && (!prev || r.minute > prev.through));
  mine.sort((a, b) => a.minute - b.minute);
  const h = prev ? { ...prev, gaps: prev.gaps.slice() } : emptyHistory(mine.length ? mine[0].minute - 1 : upTo);
  if (upTo <= h.through) return h;
  const decay = 2 ** (-((upTo - h.through) * 60_000) / Math.max(1, halfLifeMs));
  for (let i = 0; i < h.gaps.length; i++) h.gaps[i] *= decay;
  h.active *= decay;
  h.requests *= decay;
  h.starts *= decay;
  h.startRequests *= decay;
  h.coldEpisodes *= decay;
  h.coldRequests *= decay;
  for (const r of mine) {
    if (r.unmet > 0) {
      if (h.lastUnmet === null || r.minute > h.lastUnmet + 1) h.coldEpisodes += 1;
      h.coldRequests += r.unmet;
      h.lastUnmet = r.minute;
    }
    if (h.last !== null && r.minute > h.last) h.gaps[bucketOf(r.minute - h.last - 1)] += 1;
    if (h.last !== null && r.minute > h.last + 1) {
      h.starts += 1;
      h.startRequests += r.served + r.unmet;
    }
    if (h.last === null || r.minute > h.last) h.last = r.minute;
    h.active += 1;
    h.requests += r.served + r.unmet;
  }
  h.through = upTo;
  return h;
}

/** Folds every model that has rows or a history; returns a new record. */
export function foldArrivals(
  prev: Readonly<Record<string, ArrivalHistory>>,
  rows: readonly DemandRow[],
  now: number,
  halfLifeMs: number,
): Record<string, ArrivalHistory> {
  const byModel = new Map<string, DemandRow[]>();
  for (const m of Object.keys(prev)) byModel.set(m, []);
  for (const r of rows) {
    const list = byModel.get(r.model);
    if (list) list.push(r);
    else byModel.set(r.model, [r]);
  }
  const out: Record<string, ArrivalHistory> = {};
  for (const [m, list] of byModel) out[m] = foldHistory(prev[m], list, now, halfLifeMs);
  return out;
}

/** Decayed number of gaps seen: how much the histogram can be trusted. */
export function gapCount(h: ArrivalHistory): number {
  let n = 0;
  for (const g of h.gaps) n += g;
  return n;
}

/** Mean requests in a minute with requests: how many requests one cold start would catch per minute of loading. */
export function requestsPerActiveMinute(h: ArrivalHistory): number {
  return h.active > 0 ? Math.max(1, h.requests / h.active) : 1;
}

/**
 * How long a busy spell of the model lasts, on average (ms): its busy minutes per burst
 * that began after a gap (the history's very first burst adds busy minutes without a
 * start, so this errs long). Infinity before any gap was seen (steady demand, or no
 * history): no limit.
 */
export function busySpellMs(h: ArrivalHistory | undefined): number {
  return h && h.starts > 0 ? (h.active / h.starts) * 60_000 : Number.POSITIVE_INFINITY;
}

/**
 * The requests a cold start after a quiet spell is expected to catch when the model takes
 * `loadMin` minutes to serve: the first request, the rest of a burst's first minute (as
 * much of it as the load lasts), then its busy-minute rate for the minutes beyond. A
 * burst's first minute is taken as at least as busy as its busy minutes on average: the
 * minute it starts in is often only partly covered (a job firing at second 50 shows few
 * requests in that minute and the rest in the next), so it alone would understate it.
 */
export function caughtByColdStart(h: ArrivalHistory, loadMin: number): number {
  const perStart = Math.max(requestsPerActiveMinute(h), h.starts > 0 ? h.startRequests / h.starts : 0);
  const modelled = 1 + (perStart - 1) * Math.min(1, loadMin) + requestsPerActiveMinute(h) * Math.max(0, loadMin - 1);
  // What this model's cold starts did catch, with the model above as a prior worth COLD_PRIOR episodes: the model
  // sees minutes, not how a burst clusters within one or how long its loads really took (a reload that had to wait
  // for a stop or went to another node's download).
  const episodes = h.coldEpisodes ?? 0;
  if (episodes <= 0) return modelled;
  return (modelled * COLD_PRIOR + (h.coldRequests ?? 0)) / (COLD_PRIOR + episodes);
}

/** Weight, in cold episodes, of the modelled catch against the measured one. */
export const COLD_PRIOR = 2;

/**
 * Pseudo-counts that keep the estimate honest outside what was seen: `tail` gaps spread
 * log-uniformly over 1 minute–1 day (longer gaps than any observed are possible), and
 * `end` gaps that never end (demand may simply have stopped).
 */
export const PRIOR = { tail: 1, end: 1 };

/** Mass of gaps whose duration (minutes) falls in [a, b]. A gap of g empty minutes lasted between g and g + 2 minutes: taken as g + 0.5 … g + 1.5. */
function massBetween(h: ArrivalHistory, a: number, b: number): number {
  let m = 0;
  for (let i = 0; i < GAP_BUCKETS.length; i++) {
    const w = h.gaps[i];
    if (w === 0) continue;
    const lo = GAP_BUCKETS[i][0] + 0.5;
    const hi = GAP_BUCKETS[i][1] + 1.5;
    const overlap = Math.min(b, hi) - Math.max(a, lo);
    if (overlap > 0) m += (w * overlap) / (hi - lo);
  }
  const la = Math.log(Math.max(1, a));
  const lb = Math.log(Math.min(LONGEST_MIN, Math.max(1, b)));
  if (lb > la) m += (PRIOR.tail * (lb - la)) / Math.log(LONGEST_MIN);
  return m;
}

/** Idle times (minutes) at which survival is tabulated: fine where keep decisions are made, coarse beyond. */
export const GRID_MIN = [
  0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 360, 480, 600, 720, 960, 1200, 1440,
];

/**
 * A model's gap distribution as survival: `s[k]` is the mass of gaps longer than
 * GRID_MIN[k] (with the pseudo-counts, so never below PRIOR.end), `integral[k]` its
 * integral from 0 (mass × minutes), for expected times held.
 */
export interface Survival {
  s: number[];
  integral: number[];
}

export function survival(h: ArrivalHistory): Survival {
  const s = GRID_MIN.map((t) => massBetween(h, t, Number.POSITIVE_INFINITY) + PRIOR.end);
  const integral = [0];
  for (let k = 1; k < GRID_MIN.length; k++) integral.push(integral[k - 1] + ((s[k - 1] + s[k]) / 2) * (GRID_MIN[k] - GRID_MIN[k - 1]));
  return { s, integral };
}

/** Survival and its integral at any t (linear between grid points; flat at the end mass beyond a day). */
function survivalAt(sv: Survival, t: number): { s: number; integral: number } {
  const last = GRID_MIN.length - 1;
  if (t >= GRID_MIN[last]) return { s: sv.s[last], integral: sv.integral[last] + sv.s[last] * (t - GRID_MIN[last]) };
  let k = 0;
  while (GRID_MIN[k + 1] <= t) k++;
  const w = (t - GRID_MIN[k]) / (GRID_MIN[k + 1] - GRID_MIN[k]);
  const st = sv.s[k] + w * (sv.s[k + 1] - sv.s[k]);
  return { s: st, integral: sv.integral[k] + ((sv.s[k] + st) / 2) * (t - GRID_MIN[k]) };
}

export interface KeepPlan {
  /** Keep until this idle time (minutes); 0 with `net` ≤ 0: unload now. */
  untilMin: number;
  /** Chance of a request before then, given idle so far. */
  chance: number;
  /** Expected minutes held until the request or `untilMin`. */
  heldMin: number;
  /** Cold requests spared minus the memory's price, in cold requests: keep while positive. */
  net: number;
}

/**
 * The best "keep until T" for a model idle `idleMin` minutes, T up to `maxMin`: spared
 * cold requests (chance of a request in (idle, T] × the requests a cold start would catch)
 * minus `price` × GB × expected hours held. This looks past the next few minutes, so a
 * model whose requests come every half hour is kept through its quiet half hour, and one
 * idle past nearly every gap it ever had is let go.
 */
export function bestKeep(sv: Survival, idleMin: number, caught: number, gb: number, price: number, maxMin: number): KeepPlan {
  const now = survivalAt(sv, idleMin);
  let best: KeepPlan = { untilMin: 0, chance: 0, heldMin: 0, net: 0 };
  if (now.s <= 0) return best;
  const candidates = GRID_MIN.filter((t) => t > idleMin && t < maxMin).concat(maxMin > idleMin ? [maxMin] : []);
  for (const t of candidates) {
    const at = survivalAt(sv, t);
    const chance = (now.s - at.s) / now.s;
    const heldMin = (at.integral - now.integral) / now.s;
    const net = chance * caught - (price * gb * heldMin) / 60;
    if (net > best.net) best = { untilMin: t, chance, heldMin, net };
  }
  return best;
}
