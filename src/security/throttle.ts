/**
 * Token buckets per key (a client address, mostly), for work that anyone can
 * ask for without credentials. Pure decision plus a bounded map: an attacker
 * who cycles through more keys than `maxKeys` evicts the oldest buckets, which
 * only ever resets someone's bucket to full — it can grow nobody's allowance
 * beyond `burst` and lock nobody out.
 */
export interface RateRule {
  /** Requests allowed at once. */
  burst: number;
  /** Refill, in requests per minute. */
  perMinute: number;
}

export interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/** Takes one token at `now`: the next bucket state and the verdict. */
export function takeToken(bucket: Bucket | undefined, rule: RateRule, now: number): { bucket: Bucket; verdict: Take } {
  const perMs = rule.perMinute / 60_000;
  const prev = bucket ?? { tokens: rule.burst, at: now };
  const tokens = Math.min(rule.burst, prev.tokens + Math.max(0, now - prev.at) * perMs);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, at: now }, verdict: { ok: true } };
  return { bucket: { tokens, at: now }, verdict: { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) } };
}

export class KeyedThrottle {
  private readonly buckets = new Map<string, Bucket>();
  /** Keys refused at least once recently: enrollment prefers to evict their entries. */
  private readonly refused = new Map<string, number>();

  constructor(
    readonly rule: RateRule,
    private readonly maxKeys = 10_000,
  ) {}

  take(key: string, now: number): Take {
    const { bucket, verdict } = takeToken(this.buckets.get(key), this.rule, now);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (!verdict.ok) {
      this.refused.delete(key);
      this.refused.set(key, now);
      if (this.refused.size > this.maxKeys) this.refused.delete(this.refused.keys().next().value as string);
    }
    return verdict;
  }

  /** Whether `key` was refused within the last `withinMs`. */
  wasRefused(key: string, now: number, withinMs = 10 * 60_000): boolean {
    const at = this.refused.get(key);
    return at !== undefined && now - at < withinMs;
  }
}
