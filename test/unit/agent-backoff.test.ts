import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../nodes/agent/backoff';

const policy = { baseMs: 100, maxMs: 5_000, jitter: 0.5 };

describe('backoffDelay', () => {
  it.each([
    // [name, attempt, random, expected]
    ['first retry without jitter draw', 0, 0, 100],
    ['doubles each attempt', 3, 0, 800],
    ['caps at maxMs', 10, 0, 5_000],
    ['stays capped for huge attempts', 10_000, 0, 5_000],
    ['jitter only shortens the delay', 3, 1, 400],
    ['jitter applies to the capped delay', 20, 0.5, 3_750],
    ['negative attempts behave like the first', -4, 0, 100],
    ['fractional attempts are floored', 2.9, 0, 400],
  ])('%s', (_name, attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  it('clamps a jitter outside 0..1', () => {
    expect(backoffDelay(0, { ...policy, jitter: 2 }, () => 1)).toBe(0);
    expect(backoffDelay(0, { ...policy, jitter: -1 }, () => 1)).toBe(100);
  });

  it('has a default policy within a sane range', () => {
    for (let a = 0; a < 40; a++) {
      const d = backoffDelay(a, DEFAULT_BACKOFF, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
    }
  });
});
