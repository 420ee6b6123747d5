import type { DemandSummary } from './types';

/**
 * The demand ledger: per model, per wall-clock minute, how many requests were served
 * by a ready replica and how many found none (unmet). One row is one SQLite row
 * `(model, minute, served, unmet)`, primary key `(model, minute)`, so the Hub can
 * upsert on every request and prune old minutes in one statement.
 *
 * A window of W minutes read at `now` covers the current (partial) minute and the
 * W − 1 before it: the 1-minute window is "this minute so far".
 */
export interface DemandRow {
  model: string;
  /** floor(epoch ms / 60 000). */
  minute: number;
  served: number;
  unmet: number;
}

export type DemandKind = 'served' | 'unmet';

export const MINUTE_MS = 60_000;
/** The longest window read (60 min); rows older than this can be pruned. */
export const DEMAND_RETENTION_MS = 60 * MINUTE_MS;

export function minuteOf(ts: number): number {
  return Math.floor(ts / MINUTE_MS);
}

/** The row after one more event: pass the stored row for (model, minuteOf(now)), or undefined. */
export function bumpRow(row: DemandRow | undefined, model: string, now: number, kind: DemandKind, n = 1): DemandRow {
  const minute = minuteOf(now);
  const base = row && row.model === model && row.minute === minute ? row : { model, minute, served: 0, unmet: 0 };
  return kind === 'served' ? { ...base, served: base.served + n } : { ...base, unmet: base.unmet + n };
}

/** A new row list with the event counted; the input is not modified. */
export function addDemand(rows: readonly DemandRow[], model: string, now: number, kind: DemandKind, n = 1): DemandRow[] {
  const minute = minuteOf(now);
  const i = rows.findIndex((r) => r.model === model && r.minute === minute);
  const out = rows.slice();
  if (i < 0) out.push(bumpRow(undefined, model, now, kind, n));
  else out[i] = bumpRow(rows[i], model, now, kind, n);
  return out;
}

/** Rows still inside `keepMs` of `now` (the same minute rule as windows); the input is not modified. */
export function pruneDemand(rows: readonly DemandRow[], now: number, keepMs = DEMAND_RETENTION_MS): DemandRow[] {
  const oldest = minuteOf(now) - Math.ceil(keepMs / MINUTE_MS) + 1;
  return rows.filter((r) => r.minute >= oldest);
}

/** Sums of one model's rows over the last `windowMs` (whole minutes, see above). Future minutes are ignored. */
export function windowSums(rows: readonly DemandRow[], model: string, now: number, windowMs: number): { served: number; unmet: number } {
  const cur = minuteOf(now);
  const oldest = cur - Math.ceil(windowMs / MINUTE_MS) + 1;
  let served = 0;
  let unmet = 0;
  for (const r of rows) {
    if (r.model !== model || r.minute < oldest || r.minute > cur) continue;
    served += r.served;
    unmet += r.unmet;
  }
  return { served, unmet };
}

export function emptySummary(): DemandSummary {
  return { served1m: 0, unmet1m: 0, served10m: 0, unmet10m: 0, served60m: 0, unmet60m: 0 };
}

/** 1/10/60-minute sums for every model in `rows`, in one pass. */
export function summarizeDemand(rows: Iterable<DemandRow>, now: number): Record<string, DemandSummary> {
  const cur = minuteOf(now);
  const out: Record<string, DemandSummary> = {};
  for (const r of rows) {
    const age = cur - r.minute;
    if (age < 0 || age >= 60) continue;
    const s = (out[r.model] ??= emptySummary());
    s.served60m += r.served;
    s.unmet60m += r.unmet;
    if (age < 10) {
      s.served10m += r.served;
      s.unmet10m += r.unmet;
    }
    if (age < 1) {
      s.served1m += r.served;
      s.unmet1m += r.unmet;
    }
  }
  return out;
}

/**
 * One number per model, roughly "requests per minute", used to rank models against
 * each other for eviction. It blends the windows so a burst this minute counts, but a
 * model that was steady for an hour is not displaced by a one-minute blip.
 * Served and unmet count alike: unmet requests are demand the fleet failed to meet.
 */
export function demandScore(d: DemandSummary | undefined): number {
  if (!d) return 0;
  return 0.5 * (d.served1m + d.unmet1m) + (0.3 * (d.served10m + d.unmet10m)) / 10 + (0.2 * (d.served60m + d.unmet60m)) / 60;
}
