import { describe, expect, it } from 'vitest';
import { plannerConfig } from '../../src/planner';
import { defaultSimOptions, Sim } from '../../sim/engine';
import { lruPolicy } from '../../sim/policies/lru';
import { plannerPolicy } from '../../sim/policies/planner';
import { runSim } from '../../sim/simulate';
import { parseTrace, syntheticFleet, syntheticModels, synthesize } from '../../sim/workload';

describe('simulator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = runSim({ hours: 0.5, seed: 7, rate: 0.3 });
    const b = runSim({ hours: 0.5, seed: 7, rate: 0.3 });
    const c = runSim({ hours: 0.5, seed: 8, rate: 0.3 });
    expect(b.table).toBe(a.table);
    expect(b.ratioVsLru).toBe(a.ratioVsLru);
    expect(c.table).not.toBe(a.table);
  });

  it('accounting is consistent for every policy', () => {
    const { rows } = runSim({ hours: 1, seed: 3, rate: 0.3 });
    expect(rows).toHaveLength(8);
    for (const r of rows) {
      expect(r.requests).toBeGreaterThan(0);
      expect(r.usedGBh).toBeGreaterThanOrEqual(r.busyGBh);
      expect(r.busyGBh).toBeGreaterThan(0);
      expect(r.thrash).toBeLessThanOrEqual(r.loads);
      expect(r.invalid).toBe(0); // no policy asked for an impossible action
      expect(r.p50).toBeLessThanOrEqual(r.p95);
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
    }
  });

  it('replays a CSV trace: weights are downloaded once, the second request is warm', () => {
    const trace = 'timestamp,model,tokens\n100,a,50\n100.5,a,50\n700,b,10\n';
    const w = parseTrace(trace, syntheticModels());
    expect(w.requests.map((r) => [r.at, r.model])).toEqual([[0, 'a'], [500, 'a'], [600_000, 'b']]);
    const m = new Sim(syntheticFleet(), w, defaultSimOptions).run(plannerPolicy(plannerConfig()), 700_000);
    expect(m.downloads).toBe(2);
    expect(m.cold).toBe(3); // the second 'a' arrives while the first download is still running
  });
});
