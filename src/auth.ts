import type { MiddlewareHandler } from 'hono';
import type { Env } from './env';
import { ApiError, toApiError } from './errors';
import { hubStub } from './link/stubs';
import { safeEqual } from './security/constant-time';
import { secretState } from './security/secrets';
import { API_KEY_PREFIX, hashSecret } from './tenancy/keys';

/** Who a /v1 request is: `keyHash` for a managed key; unset for the bootstrap PORTEN_API_KEY (unrestricted). */
export type AuthVariables = {
  keyHash?: string;
  /** The key's model allow-list, known on non-POST calls (listings); unset or null: every model. */
  allowedModels?: string[] | null;
};

/**
 * Authenticates /v1 callers. The bootstrap key is compared in constant time,
 * and only used when it is long enough (src/security/secrets.ts; a weak one
 * authenticates nobody, and whoever presents it is told why); a managed key
 * is hashed here and checked by the Hub: inside `Hub.acquire` for inference
 * (no extra round trip on the hot path), or with one `checkKey` call for
 * everything else. Keys without the `sk-porten-` prefix are refused without
 * asking the Hub.
 */
export const apiKeyAuth: MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> = async (c, next) => {
  const token = bearer(c.req.raw);
  if (!token) throw new ApiError('invalid_api_key', "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
  const boot = secretState('PORTEN_API_KEY', c.env.PORTEN_API_KEY);
  if (boot.kind === 'ok' && safeEqual(token, boot.value)) return next();
  if (boot.kind === 'weak' && safeEqual(token, c.env.PORTEN_API_KEY ?? '')) throw new ApiError('server_misconfigured', boot.message);
  if (!token.startsWith(API_KEY_PREFIX)) throw new ApiError('invalid_api_key', 'Incorrect API key provided.');
  const keyHash = await hashSecret(token);
  if (c.req.method !== 'POST') {
    const r = await hubStub(c.env).checkKey(keyHash);
    if (!r.ok) throw toApiError(r);
    c.set('allowedModels', r.models);
  }
  c.set('keyHash', keyHash);
  return next();
};

export { safeEqual };

export function bearer(req: Request): string | null {
  const h = req.headers.get('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1].trim() : null;
}

/** Throws 401 unless the request carries `expected` as its bearer token. */
export function requireBearer(req: Request, expected: string | undefined, what: string): void {
  const got = bearer(req);
  if (!got) throw new ApiError('invalid_api_key', `You didn't provide ${what}. Send it as 'Authorization: Bearer <key>'.`);
  if (!expected || !safeEqual(got, expected)) throw new ApiError('invalid_api_key', `Incorrect ${what} provided.`);
}
