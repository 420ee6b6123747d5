import { fail, type Failure } from '../errors';
import { LOCAL_SOURCE } from './client-ip';
import { KeyedThrottle, type RateRule } from './throttle';

/**
 * Per-client budgets for the Hub's unauthenticated work, in Hub memory (a
 * Durable Object evicted after idling forgets them, which only resets
 * budgets to full). Keys are client keys from src/security/client-ip.ts.
 */
export const THROTTLE_RULES = {
  /** `porten login` starts: five at once, then one a minute. */
  enrollStart: { burst: 5, perMinute: 1 },
  /** Token polls: five agents polling every 5 s behind one address fit. */
  enrollPoll: { burst: 30, perMinute: 60 },
  /** The public warming view: a playground polls twice a second per model. */
  warming: { burst: 60, perMinute: 240 },
  /** Wrong admin tokens and node keys: ten, then one every 12 s; past that the address is refused for a while. */
  authFailure: { burst: 10, perMinute: 5 },
} as const satisfies Record<string, RateRule>;

export type ThrottleSurface = keyof typeof THROTTLE_RULES;

export class HubThrottles {
  /** The clock budgets refill by; tests of whole request paths freeze it, so a burst measures the budget exactly. */
  clock: () => number = Date.now;

  private readonly throttles = Object.fromEntries(Object.entries(THROTTLE_RULES).map(([k, rule]) => [k, new KeyedThrottle(rule)])) as Record<
    ThrottleSurface,
    KeyedThrottle
  >;

  /** Null when `source` may go on; else a `rate_limited` failure with Retry-After. The local source has no budget. */
  check(surface: ThrottleSurface, source: string, now = this.clock()): Failure | null {
    if (source === LOCAL_SOURCE) return null;
    const v = this.throttles[surface].take(source, now);
    if (v.ok) return null;
    return fail('rate_limited', `Too many requests from this address; retry in ${Math.ceil(v.retryAfterMs / 1000)} s.`, {
      retryAfterS: v.retryAfterMs / 1000,
    });
  }

  /**
   * Counts one unit against `source` and returns how long it is now refused, in ms (0 while it has budget). A
   * refusal lasts at least one whole refill interval, so a guesser who spent the budget waits for a full new guess
   * rather than the sliver of a token that has accrued.
   */
  penalty(surface: ThrottleSurface, source: string, now = this.clock()): number {
    const refused = this.check(surface, source, now);
    if (!refused) return 0;
    return Math.max(Math.ceil((refused.retryAfterS ?? 0) * 1000), Math.ceil(60_000 / THROTTLE_RULES[surface].perMinute));
  }

  /** Whether `source` hit any enrollment limit recently (its pending codes are evicted first when the set is full). */
  limited(source: string, now = this.clock()): boolean {
    return this.throttles.enrollStart.wasRefused(source, now) || this.throttles.enrollPoll.wasRefused(source, now);
  }
}
