import { Hono } from 'hono';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { readJson } from '../api/body';
import { CatalogEntrySchema, CatalogPatchSchema } from '../hub/catalog';
import { hubStub } from '../link/stubs';
import { adminTenancyRoutes } from './admin-tenancy';
import { issueLiveTicket } from '../live-ticket';
import { requireAdmin } from '../security/admin-auth';

type App = { Bindings: Env };

/**
 * Operator API. Refused outright when no admin token is configured (there are
 * no default credentials) or when it is too short; wrong tokens are budgeted
 * per address (src/security/admin-auth.ts). Every response is `no-store`.
 */
export const adminRoutes = new Hono<App>();

adminRoutes.use('*', async (c, next) => {
  await requireAdmin(c.env, c.req.raw);
  await next();
});

adminRoutes.route('/', adminTenancyRoutes);

adminRoutes.get('/nodes', async (c) => c.json({ object: 'list', data: await hubStub(c.env).listNodes() }));

adminRoutes.get('/models', async (c) => c.json({ object: 'list', data: await hubStub(c.env).adminModels() }));

/** Adds or replaces a catalog entry. */
adminRoutes.post('/models', async (c) => {
  const entry = await readJson(c.req.raw, CatalogEntrySchema);
  await hubStub(c.env).putModel(entry);
  return c.json(entry, 201);
});

/** Enables or disables a catalog entry; a disabled model vanishes from /v1/models at once. */
adminRoutes.patch('/models/:id{.+}', async (c) => {
  const patch = await readJson(c.req.raw, CatalogPatchSchema);
  const found = await hubStub(c.env).setModelEnabled(c.req.param('id'), patch.enabled);
  if (!found) throw new ApiError('model_not_found', `The model '${c.req.param('id')}' is not in the catalog.`, { param: 'id' });
  return c.json({ id: c.req.param('id'), enabled: patch.enabled });
});

/** The planner's explanation log, newest first. */
adminRoutes.get('/planner/decisions', async (c) => {
  const limit = Number(c.req.query('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new ApiError('invalid_request', "'limit' must be an integer from 1 to 500.", { param: 'limit' });
  return c.json({ object: 'list', data: await hubStub(c.env).decisions(limit) });
});

/** Per-model, per-minute demand (served and unmet requests) for the dashboard's chart; at most the 60 minutes the ledger keeps. */
adminRoutes.get('/demand', async (c) => {
  const minutes = Number(c.req.query('minutes') ?? 60);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)
    throw new ApiError('invalid_request', "'minutes' must be an integer from 1 to 60.", { param: 'minutes' });
  const rows = await hubStub(c.env).demand(minutes);
  return c.json({ object: 'list', minutes, data: rows.map((r) => ({ ...r, at: r.minute * 60_000 })) });
});

/** A short-lived ticket for the live WebSocket (`GET /admin/v1/live?ticket=…`, see src/routes/live.ts). */
adminRoutes.post('/live-ticket', async (c) => c.json(await issueLiveTicket(c.env.PORTEN_ADMIN_TOKEN!), 201));
