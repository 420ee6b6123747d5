import type { MiddlewareHandler } from 'hono';
import { editHeaders } from './headers';

/**
 * CORS for `/v1` only (never `/admin`), configured by `PORTEN_CORS_ORIGINS`:
 * unset or empty allows no cross-origin caller (the default: the playground
 * is same-origin); `*` allows any origin; otherwise a comma-separated list of
 * exact origins (`https://app.example.com`). Credentials are never allowed:
 * API keys are bearer tokens the page sends itself, never cookies, so an
 * allowed origin gets nothing it could not get with the key from anywhere.
 */
export interface CorsPolicy {
  any: boolean;
  origins: ReadonlySet<string>;
}

export function corsPolicy(value: string | undefined): CorsPolicy {
  const parts = (value ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  return { any: parts.includes('*'), origins: new Set(parts.filter((p) => p !== '*').map((p) => p.toLowerCase())) };
}

/** The policy for the isolate's current setting: parsed again only when the setting differs from the last one. */
let last: { value: string | undefined; policy: CorsPolicy } | undefined;
function policyOf(value: string | undefined): CorsPolicy {
  if (last === undefined || last.value !== value) last = { value, policy: corsPolicy(value) };
  return last.policy;
}

/** The `Access-Control-Allow-Origin` value for `origin`, or null when it is not allowed. */
export function allowedOrigin(policy: CorsPolicy, origin: string | null): string | null {
  if (!origin) return null;
  if (policy.any) return '*';
  return policy.origins.has(origin.toLowerCase()) ? origin : null;
}

/** Request headers a preflight may ask for: header names only (a token list), at most 32. */
export function allowedRequestHeaders(requested: string | null): string {
  const names = (requested ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(h))
    .slice(0, 32);
  return [...new Set(['authorization', 'content-type', ...names])].join(', ');
}

export const CORS_METHODS = 'GET, POST, OPTIONS';
const MAX_AGE_S = '600';

/** Answers `/v1` preflights and adds CORS headers to every `/v1` answer for an allowed origin. */
export const cors: MiddlewareHandler<{ Bindings: { PORTEN_CORS_ORIGINS?: string } }> = async (c, next) => {
  const policy = policyOf(c.env.PORTEN_CORS_ORIGINS);
  const allow = allowedOrigin(policy, c.req.header('origin') ?? null);
  if (c.req.method === 'OPTIONS') {
    const headers = new Headers({ allow: CORS_METHODS });
    if (allow && c.req.header('access-control-request-method')) {
      headers.set('access-control-allow-origin', allow);
      headers.set('access-control-allow-methods', CORS_METHODS);
      headers.set('access-control-allow-headers', allowedRequestHeaders(c.req.header('access-control-request-headers') ?? null));
      headers.set('access-control-max-age', MAX_AGE_S);
    }
    if (!policy.any) headers.set('vary', 'Origin');
    return new Response(null, { status: 204, headers });
  }
  await next();
  // A list of origins makes the answer depend on Origin: caches must know, allowed or not.
  const vary = !policy.any && policy.origins.size > 0;
  if (!allow && !vary) return;
  editHeaders(c, (h) => {
    if (vary) h.append('vary', 'Origin');
    if (!allow) return;
    h.set('access-control-allow-origin', allow);
    // Without credentials `*` exposes every response header (Retry-After, Server-Timing, porten's own).
    h.set('access-control-expose-headers', '*');
  });
};
