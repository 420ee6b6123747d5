import { Hono } from 'hono';
import type { Env } from '../env';
import { requireBearer } from '../auth';
import { ApiError } from '../errors';
import { hubStub } from '../link/stubs';

type App = { Bindings: Env };

/** Operator API. Refused outright when no admin token is configured: there are no default credentials. */
export const adminRoutes = new Hono<App>();

adminRoutes.use('*', async (c, next) => {
  if (!c.env.PORTEN_ADMIN_TOKEN) {
    throw new ApiError('admin_disabled', 'Admin API is disabled: set the PORTEN_ADMIN_TOKEN secret (wrangler secret put PORTEN_ADMIN_TOKEN).');
  }
  requireBearer(c.req.raw, c.env.PORTEN_ADMIN_TOKEN, 'an admin token');
  await next();
});

adminRoutes.get('/nodes', async (c) => c.json({ object: 'list', data: await hubStub(c.env).listNodes() }));
