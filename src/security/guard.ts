import { ApiError, toApiError, type Failure } from '../errors';
import { blockedFor, rememberBlock } from './block-cache';

/**
 * The Worker's half of the unauthenticated-work budgets: a client the Hub
 * refused recently is refused here (429 with Retry-After) without another
 * Durable Object call; the Hub's own refusals are remembered on their way out.
 */
export function refuseIfBlocked(surface: string, source: string): void {
  const ms = blockedFor(surface, source);
  if (ms > 0) throw rateLimited(ms);
}

/** Throws the Hub's failure as the client's error, remembering a rate limit for `surface`. */
export function throwFailure(surface: string, source: string, f: Failure): never {
  if (f.code === 'rate_limited' && f.retryAfterS !== undefined) rememberBlock(surface, source, Date.now() + f.retryAfterS * 1000);
  throw toApiError(f);
}

/** Remembers that the Hub refuses `source` on `surface` for `ms`, and throws the 429. */
export function block(surface: string, source: string, ms: number): never {
  rememberBlock(surface, source, Date.now() + ms);
  throw rateLimited(ms);
}

function rateLimited(ms: number): ApiError {
  return new ApiError('rate_limited', `Too many requests from this address; retry in ${Math.ceil(ms / 1000)} s.`, { retryAfterS: ms / 1000 });
}
