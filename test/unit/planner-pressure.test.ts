import { describe, expect, it } from 'vitest';
import {
  buildContext,
  busySpellMs,
  caughtByColdStart,
  foldHistory,
  minuteOf,
  plan,
  plannerConfig,
  type Action,
  type DemandRow,
  type PlannerConfig,
  type PlannerState,
} from '../../src/planner';
import { GB, history, MBPS, MIN, model, node, periodic, rep, state, T0 } from './helpers/planner-fixtures';

/**
 * The price of memory follows how much of the fleet is held (context.ts memoryPrice), a
 * cold start's catch is read from a burst's busy minutes, and scale-out does not start a
 * sibling that would serve only after the burst is over.
 */
const cfg = plannerConfig();
const run = (s: PlannerState, c: PlannerConfig = cfg) => plan(s, T0, c);
const brief = (a: Action) => `${a.type} ${a.model}@${a.node} (${a.rule})`;
const priceOf = (s: PlannerState, c: PlannerConfig = cfg) => buildContext(s, T0, c);

describe('the price of memory follows the share of the fleet held', () => {
  const m = model('m', 8);
  const held = (heldGb: number, budgetGb: number, extra: ReturnType<typeof node>[] = []) =>
    state([node('a', budgetGb, { replicas: [rep('m', { vramMb: heldGb * GB })] }), ...extra], [m]);

  it.each([
    // held GB of 100: price as a share of keepValue
    { heldGb: 100, share: 1 },
    { heldGb: 90, share: 1 },
    { heldGb: 80, share: 1 },
    { heldGb: 40, share: 1 / 16 },
    { heldGb: 20, share: 1 / 256 },
    { heldGb: 0, share: 0 },
  ])('$heldGb GB of 100 held: $share × keepValue', ({ heldGb, share }) => {
    const ctx = priceOf(held(heldGb, 100));
    expect(ctx.heldShare).toBeCloseTo(heldGb / 100, 9);
    expect(ctx.price).toBeCloseTo(cfg.keepValue * share, 9);
  });

  it('counts online nodes only; contendedShare 0 is the fixed price', () => {
    const offline = node('b', 300, { online: false });
    expect(priceOf(held(80, 100, [offline])).price).toBeCloseTo(cfg.keepValue, 9);
    expect(priceOf(held(20, 100), plannerConfig({ contendedShare: 0 })).price).toBe(cfg.keepValue);
    expect(priceOf(state([], [m])).price).toBe(cfg.keepValue);
  });
});

describe('idle eviction: free memory is cheap to keep, contended memory is not', () => {
  // 20 GB, busy one minute every hour for six hours, idle 20 minutes now: its next request
  // is likely within the hour, but holding 20 GB for ~40 minutes costs more than the one
  // cold request it would spare at the contended price.
  const m = model('m', 20);
  const fleet = (spareGb: number) =>
    run({
      ...state(
        [node('a', 24, { inventory: ['m'], replicas: [rep('m', { vramMb: 20 * GB, lastUsedAt: T0 - 20 * MIN })] }), ...(spareGb ? [node('b', spareGb)] : [])],
        [m],
      ),
      arrivals: { m: history('m', periodic(60, 6, 20), 1) },
    });

  it('a contended fleet lets it go, and the log names the price and the share held', () => {
    const r = fleet(0);
    expect(r.actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
    expect(r.decisions[0].reason).toMatch(/worth less than 0\.20 cold requests per GB·h \(fleet 83% held\)/);
  });

  it('the same model on a fleet that is mostly free is kept until its next hour', () => {
    const r = fleet(200);
    expect(r.actions).toEqual([]);
  });
});

describe('a cold start’s catch, from a burst’s busy minutes', () => {
  const base = minuteOf(T0);
  // A half-hourly job that fires late in a minute: 2 requests in its first minute, 20 in each of the next two.
  const rows: DemandRow[] = [];
  for (const start of [-95, -65, -35, -5]) {
    rows.push({ model: 'j', minute: base + start, served: 2, unmet: 0 });
    rows.push({ model: 'j', minute: base + start + 1, served: 20, unmet: 0 });
    rows.push({ model: 'j', minute: base + start + 2, served: 20, unmet: 0 });
  }
  const h = foldHistory(undefined, rows, T0, 4 * 60 * MIN);

  it('is at least the busy-minute rate when the first minute is only partly covered', () => {
    expect(h.startRequests / h.starts).toBeCloseTo(2, 6);
    expect(caughtByColdStart(h, 0.5)).toBeCloseTo(1 + (42 / 3 - 1) * 0.5, 6);
  });

  it('a busy spell lasts its busy minutes per burst; none seen: no limit', () => {
    // 12 busy minutes, 3 bursts after a gap (the first had none before it): errs long, 4 minutes.
    expect(busySpellMs(h)).toBeCloseTo(4 * MIN, 6);
    expect(busySpellMs(history('s', [-3, -2, -1]))).toBe(Number.POSITIVE_INFINITY);
    expect(busySpellMs(undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('scale-out on saturation: not a sibling that would arrive after the burst', () => {
  const m8 = model('m', 8, { weightsBytes: 7 * GB * MBPS });
  // Saturated for a minute; the only free node downloads at 10 MB/s (~12 minutes for 7 GB).
  const saturated = (busy: number[]) =>
    run({
      ...state(
        [
          node('a', 24, { downloadBps: 500 * MBPS, replicas: [rep('m', { inflight: 4, queued: 1, saturatedSince: T0 - MIN })] }),
          node('b', 24, { downloadBps: 10 * MBPS }),
        ],
        [m8],
        { m: 20 },
      ),
      arrivals: { m: history('m', busy, 20) },
    });

  it('bursts of two busy minutes (three by the estimate, which errs long): blocked, and the log says why', () => {
    const r = saturated([-62, -61, -32, -31, -2, -1]);
    expect(r.actions).toEqual([]);
    expect(r.decisions.find((d) => d.rule === 'scale_out_blocked')?.reason).toMatch(/after its busy spells usually end \(~3m\)/);
  });

  it('busy spells longer than the download: scales out onto the slow node', () => {
    const r = saturated(Array.from({ length: 40 }, (_, i) => -40 + i));
    expect(r.actions.map(brief)).toEqual(['load m@b (scale_out)']);
  });
});
