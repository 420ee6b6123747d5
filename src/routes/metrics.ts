import { Hono } from 'hono';
import { requireBearer } from '../auth';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { hubStub } from '../link/stubs';
import { CONTENT_TYPE } from '../metrics/registry';

type App = { Bindings: Env };

/**
 * Prometheus scrape endpoint (`GET /metrics`, also `GET /admin/v1/metrics`):
 * the admin token is required, as for the rest of the operator API.
 */
export const metricsRoutes = new Hono<App>();

metricsRoutes.get('/', async (c) => {
  if (!c.env.PORTEN_ADMIN_TOKEN) {
    throw new ApiError('admin_disabled', 'Admin API is disabled: set the PORTEN_ADMIN_TOKEN secret (wrangler secret put PORTEN_ADMIN_TOKEN).');
  }
  requireBearer(c.req.raw, c.env.PORTEN_ADMIN_TOKEN, 'an admin token');
  const text = await hubStub(c.env).metricsText();
  return new Response(text, { headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' } });
});
