import { fail, type Failure } from '../errors';
import type { KeyScope } from '../tenancy/eligibility';
import { MINUTE_MS, quotaPeriod, type QuotaPeriod } from '../tenancy/limiter';
import type { TenancyStore } from './tenancy-store';

/** Hex characters of a key hash in the Worker's filter: 64 bits, so a random key passes with odds of ~keys / 2^64. */
export const KEY_FILTER_CHARS = 16;

export interface KeyLimitsView {
  rpm: number | null;
  tpm: number | null;
  quota_tokens: number | null;
  quota_period: QuotaPeriod | null;
  max_inflight: number | null;
}

/**
 * What the Hub's ledger says a key used in the minute before `at`, per
 * wall-clock second (`[s, n]`: n in the second ending at s × 1000 ms), so the
 * Worker can line its own counts up with them.
 */
export interface KeyUsageView {
  /** Requests started per second. */
  starts: Array<[second: number, count: number]>;
  /** Tokens of requests that ended per second. */
  tokens: Array<[second: number, tokens: number]>;
  periodTokens: number;
  /** When the quota period ends (ms), or null without a quota. */
  periodEnd: number | null;
  inflight: number;
}

export type KeyInfo =
  | { ok: true; id: string; models: string[] | null; scope: KeyScope; limits: KeyLimitsView; usage: KeyUsageView | null; at: number }
  | (Failure & { at: number });

/**
 * What the Worker's key cache holds for a managed key: whether it is live,
 * what it may use, its limits, and — only for keys with limits — what the
 * ledger says it used, so the Worker can apply the limits without asking
 * again for every request.
 */
export function keyInfo(t: TenancyStore, keyHash: string, now: number): KeyInfo {
  const key = t.keyByHash(keyHash);
  if (!key || key.revoked_at !== null) return { ...fail('invalid_api_key', key ? 'This API key was revoked.' : 'Incorrect API key provided.'), at: now };
  const limits: KeyLimitsView = {
    rpm: key.rpm,
    tpm: key.tpm,
    quota_tokens: key.quota_tokens,
    quota_period: key.quota_period,
    max_inflight: key.max_inflight ?? null,
  };
  const limited = limits.rpm !== null || limits.tpm !== null || limits.quota_tokens !== null || limits.max_inflight !== null;
  let usage: KeyUsageView | null = null;
  if (limited) {
    const starts = new Map<number, number>();
    const tokens = new Map<number, number>();
    for (const r of t.recentUsage(key.id, now - MINUTE_MS)) {
      if (r.started_at > now - MINUTE_MS) starts.set(second(r.started_at), (starts.get(second(r.started_at)) ?? 0) + 1);
      if (r.ended_at !== null && r.ended_at > now - MINUTE_MS && r.tokens > 0) {
        tokens.set(second(r.ended_at), (tokens.get(second(r.ended_at)) ?? 0) + r.tokens);
      }
    }
    const period = key.quota_period ? quotaPeriod(key.quota_period, now) : null;
    usage = {
      starts: [...starts],
      tokens: [...tokens],
      periodTokens: key.quota_tokens && period ? t.tokensSince(key.id, period.start) : 0,
      periodEnd: period?.end ?? null,
      inflight: limits.max_inflight !== null ? t.openUsage(key.id) : 0,
    };
  }
  return {
    ok: true,
    id: key.id,
    models: key.models,
    scope: { regions: key.regions, owner: key.owner, min_trust: key.min_trust },
    limits,
    usage,
    at: now,
  };
}

/** The filter of live key hashes (prefixes), sorted, for the Worker to refuse keys that cannot exist without asking. */
export function keyFilter(t: TenancyStore, now: number): { prefixes: string[]; at: number } {
  return {
    prefixes: t
      .liveKeyHashes()
      .map((h) => h.slice(0, KEY_FILTER_CHARS))
      .sort(),
    at: now,
  };
}

/** The wall-clock second a time falls in, named by its end: (s - 1) × 1000 < t ≤ s × 1000. */
export function second(t: number): number {
  return Math.ceil(t / 1000);
}
