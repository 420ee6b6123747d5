/**
 * Rate limits and quotas as pure functions of the usage ledger and an injected
 * `now`, so windows are tested with tables instead of sleeps.
 */

export interface WindowEvent {
  /** When the event counts (ms). */
  at: number;
  amount: number;
}

export type WindowVerdict = { ok: true; used: number } | { ok: false; used: number; retryAfterMs: number };

/**
 * Sliding-window check: `used` is the sum of `amount` over events in
 * (now - windowMs, now]. Refused when `used >= limit` (no room for even one
 * more unit); `retryAfterMs` is when enough of the oldest events age out for
 * `used` to drop below `limit` again.
 */
export function slidingWindow(events: readonly WindowEvent[], now: number, windowMs: number, limit: number): WindowVerdict {
  const live = events.filter((e) => e.at > now - windowMs && e.at <= now).sort((a, b) => a.at - b.at);
  const used = live.reduce((s, e) => s + e.amount, 0);
  if (used < limit) return { ok: true, used };
  let remaining = used;
  for (const e of live) {
    remaining -= e.amount;
    if (remaining < limit) return { ok: false, used, retryAfterMs: Math.max(1, e.at + windowMs - now) };
  }
  return { ok: false, used, retryAfterMs: windowMs };
}

export type QuotaPeriod = 'day' | 'month';

/** The UTC calendar period containing `now`: [start, end) in ms. */
export function quotaPeriod(period: QuotaPeriod, now: number): { start: number; end: number } {
  const d = new Date(now);
  if (period === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { start, end: start + 86_400_000 };
  }
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  quota_tokens: number | null;
  quota_period: QuotaPeriod | null;
}

/** One ledger row as the limiter needs it; `ended_at` null while in flight. */
export interface LedgerEntry {
  started_at: number;
  ended_at: number | null;
  tokens: number;
}

export type LimitVerdict = { ok: true } | { ok: false; limit: 'rpm' | 'tpm' | 'quota' | 'concurrency'; retryAfterMs: number; message: string };

/**
 * Whether one more request may start for a key with `max` requests in flight at most (null: no limit), given
 * `inflight` now. The one rule the Worker (its isolate's count and the Hub's) and the Hub (its open ledger rows) apply.
 */
export function concurrencyVerdict(max: number | null, inflight: number): LimitVerdict {
  if (max === null || inflight < max) return { ok: true };
  return { ok: false, limit: 'concurrency', retryAfterMs: 1000, message: `Concurrency limit reached: ${max} requests in flight for this API key.` };
}

export const MINUTE_MS = 60_000;

/**
 * Whether one more request from a key may start now. `recent` holds the key's
 * ledger rows from the last minute; `periodTokens` the tokens it used in the
 * current quota period. Requests count when they start; tokens when they end
 * (only then are they known), so a key can overshoot its token limit by the
 * requests already in flight, never by more.
 */
export function checkLimits(limits: KeyLimits, recent: readonly LedgerEntry[], periodTokens: number, now: number): LimitVerdict {
  return windowVerdict(limits, now, {
    starts: () => recent.map((r) => ({ at: r.started_at, amount: 1 })),
    tokens: () => recent.filter((r) => r.ended_at !== null).map((r) => ({ at: r.ended_at!, amount: r.tokens })),
    quota: limits.quota_period === null ? null : () => ({ used: periodTokens, end: quotaPeriod(limits.quota_period!, now).end }),
  });
}

/**
 * The rpm, tpm and quota rules over what the caller knows of a key's usage — the Hub's
 * ledger (checkLimits) or the Worker's cached view (src/cache/limits.ts) — and the one
 * place their verdicts and messages are made. Each input is read only when its limit is
 * set; null: not known, that rule passes.
 */
export function windowVerdict(
  limits: KeyLimits,
  now: number,
  usage: {
    starts: () => WindowEvent[];
    tokens: (() => WindowEvent[]) | null;
    quota: (() => { used: number; end: number }) | null;
  },
): LimitVerdict {
  if (limits.rpm !== null) {
    const v = slidingWindow(usage.starts(), now, MINUTE_MS, limits.rpm);
    if (!v.ok)
      return { ok: false, limit: 'rpm', retryAfterMs: v.retryAfterMs, message: `Rate limit reached: ${limits.rpm} requests per minute for this API key.` };
  }
  if (limits.tpm !== null && usage.tokens) {
    const v = slidingWindow(usage.tokens(), now, MINUTE_MS, limits.tpm);
    if (!v.ok)
      return {
        ok: false,
        limit: 'tpm',
        retryAfterMs: v.retryAfterMs,
        message: `Rate limit reached: ${limits.tpm} tokens per minute for this API key (${v.used} used).`,
      };
  }
  if (limits.quota_tokens !== null && usage.quota) {
    const q = usage.quota();
    if (q.used >= limits.quota_tokens)
      return {
        ok: false,
        limit: 'quota',
        retryAfterMs: q.end - now,
        message: `Token quota exhausted: ${limits.quota_tokens} tokens per ${limits.quota_period} for this API key.`,
      };
  }
  return { ok: true };
}
