import { Hono } from 'hono';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { hubStub } from '../link/stubs';

type App = { Bindings: Env };

/** Unauthenticated, read-only endpoints. */
export const publicRoutes = new Hono<App>();

publicRoutes.get('/models/warming', async (c) => {
  const model = c.req.query('model');
  if (!model) throw new ApiError('invalid_request', "Query parameter 'model' is required.", { param: 'model' });
  const view = await hubStub(c.env).warming(model);
  if (!view) throw new ApiError('model_not_found', `The model '${model}' does not exist.`, { param: 'model' });
  c.header('cache-control', 'no-store');
  return c.json(view);
});
