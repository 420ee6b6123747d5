import { Hono } from 'hono';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { hubStub } from '../link/stubs';
import { clientKey } from '../security/client-ip';
import { refuseIfBlocked, throwFailure } from '../security/guard';

type App = { Bindings: Env };

/** Unauthenticated, read-only endpoints, budgeted per client address (429 with Retry-After past it). */
export const publicRoutes = new Hono<App>();

publicRoutes.get('/models/warming', async (c) => {
  const model = c.req.query('model');
  if (!model) throw new ApiError('invalid_request', "Query parameter 'model' is required.", { param: 'model' });
  const source = clientKey(c.req.raw);
  refuseIfBlocked('warming', source);
  const r = await hubStub(c.env).publicWarming(model.slice(0, 256), source);
  if (!r.ok) throwFailure('warming', source, r);
  if (!r.view) throw new ApiError('model_not_found', `The model '${model.slice(0, 128)}' does not exist.`, { param: 'model' });
  c.header('cache-control', 'no-store');
  return c.json(r.view);
});
