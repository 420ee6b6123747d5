export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised, 0..1. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000, jitter: 0.5 };

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, then
 * jittered *downwards* so a fleet that lost the edge at once does not return in
 * lockstep, and the cap is never exceeded. `random` is injected for tests.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2**n overflows to Infinity long after it passes any sane cap; Math.min handles it.
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n, 62));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(raw * (1 - jitter * random()));
}
