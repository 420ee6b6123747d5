import { describe, expect, it } from 'vitest';
import { coalesced } from '../../src/util/coalesce';

describe('coalesced jobs', () => {
  it('never overlaps runs and gives calls made during a run exactly one more run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const job = coalesced(async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    const first = job();
    const joined = [job(), job(), job()];
    release();
    await Promise.all([first, ...joined]);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    await job();
    expect(runs).toBe(3);
  });
});
