export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 10_000 };

/**
 * Delay before retry number `attempt` (0 = first retry): exponential, capped, with "equal jitter"
 * (half fixed, half random). Half fixed so a retry never fires back to back with the failure;
 * half random so segments that failed together (origin restart) do not retry in lockstep.
 * Pure: `random` is injected and must return a value in [0, 1).
 */
export function backoffMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** n overflows to Infinity long after the cap applies; min() keeps it finite.
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(n, 30));
  const half = ceiling / 2;
  return Math.round(half + half * random());
}
