import { describe, expect, it } from 'vitest';
import {
  ArrivalHistorySchema,
  bestKeep,
  caughtByColdStart,
  foldHistory,
  gapCount,
  minuteOf,
  observeSpeed,
  plan,
  plannerConfig,
  provisionalSpeed,
  survival,
  type Action,
  type PlannerConfig,
  type PlannerState,
} from '../../src/planner';
import { GB, history, MBPS, MIN, model, node, periodic, rep, state, T0, waiting } from './helpers/planner-fixtures';

const cfg = plannerConfig();
const run = (s: PlannerState, c: PlannerConfig = cfg) => plan(s, T0, c);
const brief = (a: Action) => `${a.type} ${a.model}@${a.node} (${a.rule})`;
const HALF_LIFE = 4 * 60 * MIN;

describe('arrival history: gaps between busy minutes, from the demand ledger', () => {
  const base = minuteOf(T0);
  const rows = (busy: number[], n = 1) => busy.map((m) => ({ model: 'm', minute: base + m, served: n, unmet: 0 }));

  it('counts each gap in its bucket, the busy minutes, their requests and the bursts that end a gap', () => {
    const h = foldHistory(undefined, rows([-10, -9, -5, -1], 3), T0, HALF_LIFE);
    expect(h.gaps[0]).toBe(1); // -10 → -9: no empty minute
    expect(h.gaps[3]).toBe(2); // -9 → -5 and -5 → -1: three empty minutes each
    expect(gapCount(h)).toBe(2 + 1);
    expect(h).toMatchObject({ last: base - 1, through: base - 1, active: 4, requests: 12, starts: 2, startRequests: 6 });
  });

  it('folds only complete minutes, each once; a late report for a folded minute adds no gap', () => {
    const first = foldHistory(undefined, rows([-3, 0]), T0, HALF_LIFE);
    expect(first.last).toBe(base - 3); // the current minute waits until it is complete
    const later = foldHistory(first, rows([-3, -2, 0]), T0 + MIN, HALF_LIFE);
    expect(later.last).toBe(base);
    expect(gapCount(later)).toBeCloseTo(1, 3); // -3 → 0; the late -2 is skipped
  });

  it('halves its counts every half-life', () => {
    const h = foldHistory(undefined, rows([-3, -1]), T0, HALF_LIFE);
    const aged = foldHistory(h, [], T0 + HALF_LIFE, HALF_LIFE);
    expect(gapCount(aged)).toBeCloseTo(gapCount(h) / 2, 6);
    expect(aged.active).toBeCloseTo(h.active / 2, 6);
  });

  it('a cold start catches a burst’s first minute, not just one request', () => {
    const bursts = history('m', [-40, -20, -1], 20); // 20-request minutes after quiet spells
    const chats = history('m', [-40, -20, -1], 1);
    expect(caughtByColdStart(bursts, 0.5)).toBeCloseTo(1 + 19 * 0.5, 6);
    expect(caughtByColdStart(chats, 0.5)).toBe(1);
  });

  it('counts cold episodes (runs of minutes with unmet requests) and the requests they caught', () => {
    const ledger = [
      { model: 'm', minute: base - 30, served: 0, unmet: 2 }, // episode 1: two minutes of waiting
      { model: 'm', minute: base - 29, served: 0, unmet: 5 },
      { model: 'm', minute: base - 28, served: 9, unmet: 0 },
      { model: 'm', minute: base - 10, served: 0, unmet: 1 }, // episode 2: one request
      { model: 'm', minute: base - 9, served: 3, unmet: 0 },
    ];
    const h = foldHistory(undefined, ledger, T0, HALF_LIFE);
    expect(h).toMatchObject({ coldEpisodes: 2, coldRequests: 8, lastUnmet: base - 10 });
    // An episode still under way when a fold ends continues into the next fold's first minute.
    const forever = 1e15;
    const split = foldHistory(foldHistory(undefined, ledger.slice(0, 1), (base - 29) * MIN, forever), ledger, T0, forever);
    expect(split.coldEpisodes).toBeCloseTo(2, 6);
    expect(split.coldRequests).toBeCloseTo(8, 6);
  });

  it('a cold start catches what this model’s cold starts caught, the modelled figure weighing as COLD_PRIOR episodes', () => {
    const chats = history('m', [-40, -20, -1], 1);
    expect(caughtByColdStart({ ...chats, coldEpisodes: 0, coldRequests: 0 }, 0.5)).toBe(1);
    // Four episodes that caught 24 requests in all: (1 × 2 + 24) / (2 + 4).
    expect(caughtByColdStart({ ...chats, coldEpisodes: 4, coldRequests: 24 }, 0.5)).toBeCloseTo(26 / 6, 6);
    // A history stored before these fields existed reads as having none.
    const { coldEpisodes: _e, coldRequests: _r, lastUnmet: _l, ...old } = chats;
    expect(ArrivalHistorySchema.parse(old)).toMatchObject({ coldEpisodes: 0, coldRequests: 0, lastUnmet: null });
  });
});

describe('keep until: the value of an idle model against the price of its memory', () => {
  const every30 = survival(history('m', periodic(30, 10, 5)));

  it('keeps a model through its usual quiet half hour, lets it go once idle far past every gap', () => {
    const quiet = bestKeep(every30, 5, 2, 4, 0.3, 240);
    expect(quiet.net).toBeGreaterThan(0);
    expect(quiet.untilMin).toBeGreaterThanOrEqual(30);
    expect(quiet.chance).toBeGreaterThan(0.6);
    expect(bestKeep(every30, 90, 2, 4, 0.3, 240).net).toBe(0);
  });

  it('a higher price, a bigger model or a tighter bound lets it go sooner', () => {
    expect(bestKeep(every30, 5, 2, 4, 0.3, 240).net).toBeGreaterThan(bestKeep(every30, 5, 2, 40, 0.3, 240).net);
    expect(bestKeep(every30, 5, 2, 4, 5, 240).net).toBe(0);
    expect(bestKeep(every30, 5, 2, 4, 0.3, 20).untilMin).toBeLessThanOrEqual(20);
  });
});

describe('idle eviction with a window per model', () => {
  // 4 GB, on disk where it runs; busy every 30 minutes for five hours, 5 requests a minute.
  const m = model('m', 4);
  const withHistory = (idleMin: number, o: { c?: PlannerConfig; maxIdleMs?: number } = {}) =>
    run(
      {
        ...state([node('a', 24, { inventory: ['m'], maxIdleMs: o.maxIdleMs, replicas: [rep('m', { lastUsedAt: T0 - idleMin * MIN })] })], [m]),
        arrivals: { m: history('m', periodic(30, 10, idleMin), 5) },
      },
      o.c,
    );

  it("a burst's quiet gap is not the end of demand: kept", () => {
    expect(withHistory(5).actions).toEqual([]);
    // Without history the fixed demand window (10 min) would keep it too, but not at 12 min:
    expect(withHistory(12).actions).toEqual([]);
  });

  it('idle past nearly every gap it had: unloaded at the contended price, and the log says why', () => {
    // At a fixed price (contendedShare 0): this 24 GB node alone is mostly free, and free memory is cheap to keep (planner-pressure.test.ts).
    const r = withHistory(90, { c: plannerConfig({ contendedShare: 0 }) });
    expect(r.actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
    expect(r.decisions[0].reason).toMatch(/history \(\d+ gaps\).*worth less than [\d.]+ cold requests per GB·h/);
  });

  it('a model whose cold starts caught many requests is kept where one whose cold starts caught one goes', () => {
    const c = plannerConfig({ contendedShare: 0 });
    const h = history('m', periodic(30, 10, 60), 5);
    const at = (coldEpisodes: number, coldRequests: number) =>
      run(
        {
          ...state([node('a', 24, { inventory: ['m'], replicas: [rep('m', { lastUsedAt: T0 - 60 * MIN })] })], [m]),
          arrivals: { m: { ...h, coldEpisodes, coldRequests } },
        },
        c,
      );
    // Idle an hour: twice its usual gap. Its cold starts caught one request each: not worth its memory any longer.
    expect(at(6, 6).actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
    // Each of its six cold starts caught 40 (a batch job arriving while it reloaded): still kept.
    const kept = at(6, 240);
    expect(kept.actions).toEqual([]);
    expect(kept.decisions).toEqual([]);
  });

  it("the operator's bound and the node owner's rule win over the history", () => {
    const op = withHistory(25, { c: plannerConfig({ maxWindowMs: 20 * MIN }) });
    expect(op.actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
    expect(op.decisions[0].reason).toContain("operator's bound of 20m");
    const owner = withHistory(16, { maxIdleMs: 15 * MIN });
    expect(owner.actions.map(brief)).toEqual(['unload m@a (idle_evict)']);
    expect(owner.decisions[0].reason).toContain("node owner's limit of 15m");
  });

  it('a surplus replica goes (scale_in) once idle, the most recently used one stays', () => {
    const s = state(
      [node('a', 24, { replicas: [rep('m', { lastUsedAt: T0 - 3 * MIN })] }), node('b', 24, { replicas: [rep('m', { lastUsedAt: T0 - 10_000 })] })],
      [m],
      { m: 1 },
    );
    expect(run(s).actions.map(brief)).toEqual(['unload m@a (scale_in)']);
    const tied = state(
      [node('a', 24, { replicas: [rep('m', { lastUsedAt: T0 - 3 * MIN })] }), node('b', 24, { replicas: [rep('m', { lastUsedAt: T0 - 3 * MIN })] })],
      [m],
      {
        m: 1,
      },
    );
    expect(run(tied).actions).toHaveLength(1);
  });
});

describe('placement by the time a node needs to serve', () => {
  const m20 = model('m', 20, { weightsBytes: 18 * GB * MBPS });
  const place = (nodes: ReturnType<typeof node>[], mm = m20) => run(state(nodes, [mm], { m: 1 }, [waiting('m')])).actions.map(brief);

  it('a node measured fast beats the best fit measured slow', () => {
    const nodes = [node('small', 24, { downloadBps: 40 * MBPS }), node('big', 80, { downloadBps: 1000 * MBPS })];
    expect(place(nodes)).toEqual(['load m@big (place)']);
    // Unmeasured, they look alike, and the best fit wins.
    expect(place([node('small', 24), node('big', 80)])).toEqual(['load m@small (place)']);
  });

  it('nodes about as fast count as equal: the best fit is kept for big models', () => {
    const m8 = model('m', 8, { weightsBytes: 7 * GB * MBPS });
    expect(place([node('a', 80, { downloadBps: 500 * MBPS }), node('b', 24, { downloadBps: 450 * MBPS })], m8)).toEqual(['load m@b (place)']);
  });

  it('weights on a slow node’s disk beat a download on a fast one when loading is sooner', () => {
    const m40 = model('m', 40, { weightsBytes: 36 * GB * MBPS });
    const nodes = [node('disk', 48, { downloadBps: 40 * MBPS, inventory: ['m'] }), node('fast', 48, { downloadBps: 1000 * MBPS })];
    expect(place(nodes, m40)).toEqual(['load m@disk (place)']);
  });

  it('downloads already running on a node delay it', () => {
    const m8 = model('m', 8, { weightsBytes: 7 * GB * MBPS });
    const busy = node('a', 80, { downloadBps: 500 * MBPS, replicas: [rep('x', { phase: 'downloading', vramMb: 60 * GB, pendingBytes: 50 * GB * MBPS })] });
    const r = run(state([busy, node('b', 80, { downloadBps: 500 * MBPS })], [m8, model('x', 60)], { m: 1 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['load m@b (place)']);
    expect(r.decisions[0].reason).toMatch(/serving in ~\d+s \(download \d+s \+ load \d+s\)/);
  });

  it('evicts an idle model on a fast node rather than make the request outlast its budget on a slow one', () => {
    const nodes = [node('slow', 24, { downloadBps: 40 * MBPS }), node('fast', 24, { downloadBps: 1000 * MBPS, replicas: [rep('x', { vramMb: 20 * GB })] })];
    const r = run(state(nodes, [m20, model('x', 20)], { m: 1, x: 0 }, [waiting('m')]));
    expect(r.actions.map(brief)).toEqual(['unload x@fast (demand_evict)', 'load m@fast (place_after_evict)']);
    expect(r.actions[1].reason).toMatch(/instead of ~\d+s on slow/);
  });
});

describe('scale-out when a model’s queue grows', () => {
  const m8 = model('m', 8, { weightsBytes: 7 * GB * MBPS });
  const fleet = (o: { queued?: number; saturatedSince?: number; freeBps?: number } = {}) => [
    node('a', 24, { downloadBps: 500 * MBPS, replicas: [rep('m', { inflight: 4, queued: o.queued ?? 0, saturatedSince: o.saturatedSince })] }),
    node('b', 24, { downloadBps: o.freeBps ?? 500 * MBPS }),
  ];

  it('at once when a full round of requests waits behind the ready replicas', () => {
    const r = run(state(fleet({ queued: 4 }), [m8], { m: 20 }));
    expect(r.actions.map(brief)).toEqual(['load m@b (scale_out)']);
    expect(r.actions[0].reason).toContain('4 waiting for 4 slot(s)');
  });

  it('requests waiting at the Hub count as the queue too', () => {
    const r = run(state(fleet(), [m8], { m: 20 }, [waiting('m', { count: 5 })]));
    expect(r.actions.map(brief)).toEqual(['load m@b (scale_out)']);
  });

  it('not for a short queue, nor onto a node that would serve after the queue has drained', () => {
    expect(run(state(fleet({ queued: 3 }), [m8], { m: 20 })).actions).toEqual([]);
    expect(run(state(fleet({ queued: 8, freeBps: 10 * MBPS }), [m8], { m: 20 })).actions).toEqual([]);
  });

  it('sustained saturation still scales out, even onto a slow node', () => {
    expect(run(state(fleet({ queued: 1, saturatedSince: T0 - MIN, freeBps: 10 * MBPS }), [m8], { m: 20 })).actions.map(brief)).toEqual([
      'load m@b (scale_out)',
    ]);
  });
});

describe('hedging a load that turned out slow', () => {
  const m20 = model('m', 20, { weightsBytes: 18 * GB * MBPS });
  const slowLoad = (pendingGb: number) =>
    state(
      [
        node('slow', 24, { downloadBps: 40 * MBPS, replicas: [rep('m', { phase: 'downloading', pendingBytes: pendingGb * GB * MBPS })] }),
        node('fast', 24, { downloadBps: 1000 * MBPS }),
      ],
      [m20],
      { m: 1 },
      [waiting('m', { count: 3 })],
    );

  it('a second node races it when it would serve in under half the time', () => {
    const r = run(slowLoad(15));
    expect(r.actions.map(brief)).toEqual(['load m@fast (hedge)']);
    expect(r.actions[0].reason).toMatch(/3 waiting on slow, which serves in ~\d+s; here ~\d+s/);
  });

  it('not when the load is nearly done', () => {
    expect(run(slowLoad(1)).actions).toEqual([]);
  });
});

describe('prewarm: a request is due and memory is free', () => {
  const p4 = model('p', 4);
  const due = (lastAgo: number, o: { budget?: number } = {}) =>
    run({ ...state([node('a', o.budget ?? 24, { inventory: ['p'] })], [p4]), arrivals: { p: history('p', periodic(30, 10, lastAgo), 5) } });

  it('loads a half-hourly job shortly before it is due', () => {
    const r = due(28);
    expect(r.actions.map(brief)).toEqual(['load p@a (prewarm)']);
    expect(r.decisions[0].reason).toMatch(/chance of a request within \d+m/);
  });

  it('not long before it is due, and never by evicting anything', () => {
    expect(due(10).actions).toEqual([]);
    expect(due(28, { budget: 2 }).actions).toEqual([]);
  });
});

describe('eviction: which idle model makes room', () => {
  it('the one whose absence costs the fewest expected cold requests per GB, not merely the least recently used', () => {
    // x (2 GB) is due again soon by its history; y (8 GB) has no demand at all.
    const n = node('a', 16, { replicas: [rep('x', { vramMb: 2 * GB, lastUsedAt: T0 - 5 * MIN }), rep('y', { vramMb: 8 * GB, lastUsedAt: T0 - 30_000 })] });
    const r = run({
      ...state([n], [model('m', 8), model('x', 2), model('y', 8)], { m: 2 }, [waiting('m')]),
      arrivals: { x: history('x', periodic(10, 12, 5), 3) },
    });
    expect(r.actions.map(brief)).toEqual(['unload y@a (demand_evict)', 'load m@a (place_after_evict)']);
  });

  it('a reload soon after its unload is named in the log (thrash, explained)', () => {
    const r = run({
      ...state([node('a', 24, { inventory: ['m'] })], [model('m', 8)], { m: 1 }, [waiting('m')]),
      recentUnloads: [{ node: 'a', model: 'm', rule: 'idle_evict', at: T0 - 120_000 }],
    });
    expect(r.decisions[0].reason).toContain('reload 120s after its idle_evict on a');
  });
});

describe('node speeds from transfers', () => {
  it('ignores transfers too small or too short to measure, then averages the rest', () => {
    expect(observeSpeed(undefined, 'download', 1024 * 1024, 2000)).toBeUndefined();
    expect(observeSpeed(undefined, 'download', 100 * MBPS, 100)).toBeUndefined();
    const first = observeSpeed(undefined, 'download', 100 * MBPS, 1000)!;
    expect(first).toEqual({ bps: 100 * MBPS, samples: 1 });
    const second = observeSpeed(first, 'download', 300 * MBPS, 1000)!;
    expect(second.bps).toBeCloseTo(200 * MBPS, 0); // the second sample weighs 1/2
    let s = second;
    for (let i = 0; i < 20; i++) s = observeSpeed(s, 'download', 10 * MBPS, 1000)!;
    expect(s.bps).toBeLessThan(11 * MBPS); // the newest weighs ≥ 1/4: a changed link is relearned
  });

  it('clamps what no link does', () => {
    expect(observeSpeed(undefined, 'load', 10_000 * GB * MBPS, 200)!.bps).toBe(64 * 1024 * MBPS);
  });

  it('a first download in progress gives a node a provisional figure, replaced by the finished one', () => {
    const p = provisionalSpeed(undefined, 50 * MBPS, 1000)!;
    expect(p).toEqual({ bps: 50 * MBPS, samples: 0 });
    expect(provisionalSpeed(p, 500 * MBPS, 1000)).toBe(p);
    expect(observeSpeed(p, 'download', 80 * MBPS, 1000)).toEqual({ bps: 80 * MBPS, samples: 1 });
  });
});
