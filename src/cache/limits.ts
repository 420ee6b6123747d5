import { second, type KeyInfo } from '../hub/key-info';
import { concurrencyVerdict, MINUTE_MS, slidingWindow, type LimitVerdict } from '../tenancy/limiter';

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
  if (limits.rpm !== null) {
    const v = slidingWindow(mergedStarts(usage?.starts ?? [], local.starts), now, MINUTE_MS, limits.rpm);
    if (!v.ok)
      return { ok: false, limit: 'rpm', retryAfterMs: v.retryAfterMs, message: `Rate limit reached: ${limits.rpm} requests per minute for this API key.` };
  }
  if (limits.tpm !== null && usage) {
    const events = usage.tokens.map(([s, amount]) => ({ at: s * 1000, amount }));
    const v = slidingWindow(events, now, MINUTE_MS, limits.tpm);
    if (!v.ok)
      return {
        ok: false,
        limit: 'tpm',
        retryAfterMs: v.retryAfterMs,
        message: `Rate limit reached: ${limits.tpm} tokens per minute for this API key (${v.used} used).`,
      };
  }
  if (limits.quota_tokens !== null && usage?.periodEnd && now < usage.periodEnd && usage.periodTokens >= limits.quota_tokens) {
    return {
      ok: false,
      limit: 'quota',
      retryAfterMs: usage.periodEnd - now,
      message: `Token quota exhausted: ${limits.quota_tokens} tokens per ${limits.quota_period} for this API key.`,
    };
  }
  const inflight = concurrencyVerdict(limits.max_inflight, Math.max(usage?.inflight ?? 0, local.inflight));
  if (!inflight.ok) return inflight;
  return { ok: true };
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
