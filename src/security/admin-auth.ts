import type { Env } from '../env';
import { ApiError } from '../errors';
import { bearer, requireBearer, safeEqual } from '../auth';
import { hubStub } from '../link/stubs';
import { clientKey } from './client-ip';
import { block, refuseIfBlocked } from './guard';
import { secretState } from './secrets';

/** The block-cache surface shared by wrong admin tokens and wrong node keys. */
export const AUTH_SURFACE = 'auth';

/**
 * Admits an admin request: the admin token must be configured, long enough
 * (else 503 `admin_disabled` saying why), and presented. Wrong tokens are
 * counted per client address in the Hub; past the budget the address gets
 * 429 for a while, even with the right token, so guessing is slow whatever
 * the token's strength.
 */
export async function requireAdmin(env: Env, req: Request): Promise<void> {
  const admin = secretState('PORTEN_ADMIN_TOKEN', env.PORTEN_ADMIN_TOKEN);
  if (admin.kind === 'unset') {
    throw new ApiError('admin_disabled', 'Admin API is disabled: set the PORTEN_ADMIN_TOKEN secret (wrangler secret put PORTEN_ADMIN_TOKEN).');
  }
  if (admin.kind === 'weak') throw new ApiError('admin_disabled', `Admin API is disabled: ${admin.message}`);
  const source = clientKey(req);
  refuseIfBlocked(AUTH_SURFACE, source);
  const got = bearer(req);
  if (got && !safeEqual(got, admin.value)) await countFailure(env, source);
  requireBearer(req, admin.value, 'an admin token');
}

/** Counts one failed credential from `source`; throws 429 once its budget is gone. */
export async function countFailure(env: Env, source: string): Promise<void> {
  const ms = await hubStub(env).authFailed(source);
  if (ms > 0) block(AUTH_SURFACE, source, ms);
}
