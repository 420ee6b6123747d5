import { second, type KeyInfo } from '../hub/key-info';
import { concurrencyVerdict, windowVerdict, type LimitVerdict } from '../tenancy/limiter';

type LiveKey = Extract<KeyInfo, { ok: true }>;

export type CachedVerdict = LimitVerdict;

/** What this isolate itself admitted for a key: start times within the last minute, and requests still running. */
export interface LocalUsage {
  starts: number[];
  inflight: number;
}

/**
 * Whether one more request of a managed key may start, from the Hub's view of
 * its usage (as of `info.at`, which lags by up to one batch interval plus the
 * cache age) and this isolate's own count. Per second the larger of the two
 * request counts is taken, so requests this isolate admitted count at once and
 * none counts twice; what other isolates admitted counts once the Hub has it.
 * Tokens, quota and the Hub's in-flight count come from the Hub alone (tokens
 * are known only when a request ends, at its node). Pure.
 */
export function checkCachedLimits(info: LiveKey, local: LocalUsage, now: number): CachedVerdict {
  const { limits, usage } = info;
  const windows = windowVerdict(limits, now, {
    starts: () => mergedStarts(usage?.starts ?? [], local.starts),
    tokens: usage ? () => usage.tokens.map(([s, amount]) => ({ at: s * 1000, amount })) : null,
    // The Hub's period total counts only within the period it was taken in.
    quota: usage?.periodEnd && now < usage.periodEnd ? () => ({ used: usage.periodTokens, end: usage.periodEnd! }) : null,
  });
  if (!windows.ok) return windows;
  return concurrencyVerdict(limits.max_inflight, Math.max(usage?.inflight ?? 0, local.inflight));
}

/**
 * Request starts as window events: this isolate's own at their exact times,
 * plus, per second, whatever the Hub counted beyond them (other isolates'
 * requests, or this one's from before it started), at that second's start so
 * they never outlive the window.
 */
function mergedStarts(hub: Array<[number, number]>, local: number[]): Array<{ at: number; amount: number }> {
  const mine = new Map<number, number>();
  for (const t of local) mine.set(second(t), (mine.get(second(t)) ?? 0) + 1);
  const events = local.map((t) => ({ at: t, amount: 1 }));
  for (const [s, n] of hub) {
    const extra = n - (mine.get(s) ?? 0);
    if (extra > 0) events.push({ at: (s - 1) * 1000 + 1, amount: extra });
  }
  return events;
}
