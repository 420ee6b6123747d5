import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { plannerConfig } from '../../src/planner';
import { defaultSimOptions, Sim } from '../../sim/engine';
import { lruPolicy } from '../../sim/policies/lru';
import { plannerPolicy } from '../../sim/policies/planner';
import { SAMPLES } from '../../sim/samples/make-samples';
import { KEEP_ALIVES_MIN, runSim, runWorkload } from '../../sim/simulate';
import { parseTrace, syntheticFleet, syntheticModels, synthesize } from '../../sim/workload';

describe('simulator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = runSim({ hours: 0.5, seeds: [7], rate: 0.3, baselines: false });
    const b = runSim({ hours: 0.5, seeds: [7], rate: 0.3, baselines: false });
    const c = runSim({ hours: 0.5, seeds: [8], rate: 0.3, baselines: false });
    expect(b).toEqual(a);
    expect(c.workloads[0].planner).not.toEqual(a.workloads[0].planner);
  });

  it('accounting is consistent for every policy', () => {
    const { workloads } = runSim({ hours: 1, seeds: [3], rate: 0.3 });
    expect(workloads).toHaveLength(2);
    for (const w of workloads) {
      const rows = [w.planner, ...w.sweep, ...w.others];
      expect(rows).toHaveLength(1 + KEEP_ALIVES_MIN.length + 2);
      for (const r of rows) {
        expect(r.requests).toBeGreaterThan(0);
        expect(r.usedGBh).toBeGreaterThanOrEqual(r.busyGBh);
        expect(r.busyGBh).toBeGreaterThan(0);
        expect(r.thrash).toBeLessThanOrEqual(r.loads);
        expect(r.invalid).toBe(0); // no policy asked for an impossible action
        expect(r.p50).toBeLessThanOrEqual(r.p95);
      }
    }
  });

  it('every request is either warm or cold, and every cold one is served or timed out', () => {
    for (const policy of [plannerPolicy(plannerConfig()), lruPolicy()]) {
      const w = synthesize(syntheticModels(), { seed: 5, hours: 1, ratePerSec: 0.3, arrivals: 'bursty' });
      const m = new Sim(syntheticFleet('tight'), w, defaultSimOptions).run(policy, 3_600_000);
      expect(m.requests).toBe(w.requests.length);
      expect(m.warm + m.cold).toBe(m.requests);
      expect(m.coldWaits).toHaveLength(m.cold);
      expect(m.memMbMs).toBeGreaterThanOrEqual(m.busyMbMs);
      expect(m.coldFirstTouch).toBeLessThanOrEqual(m.cold);
    }
  });

  it('replays a CSV trace: weights are downloaded once, the second request is warm', () => {
    const trace = 'timestamp,model,tokens\n100,a,50\n100.5,a,50\n700,b,10\n';
    const w = parseTrace(trace, syntheticModels());
    expect(w.requests.map((r) => [r.at, r.model])).toEqual([
      [0, 'a'],
      [500, 'a'],
      [600_000, 'b'],
    ]);
    const m = new Sim(syntheticFleet(), w, defaultSimOptions).run(plannerPolicy(plannerConfig()), 700_000);
    expect(m.downloads).toBe(2);
    expect(m.cold).toBe(3); // the second 'a' arrives while the first download is still running
  });
});

describe('the LRU keep-alive sweep (the baseline frontier)', () => {
  // 6 simulated hours, two workloads, two seeds: long enough that keep-alive, not warm-up, decides.
  const reports = [1, 2].flatMap((seed) =>
    (['poisson', 'bursty'] as const).map((arrivals) =>
      runWorkload(synthesize(syntheticModels(), { seed, hours: 6, ratePerSec: 0.3, arrivals }), 6 * 3_600_000, seed, { baselines: false }),
    ),
  );

  it('more keep-alive holds more memory, until memory runs out', () => {
    for (const r of reports) {
      const mem = r.sweep.map((x) => x.usedGBh);
      // Once the fleet is full, longer settings hold the same memory (± placement noise).
      for (let i = 1; i < mem.length; i++) expect(mem[i], `${r.workload} seed ${r.seed}: ${KEEP_ALIVES_MIN[i]} min`).toBeGreaterThanOrEqual(mem[i - 1] * 0.99);
      expect(mem.at(-1)).toBeGreaterThan(mem[0] * 1.5);
    }
  });

  it('and every step that buys memory buys fewer cold starts', () => {
    for (const r of reports) {
      const mem = r.sweep.map((x) => x.usedGBh);
      const cold = r.sweep.map((x) => x.coldRate);
      let steps = 0;
      for (let i = 1; i < cold.length; i++) {
        // Past saturation (memory within 3 %) the settings behave alike and placement noise decides.
        if (mem[i] < mem[i - 1] * 1.03) continue;
        steps++;
        expect(cold[i], `${r.workload} seed ${r.seed}: ${KEEP_ALIVES_MIN[i]} vs ${KEEP_ALIVES_MIN[i - 1]} min`).toBeLessThan(cold[i - 1]);
      }
      expect(steps).toBeGreaterThanOrEqual(3);
      expect(cold.at(-1)).toBeLessThan(cold[0] / 2.5);
    }
  });

  it('the frontier is convex, decreasing, and read at the planner memory between its points', () => {
    for (const r of reports) {
      const h = r.hull;
      for (let i = 1; i < h.length; i++) {
        expect(h[i].memGBh).toBeGreaterThan(h[i - 1].memGBh);
        expect(h[i].coldRate).toBeLessThan(h[i - 1].coldRate);
      }
      for (let i = 2; i < h.length; i++) {
        const s1 = (h[i - 1].coldRate - h[i - 2].coldRate) / (h[i - 1].memGBh - h[i - 2].memGBh);
        const s2 = (h[i].coldRate - h[i - 1].coldRate) / (h[i].memGBh - h[i - 1].memGBh);
        expect(s2).toBeGreaterThanOrEqual(s1);
      }
      expect(r.ratio).toBeCloseTo(r.planner.coldRate / r.atPlanner.coldRate, 10);
    }
  });
});

describe('sample traces', () => {
  it('are what make-samples.ts writes (synthetic, deterministic)', () => {
    for (const [file, make] of Object.entries(SAMPLES)) {
      expect(readFileSync(new URL(`../../sim/samples/${file}`, import.meta.url), 'utf8'), file).toBe(make());
    }
  });
});
