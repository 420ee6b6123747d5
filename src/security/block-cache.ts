/**
 * An isolate's memory of client keys the Hub told it to refuse, so a flood
 * from one address is answered here (429) without a Durable Object call per
 * request. Each isolate learns on its own: across many isolates an attacker
 * gets at most one extra Hub call per isolate per block, which the Hub's own
 * buckets still count. Bounded; the oldest entries go first.
 */
const MAX_KEYS = 10_000;
const blocked = new Map<string, number>();

/** Remembers that `key` is refused on `surface` until `until` (ms). */
export function rememberBlock(surface: string, key: string, until: number): void {
  const k = `${surface}\u0000${key}`;
  blocked.delete(k);
  blocked.set(k, until);
  if (blocked.size > MAX_KEYS) blocked.delete(blocked.keys().next().value as string);
}

/** Milliseconds `key` is still refused on `surface`, or 0. */
export function blockedFor(surface: string, key: string, now = Date.now()): number {
  const k = `${surface}\u0000${key}`;
  const until = blocked.get(k);
  if (until === undefined) return 0;
  if (until <= now) {
    blocked.delete(k);
    return 0;
  }
  return until - now;
}
